import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { readAll } from '../lib/streams.ts';
import { digestOf, tryParseDigest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';
import { manifestKinds, mediaTypes } from '../oci/media-types.ts';
import { parseBearerChallenge } from '../scanner-adapter/registry-client.ts';

const manifestAccept = [...manifestKinds.keys()].join(', ');
const maxManifestBytes = 4 * 1024 * 1024;

export type Credentials = { username: string; password: string } | { token: string };

export class OciClientError extends Error {}

/**
 * The few OCI distribution calls `berth sign` and `berth verify` make against one repository:
 * manifests by tag or digest, small blobs, monolithic blob uploads, manifest puts and referrers.
 * Logs in with Basic, or exchanges it for a token where the registry answers with a Bearer challenge.
 */
export class OciClient {
  private readonly base: string;
  private bearer: string | undefined;

  constructor(
    url: string,
    readonly repository: string,
    private readonly credentials?: Credentials,
  ) {
    this.base = url.replace(/\/+$/, '');
    if (credentials && 'token' in credentials) this.bearer = credentials.token;
  }

  /** The host (and port) clients name the registry by, as in a docker reference. */
  get host(): string {
    return new URL(this.base).host;
  }

  /** A manifest by tag or digest, checked against its digest; undefined when unknown. */
  async manifest(
    reference: string,
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string } | undefined> {
    const response = await this.send('GET', `manifests/${reference}`, { accept: manifestAccept });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expect(response, 200, `manifest ${reference}`);
    const bytes = await this.readBody(response, maxManifestBytes);
    const digest = digestOf(bytes);
    if (tryParseDigest(reference) && reference !== digest)
      throw new OciClientError(`manifest ${reference} arrived as ${digest}`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** A blob, checked against its digest; undefined when unknown or larger than `maxBytes`. */
  async blob(digest: string, maxBytes: number): Promise<Buffer | undefined> {
    const response = await this.send('GET', `blobs/${digest}`, { accept: '*/*' });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expect(response, 200, `blob ${digest}`);
    const bytes = await this.readBody(response, maxBytes).catch(() => undefined);
    if (bytes && digestOf(bytes) !== digest)
      throw new OciClientError(`blob ${digest} does not match its digest`);
    return bytes;
  }

  /** Uploads `bytes` in one POST + PUT, unless the repository already has them. */
  async pushBlob(bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    const head = await this.send('HEAD', `blobs/${digest}`, {});
    if (head.status === 200) return digest;
    const start = await this.send('POST', 'blobs/uploads/', {});
    await this.expect(start, 202, 'blob upload');
    const location = start.headers.get('location');
    if (!location) throw new OciClientError('the registry started an upload without a Location');
    const url = new URL(location, `${this.base}/`);
    url.searchParams.set('digest', digest);
    const done = await this.send(
      'PUT',
      url.toString(),
      { 'content-type': 'application/octet-stream' },
      bytes,
    );
    await this.expect(done, 201, `blob ${digest}`);
    return digest;
  }

  /** Puts a manifest by tag or digest; returns its digest. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.send('PUT', `manifests/${reference}`, { 'content-type': mediaType }, bytes);
    await this.expect(response, 201, `manifest ${reference}`);
    return digestOf(bytes);
  }

  /** The referrers of `digest`, filtered by artifact type (by the registry, and again here). */
  async referrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const response = await this.send('GET', `referrers/${digest}${query}`, { accept: mediaTypes.ociIndex });
    if (response.status === 404) {
      await response.body?.cancel();
      return [];
    }
    await this.expect(response, 200, `referrers of ${digest}`);
    const index = JSON.parse((await this.readBody(response, maxManifestBytes)).toString('utf8')) as {
      manifests?: Descriptor[];
    };
    return (index.manifests ?? []).filter((entry) => !artifactType || entry.artifactType === artifactType);
  }

  private async readBody(response: Response, maxBytes: number): Promise<Buffer> {
    if (!response.body) return Buffer.alloc(0);
    return readAll(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), maxBytes);
  }

  private async expect(response: Response, status: number, what: string): Promise<void> {
    if (response.status === status) return;
    const text = (await response.text().catch(() => '')).slice(0, 500);
    throw new OciClientError(`${what}: the registry answered ${response.status} ${text}`.trim());
  }

  private async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.base}/v2/${this.repository}/${path}`;
    const attempt = () =>
      fetch(url, {
        method,
        headers: { ...headers, ...this.authorization() },
        body: body ? new Uint8Array(body) : undefined,
        redirect: 'follow',
      });
    let response = await attempt();
    if (response.status === 401 && !this.bearer) {
      const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
      await response.body?.cancel();
      if (!challenge)
        throw new OciClientError(`${method} ${url}: the registry refused the credentials (401)`);
      this.bearer = await this.fetchToken(challenge);
      response = await attempt();
    }
    return response;
  }

  private authorization(): Record<string, string> {
    if (this.bearer) return { authorization: `Bearer ${this.bearer}` };
    if (this.credentials && 'username' in this.credentials) {
      const basic = Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString(
        'base64',
      );
      return { authorization: `Basic ${basic}` };
    }
    return {};
  }

  private async fetchToken(challenge: Record<string, string>): Promise<string> {
    const realm = new URL(challenge.realm!);
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', `repository:${this.repository}:pull,push`);
    const response = await fetch(realm, { headers: this.authorization() });
    if (!response.ok) {
      await response.body?.cancel();
      throw new OciClientError(`the token service ${realm.origin} answered ${response.status}`);
    }
    const body = (await response.json()) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new OciClientError(`the token service ${realm.origin} gave no token`);
    return token;
  }
}
