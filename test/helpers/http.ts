import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { isTrustedOrigin, type RawResponse, sendSecure } from './tls.ts';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  header(name: string): string | undefined;
  json<T = unknown>(): T;
  /** The OCI error code of an error response. */
  errorCode(): string | undefined;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string | AsyncIterable<Buffer>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A raw HTTP request: exact headers out, exact bytes back; no client-side smarts. */
export function send(
  base: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse> {
  const url = new URL(path, base);
  // HTTPS test instances (see ./tls.ts) are reached over HTTP/2 or HTTP/1.1 with their CA.
  if (isTrustedOrigin(url)) return sendSecure(url, { method, ...options }).then(testResponse);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve(
          testResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        ),
      );
    });
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) {
      req.end();
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((done) => req.once('drain', done));
        }
        req.end();
      })().catch((error: unknown) => req.destroy(error as Error));
    }
  });
}

function testResponse({ status, headers, body }: RawResponse): TestResponse {
  return {
    status,
    headers,
    body,
    header: (name) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
    errorCode: () => {
      try {
        return (JSON.parse(body.toString('utf8')) as { errors?: { code: string }[] }).errors?.[0]?.code;
      } catch {
        return undefined;
      }
    },
  };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface Credentials {
  username: string;
  password: string;
}

export function basicAuth({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * A registry client for tests: the OCI API's verbs over `send`, nothing hidden. It sends HTTP
 * Basic credentials on every request (the test administrator's unless told otherwise, none
 * when given `null`), unless a request sets its own Authorization header.
 */
export class RegistryClient {
  constructor(
    readonly base: string,
    readonly credentials: Credentials | null = { username: 'admin', password: 'Berth-Test-Admin-1' },
  ) {}

  request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    if (!this.credentials || options.headers?.authorization !== undefined)
      return send(this.base, method, path, options);
    return send(this.base, method, path, {
      ...options,
      headers: { authorization: basicAuth(this.credentials), ...options.headers },
    });
  }

  /** The same registry as another caller (null: anonymous). */
  as(credentials: Credentials | null): RegistryClient {
    return new RegistryClient(this.base, credentials);
  }

  /** Pushes a blob with POST + PUT and returns its digest; throws unless 201. */
  async pushBlob(repository: string, content: Buffer | string): Promise<string> {
    const bytes = Buffer.from(content);
    const digest = sha256(bytes);
    const start = await this.request('POST', `/v2/${repository}/blobs/uploads/`);
    if (start.status !== 202) throw new Error(`upload start: ${start.status} ${start.body}`);
    const location = start.header('location')!;
    const separator = location.includes('?') ? '&' : '?';
    const done = await this.request('PUT', `${location}${separator}digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length },
      body: bytes,
    });
    if (done.status !== 201) throw new Error(`upload complete: ${done.status} ${done.body}`);
    return digest;
  }

  async putManifest(
    repository: string,
    reference: string,
    manifest: unknown,
    mediaType?: string,
  ): Promise<TestResponse> {
    const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
    const type =
      mediaType ??
      (manifest as { mediaType?: string }).mediaType ??
      'application/vnd.oci.image.manifest.v1+json';
    return this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      headers: { 'content-type': type },
      body: bytes,
    });
  }

  /** Pushes a config and `layers` random-ish layers and an image manifest for them; returns all. */
  async pushImage(
    repository: string,
    tag: string,
    options: {
      layers?: (string | Buffer)[];
      annotations?: Record<string, string>;
      subject?: unknown;
      artifactType?: string;
      configMediaType?: string;
    } = {},
  ) {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }),
    );
    const configDigest = await this.pushBlob(repository, config);
    const layers = [];
    for (const layer of options.layers ?? [`layer of ${repository}:${tag}`]) {
      layers.push({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: await this.pushBlob(repository, layer),
        size: Buffer.byteLength(layer),
      });
    }
    const manifest: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: options.configMediaType ?? 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers,
    };
    if (options.artifactType) manifest.artifactType = options.artifactType;
    if (options.subject) manifest.subject = options.subject;
    if (options.annotations) manifest.annotations = options.annotations;
    const bytes = Buffer.from(JSON.stringify(manifest));
    const response = await this.putManifest(
      repository,
      tag,
      bytes,
      'application/vnd.oci.image.manifest.v1+json',
    );
    if (response.status !== 201) throw new Error(`manifest push: ${response.status} ${response.body}`);
    return { digest: sha256(bytes), bytes, manifest, size: bytes.length };
  }
}
