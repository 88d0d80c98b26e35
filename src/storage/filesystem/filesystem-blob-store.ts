import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { type Digest, isDigestAlgorithm, tryParseDigest } from '../../oci/digest.ts';
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
import { appendChunks } from './file-appender.ts';
import { FileRangeStream } from './file-range-stream.ts';
import { FilesystemLayout } from './layout.ts';
import { syncPath } from './sync-path.ts';
import { WriteBack } from './write-back.ts';

const readChunkSize = 512 * 1024;
/** Upload bytes written between background flushes, so commit's fsync stays short. */
const writeBackBytes = 16 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Blobs and uploads as files under one root; see `layout.ts` for where everything lives. */
export class FilesystemBlobStore implements BlobStore {
  readonly minChunkLength = 0;
  private readonly layout: FilesystemLayout;
  private readonly directories = new Map<string, Promise<void>>();
  private readonly writeBack = new WriteBack();

  constructor(root: string) {
    this.layout = new FilesystemLayout(root);
  }

  async init(): Promise<void> {
    await this.ensureDirectory(this.layout.blobsDir);
    await this.ensureDirectory(this.layout.uploadsDir);
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const info = await stat(this.layout.blobPath(digest));
      return { size: info.size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.layout.blobPath(digest), 'r');
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(digest);
      throw error;
    }
    try {
      const { start, end } = range ?? { start: 0, end: (await handle.stat()).size - 1 };
      return new FileRangeStream(handle, { start, end });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async put(digest: Digest, bytes: Uint8Array): Promise<void> {
    if (await this.stat(digest)) return;
    const staging = this.layout.uploadPath(randomUUID());
    const handle = await open(staging, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.moveIntoPlace(staging, digest);
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.layout.blobPath(digest));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async *list(signal?: AbortSignal): AsyncIterable<StoredBlob> {
    for (const algorithm of await this.readdirOrEmpty(this.layout.blobsDir)) {
      if (!isDigestAlgorithm(algorithm)) continue;
      for (const prefix of await this.readdirOrEmpty(join(this.layout.blobsDir, algorithm))) {
        const directory = join(this.layout.blobsDir, algorithm, prefix);
        for (const hex of await this.readdirOrEmpty(directory)) {
          signal?.throwIfAborted();
          const parsed = tryParseDigest(`${algorithm}:${hex}`);
          if (!parsed) continue;
          const info = await stat(join(directory, hex)).catch(() => undefined);
          if (info) yield { digest: parsed.digest, size: info.size, modifiedAt: info.mtime };
        }
      }
    }
  }

  async append(
    id: string,
    offset: number,
    source: AsyncIterable<Buffer>,
    observe?: (chunk: Buffer) => void,
  ): Promise<number> {
    const path = this.layout.uploadPath(id);
    const handle = await this.openForAppend(id, path, offset);
    let previous = offset;
    try {
      return await appendChunks(handle, offset, source, {
        observe,
        // Flush whenever the upload crosses a multiple of writeBackBytes, however it is chunked.
        onWritten: (position) => {
          if (Math.floor(position / writeBackBytes) > Math.floor(previous / writeBackBytes))
            this.writeBack.start(path);
          previous = position;
        },
      });
    } finally {
      await handle.close();
    }
  }

  readUpload(id: string, end: number): Readable {
    if (end <= 0) return Readable.from([]);
    return createReadStream(this.layout.uploadPath(id), {
      start: 0,
      end: end - 1,
      highWaterMark: readChunkSize,
    });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.layout.uploadPath(id))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async commit(id: string, digest: Digest, size: number): Promise<void> {
    const path = this.layout.uploadPath(id);
    await this.writeBack.settle(path);
    // An upload that never received a byte has no file yet: the empty blob.
    const handle = size === 0 ? await open(path, 'w') : await this.openUploadAt(id, path, size);
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.moveIntoPlace(path, digest);
  }

  async removeUpload(id: string): Promise<void> {
    await rm(this.layout.uploadPath(id), { force: true });
  }

  async *listUploads(signal?: AbortSignal): AsyncIterable<StoredUpload> {
    for (const id of await this.readdirOrEmpty(this.layout.uploadsDir)) {
      signal?.throwIfAborted();
      const info = await stat(join(this.layout.uploadsDir, id)).catch(() => undefined);
      if (info?.isFile()) yield { id, size: info.size, modifiedAt: info.mtime };
    }
  }

  private async openForAppend(id: string, path: string, offset: number): Promise<FileHandle> {
    return offset === 0 ? open(path, 'w') : this.openUploadAt(id, path, offset);
  }

  /** Opens an upload whose first `size` bytes are wanted, cutting off anything written past them. */
  private async openUploadAt(id: string, path: string, size: number): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (error) {
      if (isMissing(error)) throw new UploadNotFoundError(id);
      throw error;
    }
    try {
      const actual = (await handle.stat()).size;
      if (actual < size) throw new UploadOffsetError(id, actual);
      if (actual > size) await handle.truncate(size);
      return handle;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Atomically renames a complete, synced file into its content address and syncs the directory. */
  private async moveIntoPlace(source: string, digest: Digest): Promise<void> {
    const target = this.layout.blobPath(digest);
    const directory = dirname(target);
    await this.ensureDirectory(directory);
    await rename(source, target);
    await syncPath(directory);
  }

  /** Creates a directory durably, once: concurrent callers wait for the same creation. */
  private ensureDirectory(path: string): Promise<void> {
    let created = this.directories.get(path);
    if (!created) {
      created = this.createDirectory(path);
      created.catch(() => this.directories.delete(path));
      this.directories.set(path, created);
    }
    return created;
  }

  private async createDirectory(path: string): Promise<void> {
    const first = await mkdir(path, { recursive: true });
    if (first === undefined) return;
    // Each new directory's entry lives in its parent: sync from `path` up to the first one created.
    for (let directory = path; ; directory = dirname(directory)) {
      await syncPath(dirname(directory));
      if (directory === first) break;
    }
  }

  private async readdirOrEmpty(path: string): Promise<string[]> {
    try {
      return (await readdir(path)).sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }
}
