import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type _Object,
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Digest } from '../../oci/digest.ts';
import {
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type StoredUpload,
  UploadNotFoundError,
  UploadOffsetError,
} from '../blob-store.ts';
import { S3Layout } from './s3-layout.ts';

/** S3's smallest part of a multipart upload (all but the last). */
export const minPartSize = 5 * 1024 * 1024;

export type S3Encryption = { type: 'none' } | { type: 'AES256' } | { type: 'aws:kms'; keyId?: string };

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of everything this store writes, so a bucket can be shared. */
  prefix?: string;
  /** Bytes per part of an upload (at least 5 MiB); one part per upload is buffered in memory. */
  partSize?: number;
  encryption?: S3Encryption;
  /** When set, `presignedUrl` hands out GET URLs valid this long. */
  presignedExpirySeconds?: number;
  /** Keys per listing request (S3 caps it at 1000). */
  listPageSize?: number;
}

interface TailState {
  /** Full parts before the tail. */
  parts: number;
  tailLength: number;
}

const partsMetadata = 'berth-parts';
/** Part uploads or copies of one upload in flight at once. */
const partConcurrency = 3;

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

/**
 * Blobs as objects of one S3 bucket (see `s3-layout.ts` for the keys). An upload in progress is
 * a run of part objects plus a tail object, so any node can read it back (to rebuild its hash)
 * or cut it short after an interrupted write; memory holds at most one part per upload plus the
 * parts being sent. Commit assembles the parts server-side into the blob's key with a multipart
 * upload (`UploadPartCopy`, no bytes through Berth), which S3 makes visible only when complete.
 */
