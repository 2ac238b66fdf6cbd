/** How every local server starts and stops: on 127.0.0.1 only, since local mode serves this machine alone. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 at `port` (0: a free one); resolves with `http://127.0.0.1:<port>`, rejects when the port is taken. */
export async function listenLocally(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo | string | null;
  if (address === null || typeof address === 'string') throw new Error(`the server listens on an unexpected address: ${String(address)}`);
  return `http://127.0.0.1:${address.port}`;
}

/**
 * Stops the server; a server already stopped is done. `'all'` cuts every connection at once (an
 * idle keep-alive socket would hold `close()` up); `'idle'` lets the requests in progress finish first.
 */
export function closeServer(server: Server, connections: 'all' | 'idle' = 'all'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve()));
    if (connections === 'all') server.closeAllConnections();
    else server.closeIdleConnections();
  });
}
