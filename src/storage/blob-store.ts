import type { Readable, Writable } from 'node:stream';
import type { ByteRange } from '../lib/byte-range.ts';
import type { Digest } from '../oci/digest.ts';

/**
 * The blob store contract: content-addressed bytes and in-progress uploads, nothing of
 * repositories, manifests or tags (those live in the database). Small role interfaces compose
 * into `BlobStore`; callers ask for the smallest one they need. Every driver runs
 * `conformance.ts`.
 */

export interface BlobInfo {
  size: number;
}

export type { ByteRange } from '../lib/byte-range.ts';

/**
 * A blob body that can write itself to a destination faster than piping can (a driver may
 * return a Readable that also implements this). The body is consumed either way, never both.
 */
export interface DirectBody {
  writeTo(destination: Writable): Promise<void>;
}

export function isDirectBody(body: Readable): body is Readable & DirectBody {
  return typeof (body as Partial<DirectBody>).writeTo === 'function';
}

export interface BlobStatter {
  stat(digest: Digest): Promise<BlobInfo | undefined>;
}

export interface BlobReader {
  /** Opens the blob (or a range of it); throws `BlobNotFoundError` if it is absent. */
  read(digest: Digest, range?: ByteRange): Promise<Readable>;
}

export interface BlobLocator {
  /**
   * A short-lived URL from which a client can GET the blob directly (ranges included), or
   * undefined when the blob is to be streamed through Berth. Drivers without one omit it.
   */
  presignedUrl?(digest: Digest): Promise<string | undefined>;
}

export interface BlobWriter {
  /** Stores small content (a manifest) whose digest the caller has verified. Durable on return. */
  put(digest: Digest, bytes: Uint8Array): Promise<void>;
}

export interface BlobDeleter {
  delete(digest: Digest): Promise<void>;
}

export interface StoredBlob {
  digest: Digest;
  size: number;
  modifiedAt: Date;
}

export interface BlobLister {
  /** Every committed blob, for garbage collection. */
  list(signal?: AbortSignal): AsyncIterable<StoredBlob>;
}

export interface StoredUpload {
  id: string;
  size: number;
  modifiedAt: Date;
}

/** Bytes of uploads in progress, kept apart from committed content until their digest verifies. */
export interface UploadStore {
  /**
   * Writes `source` at `offset`, discarding anything beyond `offset` first (left by an interrupted
   * write), and returns the new size. `observe` sees every chunk in order, for hashing.
   * Creates the upload if it does not exist and `offset` is 0.
   */
  append(
    id: string,
    offset: number,
    source: AsyncIterable<Buffer>,
    observe?: (chunk: Buffer) => void,
  ): Promise<number>;
  /** The upload's bytes from 0 to `end` (exclusive), to rebuild a hash after a restart. */
  readUpload(id: string, end: number): Readable;
  uploadSize(id: string): Promise<number | undefined>;
  /** Makes the first `size` bytes of the upload durable content under `digest`; the upload is gone after. */
  commit(id: string, digest: Digest, size: number): Promise<void>;
  removeUpload(id: string): Promise<void>;
  listUploads(signal?: AbortSignal): AsyncIterable<StoredUpload>;
}

export interface BlobStore
  extends BlobStatter,
    BlobReader,
    BlobLocator,
    BlobWriter,
    BlobDeleter,
    BlobLister,
    UploadStore {
  /** Smallest chunk (but the last) the store can append efficiently; 0 when any size will do. */
  readonly minChunkLength: number;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

export class UploadNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`upload not found: ${id}`);
    this.name = 'UploadNotFoundError';
  }
}

/** The upload's current size differs from the offset a write assumed. */
export class UploadOffsetError extends Error {
  constructor(
    readonly id: string,
    readonly size: number,
  ) {
    super(`upload ${id} has ${size} bytes`);
    this.name = 'UploadOffsetError';
  }
}
