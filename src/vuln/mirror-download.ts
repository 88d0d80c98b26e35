import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rootCertificates } from 'node:tls';

/** What the mirror said last time, sent back so an unchanged file is not downloaded again. */
export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

export type DownloadOutcome =
  | { kind: 'not-modified' }
  | {
      kind: 'downloaded';
      /** A temp file ending in `.zip` or `.json`, as the importer expects; the caller deletes it. */
      path: string;
      bytes: number;
      validators: Validators;
    };

export interface DownloadOptions {
  /** Directory for the temp file. */
  dir: string;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
  userAgent: string;
}

const maxRedirects = 5;

export class DownloadError extends Error {
  override name = 'DownloadError';
}

/**
 * A URL as logs, errors and the status show it: without user information, and without a query
 * (a signed URL's signature is a credential).
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    const query = url.search !== '';
    url.username = '';
    url.password = '';
    url.search = '';
    return `${url.toString()}${query ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/** Checks a mirror URL before any download: an absolute http or https URL. */
export function checkMirrorUrl(text: string): void {
  parseUrl(text);
}

/**
 * Downloads an OSV zip or JSON file with a conditional GET (`If-None-Match`, `If-Modified-Since`),
 * streamed to a temp file no larger than `maxBytes`, and checks it is a zip or JSON before the
 * importer sees it. Redirects are followed, but never from HTTPS to plain HTTP.
 */
export async function downloadMirrorFile(
  url: string,
  validators: Validators,
  options: DownloadOptions,
): Promise<DownloadOutcome> {
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
  const shown = redactUrl(url);
  let current = parseUrl(url);
  for (let redirects = 0; ; redirects++) {
    const response = await get(current, validators, options, signal);
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304 && response.headers.location) {
      response.resume();
      if (redirects >= maxRedirects) throw new DownloadError(`${shown}: more than ${maxRedirects} redirects`);
      const next = parseUrl(new URL(response.headers.location, current).toString());
      if (current.protocol === 'https:' && next.protocol !== 'https:')
        throw new DownloadError(`${shown}: refused a redirect from HTTPS to ${next.protocol}`);
      current = next;
      continue;
    }
    if (status === 304) {
      response.resume();
      return { kind: 'not-modified' };
    }
    if (status !== 200) {
      response.resume();
      throw new DownloadError(`${shown}: HTTP ${status}`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes)
      throw tooLarge(shown, options.maxBytes, response);
    return save(shown, response, options, signal);
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DownloadError(`${redactUrl(text)}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DownloadError(`${redactUrl(text)}: only http and https URLs are fetched`);
  return url;
}

function get(
  url: URL,
  validators: Validators,
  options: DownloadOptions,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = { 'user-agent': options.userAgent, accept: '*/*' };
  if (validators.etag) headers['if-none-match'] = validators.etag;
  if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
  return new Promise((resolve, reject) => {
    const request =
      url.protocol === 'https:'
        ? https.get(
            url,
            { headers, signal, ...(options.ca ? { ca: withSystemCas(options.ca) } : {}) },
            resolve,
          )
        : http.get(url, { headers, signal }, resolve);
    request.on('error', (error) => reject(signal.aborted ? abortReason(url.toString(), signal) : error));
  });
}

/** Node replaces its default CAs when `ca` is given: keep them, and add the configured ones. */
function withSystemCas(extra: string): string[] {
  return [...rootCertificates, extra];
}

function abortReason(url: string, signal: AbortSignal): Error {
  const reason = signal.reason as Error | undefined;
  if (reason?.name === 'TimeoutError') return new DownloadError(`${redactUrl(url)}: timed out`);
  return reason ?? new Error('aborted');
}

function tooLarge(url: string, maxBytes: number, response: http.IncomingMessage): DownloadError {
  response.destroy();
  return new DownloadError(`${url}: larger than the ${maxBytes} bytes allowed (vulndb.mirror.maxBytes)`);
}

/** `shown`: the URL as messages may show it. */
async function save(
  shown: string,
  response: http.IncomingMessage,
  options: DownloadOptions,
  signal: AbortSignal,
): Promise<DownloadOutcome> {
  await mkdir(options.dir, { recursive: true });
  const part = join(options.dir, `vulndb-${randomUUID()}.part`);
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) done(tooLarge(shown, options.maxBytes, response));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(response, limit, createWriteStream(part, { mode: 0o600 }), { signal });
    const kind = await sniff(part);
    if (!kind) throw new DownloadError(`${shown}: the download is neither a zip archive nor a JSON file`);
    const path = `${part.slice(0, -'.part'.length)}.${kind}`;
    await rename(part, path);
    const header = (name: string) => {
      const value = response.headers[name];
      return typeof value === 'string' && value !== '' ? value : null;
    };
    return {
      kind: 'downloaded',
      path,
      bytes,
      validators: { etag: header('etag'), lastModified: header('last-modified') },
    };
  } catch (error) {
    await rm(part, { force: true });
    if (signal.aborted && !(error instanceof DownloadError)) throw abortReason(shown, signal);
    throw error;
  }
}

/** `zip` for a local file header's magic, `json` for text starting with `{` or `[`. */
async function sniff(path: string): Promise<'zip' | 'json' | undefined> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
    const text = head
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    return text.startsWith('{') || text.startsWith('[') ? 'json' : undefined;
  } finally {
    await handle.close();
  }
}
