import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import type { DirectBody } from '../blob-store.ts';

export interface FileRangeOptions {
  /** Inclusive byte range; the whole file when absent. */
  start: number;
  end: number;
  /** Bytes per read. */
  chunkBytes?: number;
  /** Reads kept in flight ahead of the consumer. */
  readAhead?: number;
}

/**
 * Streams a byte range of an open file with several positional reads in flight, so the disk
 * (or page cache) and the socket work at the same time instead of taking turns, as
 * `createReadStream` does. Chunks are pushed in file order. Closes the file when done.
 *
 * `writeTo` is the faster way to send it: two buffers, each reused as soon as the destination
 * has taken its bytes (fresh 1 MiB buffers cost page faults on every chunk: ~1.0 vs ~1.5 GB/s
 * to a local socket here).
 */
export class FileRangeStream extends Readable implements DirectBody {
  private readonly handle: FileHandle;
  private readonly end: number;
  private readonly chunkBytes: number;
  private readonly readAhead: number;
  private next: number;
  private readonly pending: Promise<Buffer>[] = [];
  private pushing = false;

  constructor(handle: FileHandle, options: FileRangeOptions) {
    const chunkBytes = options.chunkBytes ?? 1024 * 1024;
    super({ highWaterMark: chunkBytes });
    this.handle = handle;
    this.end = options.end;
    this.chunkBytes = chunkBytes;
    this.readAhead = options.readAhead ?? 3;
    this.next = options.start;
  }

  override _read(): void {
    this.fill();
    if (!this.pushing) void this.pushInOrder();
  }

  private fill(): void {
    while (this.pending.length < this.readAhead && this.next <= this.end) {
      const length = Math.min(this.chunkBytes, this.end - this.next + 1);
      const position = this.next;
      this.next += length;
      const read = this.handle
        .read(Buffer.allocUnsafeSlow(length), 0, length, position)
        .then(({ buffer, bytesRead }) => {
          if (bytesRead !== length)
            throw new Error(`file ended at ${position + bytesRead}, expected ${this.end + 1} bytes`);
          return buffer;
        });
      // Reads further ahead are awaited later; a failure is reported when its turn comes.
      read.catch(() => {});
      this.pending.push(read);
    }
  }

  private async pushInOrder(): Promise<void> {
    this.pushing = true;
    try {
      while (this.pending.length > 0) {
        const chunk = await this.pending[0]!;
        this.pending.shift();
        if (this.destroyed) return;
        const wantsMore = this.push(chunk);
        if (this.next > this.end && this.pending.length === 0) {
          this.push(null);
          return;
        }
        this.fill();
        if (!wantsMore) return;
      }
      if (this.next > this.end) this.push(null);
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.pushing = false;
    }
  }

  async writeTo(destination: Writable): Promise<void> {
    const buffers = [Buffer.allocUnsafeSlow(this.chunkBytes), Buffer.allocUnsafeSlow(this.chunkBytes)];
    const released: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let failure: Error | undefined;
    const onClose = () => {
      failure ??= new Error('destination closed before the body was sent');
    };
    destination.once('close', onClose);
    try {
      for (let turn = 0; this.next <= this.end; turn++) {
        const slot = turn % 2;
        await released[slot];
        if (failure) throw failure;
        const length = Math.min(this.chunkBytes, this.end - this.next + 1);
        const { bytesRead } = await this.handle.read(buffers[slot]!, 0, length, this.next);
        if (bytesRead !== length)
          throw new Error(`file ended at ${this.next + bytesRead}, expected ${this.end + 1} bytes`);
        this.next += length;
        released[slot] = new Promise((resolve) => {
          destination.write(buffers[slot]!.subarray(0, length), (error) => {
            if (error) failure ??= error;
            resolve();
          });
        });
      }
      await Promise.all(released);
      if (failure) throw failure;
    } finally {
      destination.off('close', onClose);
      this.destroy();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Let reads in flight finish before closing the descriptor they use.
    Promise.allSettled(this.pending)
      .then(() => this.handle.close())
      .then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      );
  }
}
