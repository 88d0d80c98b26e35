import { copyFile, mkdir } from 'node:fs/promises';
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';

/** How a test client talks to an HTTPS Berth: HTTP/2 (ALPN h2) or HTTP/1.1 over TLS. */
export type TlsProtocol = 'h2' | 'http1.1';

/**
 * The protocol the integration tests use when `TEST_TLS` is set (`h2` or `http1.1`): then
 * startTestBerth serves HTTPS with a self-signed CA, and `send()` speaks that protocol to it,
 * so the same tests run over TLS.
 */
export function testTlsProtocol(): TlsProtocol | undefined {
  const chosen = process.env.TEST_TLS;
  if (chosen === undefined || chosen === '' || chosen === '0') return undefined;
  if (chosen === 'h2' || chosen === 'http1.1') return chosen;
  throw new Error(`TEST_TLS must be h2 or http1.1, got ${chosen}`);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string | AsyncIterable<Buffer>;
}

interface TrustedOrigin {
  ca: Buffer;
  protocol: TlsProtocol;
  agent?: Agent;
  session?: ClientHttp2Session;
}

const trusted = new Map<string, TrustedOrigin>();

/** Lets `send()` reach an HTTPS origin whose certificate `ca` signed, over `protocol`. */
export function trustOrigin(origin: string, ca: Buffer, protocol: TlsProtocol = 'h2'): void {
  trusted.set(new URL(origin).origin, { ca, protocol });
}

/** Closes the connections to an origin and forgets it. */
export function forgetOrigin(origin: string): void {
  const entry = trusted.get(new URL(origin).origin);
  entry?.session?.close();
  entry?.agent?.destroy();
  trusted.delete(new URL(origin).origin);
}

export function isTrustedOrigin(url: URL): boolean {
  return trusted.has(url.origin);
}

/** A request to a trusted HTTPS origin, over the protocol it was trusted with. */
export function sendSecure(url: URL, request: RawRequest): Promise<RawResponse> {
  const entry = trusted.get(url.origin);
  if (!entry) throw new Error(`${url.origin} is not a trusted test origin`);
  return entry.protocol === 'h2' ? sendHttp2(url, entry, request) : sendHttps(url, entry, request);
}

/** A directory holding `ca.crt`, as podman's and skopeo's --cert-dir want it. */
export async function certDir(dir: string, caFile: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(caFile, join(dir, 'ca.crt'));
  return dir;
}

function sendHttps(url: URL, entry: TrustedOrigin, request: RawRequest): Promise<RawResponse> {
  entry.agent ??= new Agent({ keepAlive: true, maxSockets: 64, ca: entry.ca });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: request.method, headers: request.headers, agent: entry.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    writeBody(req, request.body).catch((error: unknown) => req.destroy(error as Error));
  });
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); the Host header becomes :authority. */
const connectionHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function session(url: URL, entry: TrustedOrigin): ClientHttp2Session {
  if (entry.session && !entry.session.closed && !entry.session.destroyed) return entry.session;
  const opened = connect(url.origin, { ca: entry.ca });
  opened.on('error', () => {});
  opened.on('close', () => {
    if (entry.session === opened) entry.session = undefined;
  });
  entry.session = opened;
  return opened;
}

function sendHttp2(url: URL, entry: TrustedOrigin, request: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = {
    [constants.HTTP2_HEADER_METHOD]: request.method,
    [constants.HTTP2_HEADER_PATH]: `${url.pathname}${url.search}`,
  };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (!connectionHeaders.has(name.toLowerCase())) headers[name.toLowerCase()] = String(value);
  }
  return new Promise((resolve, reject) => {
    const stream = session(url, entry).request(headers, { endStream: request.body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: RawResponse['headers'] = {};
    stream.on('response', (received) => {
      status = Number(received[constants.HTTP2_HEADER_STATUS]);
      responseHeaders = Object.fromEntries(
        Object.entries(received).filter(([name]) => !name.startsWith(':')),
      );
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) }));
    if (request.body !== undefined)
      writeBody(stream, request.body).catch((error: unknown) => stream.destroy(error as Error));
  });
}

interface BodySink {
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

async function writeBody(sink: BodySink, body: RawRequest['body']): Promise<void> {
  if (body === undefined) {
    sink.end();
    return;
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    sink.end(body);
    return;
  }
  for await (const chunk of body) {
    if (!sink.write(chunk)) await new Promise<void>((done) => sink.once('drain', done));
  }
  sink.end();
}