export class S3BlobStore implements BlobStore {
  readonly minChunkLength: number;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly layout: S3Layout;
  private readonly partSize: number;
  private readonly encryption: Record<string, string>;
  private readonly presignedExpirySeconds: number | undefined;
  private readonly listPageSize: number;

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.layout = new S3Layout(options.prefix ?? '');
    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    if (this.partSize < minPartSize) throw new Error(`S3 part size must be at least ${minPartSize} bytes`);
    // Chunks of whole parts go straight to part objects; smaller ones are carried in the tail.
    this.minChunkLength = this.partSize;
    const encryption = options.encryption ?? { type: 'none' };
    this.encryption =
      encryption.type === 'none'
        ? {}
        : encryption.type === 'AES256'
          ? { ServerSideEncryption: 'AES256' }
          : {
              ServerSideEncryption: 'aws:kms',
              ...(encryption.keyId ? { SSEKMSKeyId: encryption.keyId } : {}),
            };
    this.presignedExpirySeconds = options.presignedExpirySeconds;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(digest) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      return await this.getObject(this.layout.blobKey(digest), range);
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(digest);
      throw error;
    }
  }

  /** A short-lived URL that reads the blob straight from S3, or undefined when redirects are off. */
  async presignedUrl(digest: Digest): Promise<string | undefined> {
    if (this.presignedExpirySeconds === undefined) return undefined;
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(digest) });
    return getSignedUrl(this.client, command, { expiresIn: this.presignedExpirySeconds });
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (await this.stat(digest)) return;
    await this.putObject(this.layout.blobKey(digest), bytes);
  }

  async delete(digest: Digest): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.layout.blobKey(digest) }),
    );
  }

  async *list(signal?: AbortSignal): AsyncIterable<StoredBlob> {
    for await (const object of this.listObjects(this.layout.blobsPrefix, signal)) {
      const digest = this.layout.digestOfKey(object.Key!);
      if (digest) yield { digest, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
    }
  }

  async append(
    id: string,
    offset: number,
    source: AsyncIterable<Buffer>,
    observe?: (chunk: Buffer) => void,
  ): Promise<number> {
    const state = await this.readTailState(id);
    if (!state && offset !== 0) throw new UploadNotFoundError(id);
    let parts = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    if (state) {
      const stored = state.parts * this.partSize + state.tailLength;
      if (stored < offset) throw new UploadOffsetError(id, stored);
      // What this append builds on: the first `offset` bytes, cut from the tail or from a part.
      parts = Math.floor(offset / this.partSize);
      const rest = offset - parts * this.partSize;
      if (rest > 0) {
        const key = parts < state.parts ? this.layout.partKey(id, parts) : this.layout.tailKey(id);
        pending = [await this.readBytes(key, { start: 0, end: rest - 1 })];
        pendingBytes = rest;
      }
    }

    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const sendPart = (number: number, bytes: Buffer) => {
      const sent: Promise<void> = this.putObject(this.layout.partKey(id, number), bytes).then(
        () => void inFlight.delete(sent),
        (error: unknown) => {
          inFlight.delete(sent);
          failure ??= error;
        },
      );
      inFlight.add(sent);
    };
    try {
      for await (const chunk of source) {
        if (failure) break;
        observe?.(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        while (pendingBytes >= this.partSize) {
          const joined = Buffer.concat(pending, pendingBytes);
          sendPart(parts++, joined.subarray(0, this.partSize));
          pending = pendingBytes > this.partSize ? [joined.subarray(this.partSize)] : [];
          pendingBytes -= this.partSize;
          if (inFlight.size >= partConcurrency) await Promise.race(inFlight);
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (failure) throw failure;
    // The append counts from here: the tail names how many parts are valid.
    await this.putObject(this.layout.tailKey(id), Buffer.concat(pending, pendingBytes), {
      [partsMetadata]: String(parts),
    });
    return parts * this.partSize + pendingBytes;
  }

  readUpload(id: string, end: number): Readable {
    const store = this;
    async function* bytes(): AsyncIterable<Buffer> {
      if (end <= 0) return;
      const state = await store.readTailState(id);
      if (!state) throw new UploadNotFoundError(id);
      for (const segment of store.segments(id, state, end)) {
        const body = await store.getObject(segment.key, { start: 0, end: segment.length - 1 });
        for await (const chunk of body) yield chunk as Buffer;
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    const state = await this.readTailState(id);
    return state && state.parts * this.partSize + state.tailLength;
  }

  async commit(id: string, digest: Digest, size: number): Promise<void> {
    const state = await this.readTailState(id);
    if (!state) {
      // An upload that never received a byte has no objects yet: the empty blob.
      if (size !== 0) throw new UploadNotFoundError(id);
      await this.put(digest, Buffer.alloc(0));
      return;
    }
    const stored = state.parts * this.partSize + state.tailLength;
    if (stored < size) throw new UploadOffsetError(id, stored);
    if (!(await this.stat(digest))) await this.assemble(this.segments(id, state, size), digest);
    await this.removeUpload(id);
  }

  async removeUpload(id: string): Promise<void> {
    // The tail first: without it the upload is gone, whatever parts a crash leaves behind.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.layout.tailKey(id) }));
    const keys: string[] = [];
    for await (const object of this.listObjects(this.layout.uploadPrefix(id))) keys.push(object.Key!);
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000).map((Key) => ({ Key }));
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
      );
    }
  }

  async *listUploads(signal?: AbortSignal): AsyncIterable<StoredUpload> {
    let current: { id: string; modifiedAt: Date; bytes: number } | undefined;
    const finish = async (upload: { id: string; modifiedAt: Date; bytes: number }) => ({
      id: upload.id,
      size: (await this.uploadSize(upload.id)) ?? upload.bytes,
      modifiedAt: upload.modifiedAt,
    });
    // Keys come sorted, so each upload's objects are listed together.
    for await (const object of this.listObjects(this.layout.uploadsPrefix, signal)) {
      const id = this.layout.uploadIdOfKey(object.Key!);
      if (!id) continue;
      const modifiedAt = object.LastModified ?? new Date(0);
      if (current?.id !== id) {
        if (current) yield await finish(current);
        current = { id, modifiedAt, bytes: 0 };
      }
      if (modifiedAt > current.modifiedAt) current.modifiedAt = modifiedAt;
      current.bytes += object.Size ?? 0;
    }
    if (current) yield await finish(current);
  }

  /** The objects holding the upload's first `size` bytes, in order, with how much of each. */
  private segments(id: string, state: TailState, size: number): { key: string; length: number }[] {
    const segments = [];
    for (let part = 0, at = 0; at < size; part++, at += this.partSize) {
      const key = part < state.parts ? this.layout.partKey(id, part) : this.layout.tailKey(id);
      segments.push({ key, length: Math.min(this.partSize, size - at) });
    }
    return segments;
  }

  /** Writes the segments' bytes, in order, as the blob: one PUT when small, else a multipart copy. */
  private async assemble(segments: { key: string; length: number }[], digest: Digest): Promise<void> {
    const key = this.layout.blobKey(digest);
    const [first] = segments;
    if (segments.length <= 1) {
      const bytes = first
        ? await this.readBytes(first.key, { start: 0, end: first.length - 1 })
        : Buffer.alloc(0);
      await this.putObject(key, bytes);
      return;
    }
    const { UploadId, ServerSideEncryption } = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: 'application/octet-stream',
        ...this.encryption,
      }),
    );
    try {
      await this.ensureEncrypted(key, ServerSideEncryption);
      const parts: CompletedPart[] = new Array(segments.length);
      let next = 0;
      const copyNext = async (): Promise<void> => {
        for (let index = next++; index < segments.length; index = next++) {
          const segment = segments[index]!;
          const copied = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId,
              PartNumber: index + 1,
              CopySource: `${this.bucket}/${segment.key}`,
              CopySourceRange: `bytes=0-${segment.length - 1}`,
            }),
          );
          parts[index] = { PartNumber: index + 1, ETag: copied.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(partConcurrency, segments.length) }, copyNext));
      // The completion answer is not checked for an ETag: Ceph Pacific sends an empty one.
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId }))
        .catch(() => {});
      throw error;
    }
  }

  private async readTailState(id: string): Promise<TailState | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.layout.tailKey(id) }),
      );
      const parts = Number(head.Metadata?.[partsMetadata] ?? Number.NaN);
      if (!Number.isInteger(parts) || parts < 0) throw new Error(`upload ${id} has a malformed tail object`);
      return { parts, tailLength: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async getObject(key: string, range?: ByteRange): Promise<Readable> {
    const response = await this.client.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    return response.Body as Readable;
  }

  private async readBytes(key: string, range: ByteRange): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getObject(key, range)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private async putObject(key: string, bytes: Uint8Array, metadata?: Record<string, string>): Promise<void> {
    const answer = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentMD5: md5(bytes),
        ContentType: 'application/octet-stream',
        ...(metadata ? { Metadata: metadata } : {}),
        ...this.encryption,
      }),
    );
    await this.ensureEncrypted(key, answer.ServerSideEncryption);
  }

  /**
   * Some S3-compatible stores accept encryption headers they do not implement (Ceph Pacific
   * ignores AES256): an object stored without the encryption asked for is deleted and refused.
   */
  private async ensureEncrypted(key: string, applied: string | undefined): Promise<void> {
    const wanted = this.encryption.ServerSideEncryption;
    if (wanted === undefined || applied === wanted) return;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    throw new Error(`S3 stored ${key} without ${wanted} encryption (it answered ${applied ?? 'none'})`);
  }

  private async *listObjects(prefix: string, signal?: AbortSignal): AsyncIterable<_Object> {
    let token: string | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.listPageSize,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        { abortSignal: signal },
      );
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
