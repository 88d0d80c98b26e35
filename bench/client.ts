import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Agent, type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** A request body: bytes in memory, or a stream of chunks whose total length the caller gives. */
export type Body = Buffer | { length: number; chunks: () => AsyncIterable<Buffer> | Iterable<Buffer> };

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Body;
}

export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function writeChunks(request: ClientRequest, chunks: AsyncIterable<Buffer> | Iterable<Buffer>) {
  for await (const chunk of chunks) {
    if (!request.write(chunk)) await once(request, 'drain');
  }
  request.end();
}

function expect(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${reply.status} ${reply.body.toString().slice(0, 300)}`,
    );
  }
  return reply;
}

/**
 * The registry operations the bench times, over plain node:http with keep-alive connections.
 * Both registries are driven by this same code; nothing here knows which one it talks to.
 */
export class RegistryClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  private readonly readBuffer = Buffer.allocUnsafe(1024 * 1024);

  /** `authorization`: sent with every request that does not set its own. */
  constructor(
    readonly base: string,
    readonly authorization?: string,
  ) {}

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const body = options.body;
    const headers = { ...options.headers };
    if (this.authorization && headers.authorization === undefined) headers.authorization = this.authorization;
    if (body !== undefined) headers['content-length'] = body.length;
    return new Promise<Reply>((resolve, reject) => {
      const request = httpRequest(url, { method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      });
      request.once('error', reject);
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else writeChunks(request, body.chunks()).catch((error: unknown) => request.destroy(error as Error));
    });
  }

  /** POST: opens an upload session; returns its location. */
  async startUpload(repository: string): Promise<string> {
    const reply = expect(await this.request('POST', `/v2/${repository}/blobs/uploads/`), 202, 'upload start');
    return this.location(reply);
  }

  /** POST, then one PUT `?digest=` carrying the whole blob. */
  async pushMonolithic(repository: string, digest: string, body: Body): Promise<void> {
    const location = await this.startUpload(repository);
    const reply = await this.request('PUT', withDigest(location, digest), {
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(reply, 201, 'monolithic upload');
  }

  /** POST, PATCHes of `chunkSize` bytes with an inclusive Content-Range, then an empty PUT `?digest=`. */
  async pushChunked(repository: string, digest: string, data: Buffer, chunkSize: number): Promise<void> {
    let location = await this.startUpload(repository);
    for (let start = 0; start < data.length; start += chunkSize) {
      const chunk = data.subarray(start, Math.min(start + chunkSize, data.length));
      const reply = await this.request('PATCH', location, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${start}-${start + chunk.length - 1}`,
        },
        body: chunk,
      });
      location = this.location(expect(reply, 202, `chunk at ${start}`));
    }
    expect(
      await this.request('PUT', withDigest(location, digest), { body: Buffer.alloc(0) }),
      201,
      'chunked upload completion',
    );
  }

  /**
   * GET a blob on a connection of its own, reading into one reused 1 MiB buffer; returns the
   * body's length. node:http allocates every chunk and tops out at a few hundred MiB/s on this
   * machine, well below what either registry serves (curl sees about 2 GB/s from both).
   */
  pullBlob(repository: string, digest: string): Promise<number> {
    const url = new URL(`/v2/${repository}/blobs/${digest}`, this.base);
    const buffer = this.readBuffer;
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      let status = 0;
      let length = -1;
      let received = 0;
      let done = false;
      const finish = (error?: Error) => {
        done = true;
        socket.destroy();
        if (error) reject(error);
        else resolve(received);
      };
      const onRead = (bytes: number) => {
        if (length >= 0) {
          received += bytes;
        } else {
          head = Buffer.concat([head, buffer.subarray(0, bytes)]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const text = head.toString('latin1', 0, end);
          status = Number(text.slice(9, 12));
          const declared = /\r\ncontent-length:\s*(\d+)/i.exec(text);
          if (!declared) return finish(new Error(`blob pull: ${status} without Content-Length`));
          length = Number(declared[1]);
          received = head.length - end - 4;
          if (status !== 200) return finish(new Error(`blob pull: expected 200, got ${status}`));
        }
        if (received >= length) finish();
      };
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        onread: {
          buffer,
          callback: (bytes) => {
            onRead(bytes);
            return true;
          },
        },
      });
      socket.once('connect', () =>
        socket.write(
          `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n${
            this.authorization ? `Authorization: ${this.authorization}\r\n` : ''
          }Connection: close\r\n\r\n`,
        ),
      );
      socket.once('error', (error) => done || finish(error));
      socket.once(
        'close',
        () => done || finish(new Error(`blob pull: connection closed after ${received} bytes`)),
      );
    });
  }

  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType = ociManifestType) {
    const reply = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    expect(reply, 201, `manifest ${reference}`);
  }

  /** Pushes a config, one small layer and an OCI image manifest under `tag`. */
  async pushImage(repository: string, tag: string, layer: Buffer) {
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      }),
    );
    const configDigest = sha256(config);
    const layerDigest = sha256(layer);
    await this.pushMonolithic(repository, configDigest, config);
    await this.pushMonolithic(repository, layerDigest, layer);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociManifestType,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
        ],
      }),
    );
    await this.putManifest(repository, tag, manifest);
    return { manifest, manifestDigest: sha256(manifest), layerDigest };
  }

  /** GET tags/list in one page; returns the tags. */
  async listTags(repository: string): Promise<string[]> {
    const reply = expect(await this.request('GET', `/v2/${repository}/tags/list`), 200, 'tags list');
    return (JSON.parse(reply.body.toString('utf8')) as { tags: string[] | null }).tags ?? [];
  }

  close(): void {
    this.agent.destroy();
  }

  /** The Location of an upload reply, as a path with query (distribution answers with a full URL). */
  private location(reply: Reply): string {
    const location = reply.headers.location;
    if (!location) throw new Error(`no Location in the ${reply.status} reply`);
    const url = new URL(location, this.base);
    return `${url.pathname}${url.search}`;
  }
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${digest}`;
}
