/**
 * The port a user opens: the status page at `/`, its configuration at `/local/config.json`, and
 * every other path passed through to the local REST API (same paths as the deployed stage), so
 * that the page and the API share one origin.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { closeServer, listenLocally } from './listen';
import { LocalLog, LocalService } from './types';

export interface FrontOptions {
  readonly port: number;
  readonly restUrl: string;
  readonly statusPageFile: string;
  /** What the page needs to know (relative API paths are resolved against the page). */
  readonly pageConfig: () => Record<string, string>;
  /** Local-mode controls for tests and tools, under /local/. */
  readonly controls: { state(): Record<string, unknown>; idle(): Promise<void>; replayStream(): Promise<number> };
  readonly log: LocalLog;
}

export async function startFront(options: FrontOptions): Promise<LocalService> {
  const rest = new URL(options.restUrl);
  const server = http.createServer((req, res) => {
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
    const upstream = http.request(
      { hostname: rest.hostname, port: rest.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      options.log('front proxy error', { error: err.message });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'local REST API unavailable' }));
    });
    req.pipe(upstream);
  });
  return { url: await listenLocally(server, options.port), close: () => closeServer(server) };
}
