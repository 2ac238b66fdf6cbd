/**
 * The port a user opens: the status page at `/`, its configuration at `/local/config.json`, and
 * every other path served by the local REST API (same paths as the deployed stage), so that the
 * page and the API share one origin. The API's handler serves those requests on this port itself:
 * a proxy in between would turn what the API refuses early (a body over its limit) into a broken
 * connection instead of the API's answer.
 */
import { createReadStream, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { closeServer, listenLocally } from './listen';
import { LocalService } from './types';

export interface FrontOptions {
  readonly port: number;
  /** Serves a request of the REST API, given this server's `request` and `checkContinue` events. */
  readonly restApi: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  readonly statusPageFile: string;
  /** What the page needs to know (relative API paths are resolved against the page). */
  readonly pageConfig: () => Record<string, unknown>;
  /** Local-mode controls for the page, tests and tools, under /local/. */
  readonly controls: {
    state(): Record<string, unknown>;
    idle(): Promise<void>;
    replayStream(): Promise<number>;
    /** The file a job's output goes to, for a job local Batch knows; undefined for any other id. */
    jobLogFile(jobId: string): string | undefined;
    /** The run requests received last, newest first. */
    recentRunRequests(limit: number): Promise<Record<string, unknown>[]>;
  };
}

/** How many requests `/local/recent.json` lists without a `limit`, and at most. */
export const RECENT_LIMITS = { default: 20, max: 100 } as const;

/** `/local/jobs/<jobId>/log`, the id percent-encoded: one segment, since an id has no `/`. */
const JOB_LOG_PATH = /^\/local\/jobs\/([^/]+)\/log$/;

export async function startFront(options: FrontOptions): Promise<LocalService> {
  // Its own paths read no body, so they answer an `Expect: 100-continue` request without asking for it.
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(readFileSync(options.statusPageFile));
      return;
    }
    if (req.url?.startsWith('/local/')) {
      serveControl(req, res, options);
      return;
    }
    options.restApi(req, res);
  };
  const server = http.createServer(serve);
  server.on('checkContinue', serve);
  return { url: await listenLocally(server, options.port), close: () => closeServer(server) };
}

function serveControl(req: http.IncomingMessage, res: http.ServerResponse, options: FrontOptions): void {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const fail = (err: Error) => reply(500, { message: err.message });
  // The path as sent: a URL parser would resolve `..` segments into another path silently.
  const [pathname] = (req.url ?? '').split('?');
  const get = req.method === 'GET';
  const jobLog = JOB_LOG_PATH.exec(pathname);
  if (get && pathname === '/local/config.json') reply(200, options.pageConfig());
  else if (get && pathname === '/local/state.json') reply(200, options.controls.state());
  else if (get && pathname === '/local/recent.json') serveRecent(new URL(req.url ?? '', 'http://local').searchParams, options, reply, fail);
  else if (get && jobLog) serveJobLog(jobLog[1], options, res, reply, fail);
  else if (req.method === 'POST' && pathname === '/local/idle') options.controls.idle().then(() => reply(200, options.controls.state()), fail);
  else if (req.method === 'POST' && pathname === '/local/replay-stream') options.controls.replayStream().then((replayed) => reply(200, { replayed }), fail);
  else reply(404, { message: `no local control ${req.method} ${req.url}` });
}

type Reply = (status: number, body: unknown) => void;

function serveRecent(query: URLSearchParams, options: FrontOptions, reply: Reply, fail: (err: Error) => void): void {
  const limit = Number(query.get('limit') ?? RECENT_LIMITS.default);
  if (!Number.isInteger(limit) || limit < 1 || limit > RECENT_LIMITS.max) {
    reply(400, { message: `limit must be a whole number from 1 to ${RECENT_LIMITS.max} (got ${query.get('limit')})` });
    return;
  }
  options.controls.recentRunRequests(limit).then((runRequests) => reply(200, { runRequests }), fail);
}

/**
 * A job's output as text. The file is the one local Batch keeps for a job it knows: the id only
 * looks a job up and never becomes part of a path, so no id reaches another file.
 */
function serveJobLog(encodedJobId: string, options: FrontOptions, res: http.ServerResponse, reply: Reply, fail: (err: Error) => void): void {
  let jobId: string | undefined;
  try {
    jobId = decodeURIComponent(encodedJobId);
  } catch {
    // Not percent-encoding: no job has such an id.
  }
  const file = jobId === undefined ? undefined : options.controls.jobLogFile(jobId);
  if (file === undefined) {
    reply(404, { message: `local Batch has no job ${JSON.stringify(jobId ?? encodedJobId)}` });
    return;
  }
  // Text, never rendered: a job's output is whatever its command printed.
  const headers = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
  const output = createReadStream(file);
  output.once('open', () => {
    res.writeHead(200, headers);
    output.pipe(res);
  });
  output.once('error', (err: NodeJS.ErrnoException) => {
    if (res.headersSent) res.destroy();
    // A job that has not started has printed nothing yet.
    else if (err.code === 'ENOENT') res.writeHead(200, headers).end();
    else fail(err);
  });
}
