/**
 * The port a user opens: the status page at `/`, its configuration at `/local/config.json`, and
 * every other path served by the local REST API (same paths as the deployed stage), so that the
 * page and the API share one origin. The API's handler serves those requests on this port itself:
 * a proxy in between would turn what the API refuses early (a body over its limit) into a broken
 * connection instead of the API's answer.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { closeServer, listenLocally } from './listen';
import { LocalService } from './types';

export interface FrontOptions {
  readonly port: number;
  /** Serves a request of the REST API, given this server's `request` and `checkContinue` events. */
  readonly restApi: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  readonly statusPageFile: string;
  /** What the page needs to know (relative API paths are resolved against the page). */
  readonly pageConfig: () => Record<string, string>;
  /** Local-mode controls for tests and tools, under /local/. */
  readonly controls: { state(): Record<string, unknown>; idle(): Promise<void>; replayStream(): Promise<number> };
}

export async function startFront(options: FrontOptions): Promise<LocalService> {
  // Its own paths read no body, so they answer an `Expect: 100-continue` request without asking for it.
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(readFileSync(options.statusPageFile));
      return;
    }
    if (req.method === 'GET' && req.url === '/local/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(options.pageConfig()));
      return;
    }
    if (req.url?.startsWith('/local/')) {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const fail = (err: Error) => reply(500, { message: err.message });
      if (req.method === 'GET' && req.url === '/local/state.json') reply(200, options.controls.state());
      else if (req.method === 'POST' && req.url === '/local/idle') options.controls.idle().then(() => reply(200, options.controls.state()), fail);
      else if (req.method === 'POST' && req.url === '/local/replay-stream') options.controls.replayStream().then((replayed) => reply(200, { replayed }), fail);
      else reply(404, { message: `no local control ${req.method} ${req.url}` });
      return;
    }
    options.restApi(req, res);
  };
  const server = http.createServer(serve);
  server.on('checkContinue', serve);
  return { url: await listenLocally(server, options.port), close: () => closeServer(server) };
}
