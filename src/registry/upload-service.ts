import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { UploadRow } from '../db/uploads.ts';
import type { Clock } from '../lib/clock.ts';
import { KeyedMutex } from '../lib/keyed-mutex.ts';
import type { Logger } from '../lib/logger.ts';
import { createDigester, type Digest, formatDigest, type ParsedDigest } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import { type BlobStore, UploadNotFoundError, UploadOffsetError } from '../storage/blob-store.ts';
import { UploadHashes } from './upload-hashes.ts';

export interface UploadState {
  id: string;
  repository: string;
  /** Bytes received so far; the next chunk starts here. */
  size: number;
}

/** Where a PATCH claims its chunk goes (`Content-Range`, inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface UploadServiceOptions {
  db: Database;
  store: BlobStore;
  clock: Clock;
  log: Logger;
}

/** The range error a client needs to resume: where the upload really stands. */
function outOfOrder(state: UploadState, message: string): RegistryError {
  return new RegistryError('RANGE_INVALID', message, {
    headers: {
      Location: `/v2/${state.repository}/blobs/uploads/${state.id}`,
      Range: `0-${Math.max(state.size - 1, 0)}`,
      'Docker-Upload-UUID': state.id,
    },
  });
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
  private readonly hashes: UploadHashes;
  private readonly locks = new KeyedMutex();

  constructor(options: UploadServiceOptions) {
    this.db = options.db;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log;
    this.hashes = new UploadHashes(options.store);
  }

  get minChunkLength(): number {
    return this.store.minChunkLength;
  }

  async start(repository: string): Promise<UploadState> {
    const now = this.clock.now();
    const id = randomUUID();
    await this.db.transaction(async (db) => {
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
    range?: ChunkRange,
  ): Promise<UploadState> {
    return this.locks.run(id, async () => {
      const session = await this.findSession(repository, id);
      if (range) {
        if (range.start !== session.size) {
          throw outOfOrder(
            toState(session),
            `chunk starts at ${range.start}, upload has ${session.size} bytes`,
          );
        }
        if (range.end < range.start - 1)
          throw outOfOrder(toState(session), 'chunk range ends before it starts');
      }
      const size = await this.write(session, body);
      if (range && size - session.size !== range.end - range.start + 1) {
        this.hashes.forget(id);
        throw new RegistryError(
          'SIZE_INVALID',
          `Content-Range announced ${range.end - range.start + 1} bytes, body had ${size - session.size}`,
        );
      }
      return this.acknowledge(session, size);
    });
  }

  /** Finishes an upload (PUT), with an optional last chunk, and links the blob into the repository. */
  async complete(
    repository: string,
    id: string,
    expected: ParsedDigest,
    lastChunk?: AsyncIterable<Buffer>,
  ): Promise<Digest> {
    return this.locks.run(id, async () => {
      const session = await this.findSession(repository, id);
      const size = lastChunk ? await this.write(session, lastChunk) : session.size;
      let actual: string;
      if (expected.algorithm === 'sha256') {
        actual = (await this.hashes.at(id, size)).digest('hex');
      } else {
        const hash = createDigester(expected.algorithm);
        for await (const chunk of this.store.readUpload(id, size)) hash.update(chunk as Buffer);
        actual = hash.digest('hex');
      }
      this.hashes.forget(id);
      if (actual !== expected.hex) {
        await this.discard(id);
        throw new RegistryError(
          'DIGEST_INVALID',
          `upload has digest ${formatDigest(expected.algorithm, actual)}`,
          {
            detail: { expected: expected.digest, actual: formatDigest(expected.algorithm, actual) },
          },
        );
      }
      await this.commitBlob(repository, id, expected.digest, size, id);
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
        throw new RegistryError(
          'DIGEST_INVALID',
          `body has digest ${formatDigest(expected.algorithm, actual)}`,
          {
            detail: { expected: expected.digest, actual: formatDigest(expected.algorithm, actual) },
          },
        );
      }
      await this.commitBlob(repository, id, expected.digest, size);
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

  /** Removes uploads idle since before `idleBefore` (epoch ms), sessions and stray files alike. */
  async purgeIdle(idleBefore: number): Promise<number> {
    let purged = 0;
    for (const session of await this.db.uploads.findIdle(idleBefore, 1000)) {
      await this.locks.run(session.id, () => this.discard(session.id));
      purged++;
    }
    for await (const upload of this.store.listUploads()) {
      if (upload.modifiedAt.getTime() >= idleBefore) continue;
      if (await this.db.uploads.find(upload.id)) continue;
      await this.store.removeUpload(upload.id);
      purged++;
    }
    if (purged > 0) this.log.info({ purged }, 'purged idle uploads');
    return purged;
  }

  private async findSession(repository: string, id: string): Promise<UploadRow> {
    const session = await this.db.uploads.find(id);
    if (!session || session.repository !== repository) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown`, { detail: { id } });
    }
    return session;
  }

  /** Writes a body at the session's end, hashing it; returns the new size (not yet acknowledged). */
  private async write(session: UploadRow, body: AsyncIterable<Buffer>): Promise<number> {
    const hash = await this.hashes.at(session.id, session.size);
    try {
      const size = await this.store.append(session.id, session.size, body, (chunk) => hash.update(chunk));
      this.hashes.keep(session.id, hash, size);
      return size;
    } catch (error) {
      if (error instanceof UploadNotFoundError) {
        await this.discard(session.id);
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} has no data; start again`);
      }
      if (error instanceof UploadOffsetError) {
        throw outOfOrder(
          { ...toState(session), size: error.size },
          'upload data is shorter than acknowledged',
        );
      }
      throw error;
    }
  }

  private async acknowledge(session: UploadRow, size: number): Promise<UploadState> {
    const moved = await this.db.uploads.advance(session.id, session.size, size, this.clock.now());
    if (!moved) {
      this.hashes.forget(session.id);
      const current = await this.findSession(session.repository, session.id);
      throw outOfOrder(toState(current), 'upload was written concurrently');
    }
    return { id: session.id, repository: session.repository, size };
  }

  private async commitBlob(
    repository: string,
    uploadId: string,
    digest: Digest,
    size: number,
    session?: string,
  ) {
    await this.store.commit(uploadId, digest, size);
    const now = this.clock.now();
    await this.db.transaction(async (db) => {
      await db.repositories.ensure(repository, now);
      await db.blobs.insert(digest, size, now);
      await db.blobs.link(repository, digest, now);
      if (session) await db.uploads.delete(session);
    });
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
