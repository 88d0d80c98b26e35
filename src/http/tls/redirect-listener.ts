import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseListen } from '../../config/load.ts';

export interface RedirectListener {
  /** http://host:port it answers on. */
  url: string;
  close(): Promise<void>;
}

/** A Host header's name part: a DNS name, an IPv4 address, or a bracketed IPv6 address. */
const hostName = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d+)?$/;

/**
 * A plain-HTTP listener that sends every request to the same path on HTTPS with 308, which
 * keeps the method and body. The name comes from the request's Host header, the port is HTTPS's.
 */
export async function startRedirectListener(
  listen: string,
  httpsPort: number,
  fallbackHost: string,
): Promise<RedirectListener> {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  const server: Server = createServer((request, response) => {
    const match = hostName.exec(request.headers.host ?? '');
    const name = match ? match[1]! : fallbackHost.includes(':') ? `[${fallbackHost}]` : fallbackHost;
    const path = request.url?.startsWith('/') ? request.url : '/';
    response.writeHead(308, { location: `https://${name}${port}${path}`, 'content-length': 0 });
    response.end();
  });
  const { host, port: listenPort } = parseListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
