import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BodyTooLargeError, readAll } from '../lib/streams.ts';
import { tryParseDigest } from '../oci/digest.ts';
import { manifestKinds } from '../oci/media-types.ts';

const manifestAccept = [...manifestKinds.keys()].join(', ');
const maxManifestBytes = 4 * 1024 * 1024;

export class RegistryPullError extends Error {}

/** `Bearer realm="…",service="…",scope="…"` → its parameters; undefined for another scheme. */
export function parseBearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[match[1]!.toLowerCase()] = match[2]?.replace(/\\(.)/g, '$1') ?? match[3] ?? '';
  }
  return params.realm ? params : undefined;
}

/** Passes bytes through while hashing them; fails the stream at its end if the digest differs. */
class DigestCheck extends Transform {
  private readonly hash;
  constructor(
    private readonly expected: string,
    algorithm: string,
  ) {
    super();
    this.hash = createHash(algorithm);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    const actual = `${this.expected.slice(0, this.expected.indexOf(':'))}:${this.hash.digest('hex')}`;
    done(
      actual === this.expected ? null : new RegistryPullError(`blob ${this.expected} arrived as ${actual}`),
    );
  }
}

/**
 * Pulls one repository's manifests and blobs from a remote registry (OCI distribution API),
 * for the scanner-adapter API: sends the Authorization the scan request gave, and where the
 * registry answers with a Bearer challenge, exchanges it for a token at the challenge's realm.
 * Every manifest and blob is checked against its digest as it arrives.
 */
export class RemoteRegistry {
  private token: string | undefined;
  private readonly base: string;

  constructor(
    url: string,
    private readonly repository: string,
    private readonly authorization: string | undefined,
    private readonly signal?: AbortSignal,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  async manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }> {
    const parsed = requireDigest(digest);
    const response = await this.get(`manifests/${digest}`, manifestAccept);
    if (!response.body) throw new RegistryPullError(`manifest ${digest} came without a body`);
    const bytes = await readAll(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      maxManifestBytes,
    ).catch((error: unknown) => {
      throw error instanceof BodyTooLargeError
        ? new RegistryPullError(`manifest ${digest} is larger than ${maxManifestBytes} bytes`)
        : error;
    });
    if (createHash(parsed.algorithm).update(bytes).digest('hex') !== parsed.hex)
      throw new RegistryPullError(`manifest ${digest} does not match its digest`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, mediaType };
  }

  async blob(digest: string): Promise<Readable> {
    const parsed = requireDigest(digest);
    const response = await this.get(`blobs/${digest}`, '*/*');
    if (!response.body) throw new RegistryPullError(`blob ${digest} came without a body`);
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    const check = new DigestCheck(digest, parsed.algorithm);
    body.on('error', (error) => check.destroy(error));
    return body.pipe(check);
  }

  private async get(path: string, accept: string): Promise<Response> {
    const url = `${this.base}/v2/${this.repository}/${path}`;
    let response = await this.send(url, accept);
    if (response.status === 401) {
      const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
      await response.body?.cancel();
      if (!challenge) throw new RegistryPullError(`${url}: the registry refused the credential (401)`);
      this.token = await this.fetchToken(challenge);
      response = await this.send(url, accept);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryPullError(`${url}: the registry answered ${response.status}`);
    }
    return response;
  }

  private send(url: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    const authorization = this.token ? `Bearer ${this.token}` : this.authorization;
    if (authorization) headers.authorization = authorization;
    return fetch(url, { headers, redirect: 'follow', signal: this.signal });
  }

  private async fetchToken(challenge: Record<string, string>): Promise<string> {
    const realm = new URL(challenge.realm!);
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', challenge.scope ?? `repository:${this.repository}:pull`);
    const headers: Record<string, string> = {};
    // Only a login (Basic) is exchanged; a token that was refused is not sent anywhere else.
    if (this.authorization && /^basic\s/i.test(this.authorization))
      headers.authorization = this.authorization;
    const response = await fetch(realm, { headers, signal: this.signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw new RegistryPullError(`the token service ${realm.origin} answered ${response.status}`);
    }
    const body = (await response.json()) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RegistryPullError(`the token service ${realm.origin} gave no token`);
    return token;
  }
}

function requireDigest(digest: string) {
  const parsed = tryParseDigest(digest);
  if (!parsed) throw new RegistryPullError(`${JSON.stringify(digest.slice(0, 80))} is not a digest`);
  return parsed;
}
