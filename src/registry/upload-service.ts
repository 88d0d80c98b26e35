import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { UploadRow } from '../db/uploads.ts';
import type { ByteRange } from '../lib/byte-range.ts';
import type { Clock } from '../lib/clock.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import type { Logger } from '../lib/logger.ts';
import { createDigester, type Digest, formatDigest, type ParsedDigest } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import { chargeStorage, QuotaExceededError } from '../policy/storage-quota.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { UploadNotFoundError, UploadOffsetError } from '../storage/blob-store.ts';
import { UploadHashes } from './upload-hashes.ts';

export interface UploadState {
  id: string;
  repository: string;
  /** Bytes received so far; the next chunk starts here. */
  size: number;
}

/** A chunk that does not start where the upload stands (416); carries where it does stand. */
export class UploadRangeError extends RegistryError {
  constructor(
    readonly state: UploadState,
    message: string,
  ) {
    super('RANGE_INVALID', message, { detail: { size: state.size } });
  }
}

export interface UploadServiceOptions {
  db: Database;
  store: BlobStore;
  clock: Clock;
  log: Logger;
  /** Upload sessions a repository may have open at once. */
  maxOpenUploads?: number;
}

function uploadUnknown(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown`, { detail: { id } });
}

/**
 * Blob uploads: sessions in the database, bytes in the blob store's upload area, hashed as they
 * arrive, moved into content-addressed storage only once the digest verifies.
 */
export class UploadService {
  private readonly db: Database;
  private readonly store: BlobStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxOpenUploads: number;
  private readonly hashes: UploadHashes;
  private readonly locks = new KeyedMutex();

  constructor(options: UploadServiceOptions) {
    this.db = options.db;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log;
    this.maxOpenUploads = options.maxOpenUploads ?? 1000;
    this.hashes = new UploadHashes(options.store);
  }

  get minChunkLength(): number {
    return this.store.minChunkLength;
  }

  async start(repository: string): Promise<UploadState> {
    const now = this.clock.now();
    const id = randomUUID();
    await this.db.transaction(async (db) => {
      if ((await db.uploads.countForRepository(repository)) >= this.maxOpenUploads) {
        throw new RegistryError(
          'TOOMANYREQUESTS',
          `repository ${repository} has ${this.maxOpenUploads} uploads open`,
        );
      }
      await db.repositories.ensure(repository, now);
      await db.uploads.insert({ id, repository, size: 0, created_at: now, updated_at: now });
    });
    return { id, repository, size: 0 };
  }

  async status(repository: string, id: string): Promise<UploadState> {
    return toState(await this.findSession(repository, id));
  }

  /** Appends a chunk (PATCH). With a range, it must start exactly where the upload stands. */
  async append(
    repository: string,
    id: string,
    body: AsyncIterable<Buffer>,
    range?: ByteRange,
  ): Promise<UploadState> {
    return this.locks.run(id, async () => {
      const session = await this.findSession(repository, id);
      const size = await this.writeChunk(session, body, range);
      return this.acknowledge(session, size);
    });
  }

  /**
   * Finishes an upload (PUT), with an optional last chunk (and its range), and links the blob
   * into the repository. A retry after a commit whose bookkeeping was interrupted completes it.
   */
  async complete(
    repository: string,
    id: string,
    expected: ParsedDigest,
    lastChunk?: AsyncIterable<Buffer>,
    range?: ByteRange,
  ): Promise<Digest> {
    return this.locks.run(id, async () => {
      const session = await this.findSession(repository, id);
      const stored = await this.store.uploadSize(id);
      if (stored === undefined && Number(session.size) > 0)
        return this.finishInterruptedCommit(session, expected);
      if (stored !== undefined && stored < session.size) throw await this.shortened(session, stored);
      const size = lastChunk ? await this.writeChunk(session, lastChunk, range) : session.size;
      const actual = await this.digestOf(id, size, expected);
      this.hashes.forget(id);
      if (actual !== expected.hex) {
        await this.discard(id);
        const found = formatDigest(expected.algorithm, actual);
        throw new RegistryError('DIGEST_INVALID', `upload has digest ${found}`, {
          detail: { expected: expected.digest, actual: found },
        });
      }
      await this.store.commit(id, expected.digest, size);
      await this.recordBlob(repository, expected.digest, size, id);
      return expected.digest;
    });
  }

  /** A whole blob in one request (POST with `?digest=`). */
  async pushMonolithic(
    repository: string,
    expected: ParsedDigest,
    body: AsyncIterable<Buffer>,
  ): Promise<Digest> {
    const id = randomUUID();
    try {
      const hash = createDigester(expected.algorithm);
      const size = await this.store.append(id, 0, body, (chunk) => hash.update(chunk));
      const actual = hash.digest('hex');
      if (actual !== expected.hex) {
        const found = formatDigest(expected.algorithm, actual);
        throw new RegistryError('DIGEST_INVALID', `body has digest ${found}`, {
          detail: { expected: expected.digest, actual: found },
        });
      }
      await this.store.commit(id, expected.digest, size);
      await this.recordBlob(repository, expected.digest, size);
      return expected.digest;
    } catch (error) {
      await this.store.removeUpload(id);
      throw error;
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.locks.run(id, async () => {
      await this.findSession(repository, id);
      await this.discard(id);
    });
  }

  /**
   * Removes uploads idle since before `idleBefore` (epoch ms), sessions and stray files alike.
   * An upload being written right now is never idle, whatever its timestamp says.
   */
  async purgeIdle(idleBefore: number, signal?: AbortSignal): Promise<number> {
    let purged = 0;
    for (;;) {
      const sessions = (await this.db.uploads.findIdle(idleBefore, 500)).filter(
        (session) => !this.locks.busy(session.id),
      );
      if (sessions.length === 0) break;
      for (const session of sessions) {
        signal?.throwIfAborted();
        await this.locks.run(session.id, async () => {
          const current = await this.db.uploads.find(session.id);
          if (current && Number(current.updated_at) < idleBefore) await this.discard(session.id);
        });
        purged++;
      }
    }
    for await (const upload of this.store.listUploads(signal)) {
      if (upload.modifiedAt.getTime() >= idleBefore || this.locks.busy(upload.id)) continue;
      if (await this.db.uploads.find(upload.id)) continue;
      await this.store.removeUpload(upload.id);
      purged++;
    }
    if (purged > 0) this.log.info({ purged }, 'purged idle uploads');
    return purged;
  }

  private async findSession(repository: string, id: string): Promise<UploadRow> {
    const session = await this.db.uploads.find(id);
    if (!session || session.repository !== repository) throw uploadUnknown(id);
    return session;
  }

  /** Writes a chunk at the session's end, hashing it; returns the new size (not yet acknowledged). */
  private async writeChunk(
    session: UploadRow,
    body: AsyncIterable<Buffer>,
    range?: ByteRange,
  ): Promise<number> {
    const state = toState(session);
    if (range && range.start !== state.size) {
      throw new UploadRangeError(state, `chunk starts at ${range.start}, upload has ${state.size} bytes`);
    }
    let size: number;
    try {
      const hash = await this.hashes.at(session.id, state.size);
      size = await this.store.append(session.id, state.size, body, (chunk) => hash.update(chunk));
      this.hashes.keep(session.id, hash, size);
    } catch (error) {
      if (error instanceof UploadNotFoundError) {
        await this.discard(session.id);
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} has no data; start again`);
      }
      if (error instanceof UploadOffsetError) throw await this.shortened(session, error.size);
      throw error;
    }
    if (range && size - state.size !== range.end - range.start + 1) {
      this.hashes.forget(session.id);
      throw new RegistryError(
        'SIZE_INVALID',
        `Content-Range announced ${range.end - range.start + 1} bytes, body had ${size - state.size}`,
      );
    }
    return size;
  }

  private async digestOf(id: string, size: number, expected: ParsedDigest): Promise<string> {
    if (expected.algorithm === 'sha256') return (await this.hashes.at(id, size)).digest('hex');
    const hash = createDigester(expected.algorithm);
    for await (const chunk of this.store.readUpload(id, size)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  private async acknowledge(session: UploadRow, size: number): Promise<UploadState> {
    const moved = await this.db.uploads.advance(session.id, Number(session.size), size, this.clock.now());
    if (!moved) {
      this.hashes.forget(session.id);
      const current = await this.findSession(session.repository, session.id);
      throw new UploadRangeError(toState(current), 'upload was written concurrently');
    }
    return { id: session.id, repository: session.repository, size };
  }

  /**
   * The stored data is shorter than acknowledged (a power loss before it reached the disk):
   * the session falls back to what is really there and the client resumes from it.
   */
  private async shortened(session: UploadRow, stored: number): Promise<UploadRangeError> {
    this.hashes.forget(session.id);
    await this.db.uploads.advance(session.id, Number(session.size), stored, this.clock.now());
    return new UploadRangeError({ ...toState(session), size: stored }, `upload data ends at ${stored} bytes`);
  }

  /** The upload file is gone: either its commit got as far as the rename, or it is lost. */
  private async finishInterruptedCommit(session: UploadRow, expected: ParsedDigest): Promise<Digest> {
    const committed = await this.store.stat(expected.digest);
    if (committed && committed.size === Number(session.size)) {
      await this.recordBlob(session.repository, expected.digest, committed.size, session.id);
      return expected.digest;
    }
    await this.discard(session.id);
    throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} has no data; start again`);
  }

  private async recordBlob(
    repository: string,
    digest: Digest,
    size: number,
    session?: string,
  ): Promise<void> {
    const now = this.clock.now();
    try {
      await this.db.transaction(async (db) => {
        await db.repositories.ensure(repository, now);
        await db.blobs.insert(digest, size, now);
        await db.blobs.link(repository, digest, now);
        await chargeStorage(db, repository, [{ digest, size }], now);
        if (session) await db.uploads.delete(session);
      });
    } catch (error) {
      // Refused: the session ends too, so nothing of the upload stays visible.
      if (session && error instanceof QuotaExceededError) await this.discard(session);
      throw error;
    }
  }

  private async discard(id: string): Promise<void> {
    this.hashes.forget(id);
    await this.db.uploads.delete(id);
    await this.store.removeUpload(id);
  }
}

function toState(row: UploadRow): UploadState {
  return { id: row.id, repository: row.repository, size: Number(row.size) };
}
