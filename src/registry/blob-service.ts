import type { Readable } from 'node:stream';
import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Digest } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import { chargeStorage, releaseStorage } from '../policy/storage-quota.ts';
import {
  type BlobLocator,
  BlobNotFoundError,
  type BlobReader,
  type ByteRange,
} from '../storage/blob-store.ts';

export interface BlobServiceOptions {
  db: Database;
  store: BlobReader & BlobLocator;
  clock: Clock;
}

function blobUnknown(digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest} is unknown to this repository`, {
    detail: { digest },
  });
}

/** Blobs as a repository sees them: only those pushed or mounted into it exist there. */
export class BlobService {
  private readonly db: Database;
  private readonly store: BlobReader & BlobLocator;
  private readonly clock: Clock;

  constructor(options: BlobServiceOptions) {
    this.db = options.db;
    this.store = options.store;
    this.clock = options.clock;
  }

  /** The blob's size, or BLOB_UNKNOWN. */
  async stat(repository: string, digest: Digest): Promise<number> {
    const row = await this.db.blobs.findInRepository(repository, digest);
    if (!row) throw blobUnknown(digest);
    return Number(row.size);
  }

  /**
   * Opens the blob for reading. `selectRange` sees the size first and may pick a byte range (or
   * throw, for an unsatisfiable one) before anything is opened.
   */
  async open(
    repository: string,
    digest: Digest,
    selectRange?: (size: number) => ByteRange | undefined,
  ): Promise<{ size: number; range?: ByteRange; body: Readable }> {
    const size = await this.stat(repository, digest);
    const range = selectRange?.(size);
    try {
      return { size, range, body: await this.store.read(digest, range) };
    } catch (error) {
      if (error instanceof BlobNotFoundError) throw blobUnknown(digest);
      throw error;
    }
  }

  /** Where the client may fetch the blob itself, if the store hands out such URLs; else undefined. */
  async redirect(repository: string, digest: Digest): Promise<string | undefined> {
    const url = await this.store.presignedUrl?.(digest);
    if (url) await this.stat(repository, digest);
    return url;
  }

  /** Removes the blob from the repository; its bytes stay until garbage collection. */
  async delete(repository: string, digest: Digest): Promise<void> {
    await this.db.transaction(async (db) => {
      if (!(await db.blobs.unlink(repository, digest))) throw blobUnknown(digest);
      await releaseStorage(db, repository, [digest], this.clock.now(), { keepWhileLinked: true });
    });
  }

  /**
   * Links a blob of `from` into `repository` (cross-repository mount). The caller has already
   * established that it may pull from `from`; returns false when `from` does not hold the blob.
   */
  async mount(repository: string, digest: Digest, from: string): Promise<boolean> {
    const source = await this.db.blobs.findInRepository(from, digest);
    if (!source) return false;
    const now = this.clock.now();
    await this.db.transaction(async (db) => {
      await db.repositories.ensure(repository, now);
      await db.blobs.link(repository, digest, now);
      await chargeStorage(db, repository, [{ digest, size: Number(source.size) }], now);
    });
    return true;
  }
}
