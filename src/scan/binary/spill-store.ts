import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes appended in stream order and read back at random: kept in memory up to `memoryBytes`,
 * then moved to a file under `tempDir`, so a large region costs disk, never memory. Holds at most
 * `maxBytes`; past that further bytes are dropped and `overflowed` is set.
 */
export class SpillStore {
  readonly #tempDir: string;
  readonly #memoryBytes: number;
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #file: { path: string; handle: FileHandle } | undefined;
  #length = 0;
  overflowed = false;

  constructor(tempDir: string, memoryBytes: number, maxBytes: number) {
    this.#tempDir = tempDir;
    this.#memoryBytes = memoryBytes;
    this.#maxBytes = maxBytes;
  }

  get length(): number {
    return this.#length;
  }

  async append(bytes: Buffer): Promise<void> {
    if (bytes.length === 0 || this.overflowed) return;
    if (this.#length + bytes.length > this.#maxBytes) {
      this.overflowed = true;
      return;
    }
    if (!this.#file && this.#length + bytes.length <= this.#memoryBytes) {
      // Copied: the stream may reuse the chunk's memory once the reader moves on.
      this.#chunks.push(Buffer.from(bytes));
      this.#length += bytes.length;
      return;
    }
    if (!this.#file) {
      const path = join(this.#tempDir, `spill-${randomUUID()}`);
      this.#file = { path, handle: await open(path, 'wx+', 0o600) };
      const held = Buffer.concat(this.#chunks);
      this.#chunks = [];
      await this.#file.handle.write(held, 0, held.length, 0);
    }
    await this.#file.handle.write(bytes, 0, bytes.length, this.#length);
    this.#length += bytes.length;
  }

  /** The bytes at [start, start + length), or undefined when they were not all stored. */
  async read(start: number, length: number): Promise<Buffer | undefined> {
    if (start < 0 || length < 0 || start + length > this.#length) return undefined;
    if (this.#file) {
      const out = Buffer.alloc(length);
      const { bytesRead } = await this.#file.handle.read(out, 0, length, start);
      return bytesRead === length ? out : undefined;
    }
    return Buffer.concat(this.#chunks).subarray(start, start + length);
  }

  /** Frees the memory and deletes the file; the store is empty afterwards. */
  async dispose(): Promise<void> {
    this.#chunks = [];
    this.#length = 0;
    const file = this.#file;
    this.#file = undefined;
    if (!file) return;
    await file.handle.close().catch(() => undefined);
    await rm(file.path, { force: true });
  }
}
