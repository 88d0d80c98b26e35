import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

export interface AppendOptions {
  /** Sees every chunk in order, before it is written (for hashing). */
  observe?: (chunk: Buffer) => void;
  /** Called with the file position after each write lands. */
  onWritten?: (position: number) => void;
  /** Size of each write, and of each of the reused buffers chunks are gathered into. */
  slabBytes?: number;
  /** Writes allowed in flight at once before reading more of the source. */
  maxInFlight?: number;
}

/**
 * Writes `source` into the file at `position`. The network's small chunks are copied into a
 * few reused slabs and each full slab is written with one positional write, with a couple in
 * flight, so receiving, hashing and writing overlap. Copying lets every received chunk die
 * young: holding them until their write lands made the garbage collector cost more than the
 * hashing. Memory stays at `slabBytes × (maxInFlight + 1)`, and every write has landed by the
 * time this returns or throws, so nothing can reach the file later. Returns the end position.
 */
export async function appendChunks(
  handle: FileHandle,
  position: number,
  source: AsyncIterable<Buffer>,
  options: AppendOptions = {},
): Promise<number> {
  const slabBytes = options.slabBytes ?? 1024 * 1024;
  const maxInFlight = options.maxInFlight ?? 3;
  const free: Buffer[] = Array.from({ length: maxInFlight + 1 }, () => Buffer.allocUnsafeSlow(slabBytes));
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let slab = free.pop()!;
  let filled = 0;
  let next = position;

  const writeSlab = () => {
    const full = slab;
    const length = filled;
    const at = next;
    next += length;
    const write: Promise<void> = handle.write(full, 0, length, at).then(
      ({ bytesWritten }) => {
        inFlight.delete(write);
        free.push(full);
        if (bytesWritten !== length) failure ??= new Error(`short write at ${at}`);
        else options.onWritten?.(at + length);
      },
      (error: unknown) => {
        inFlight.delete(write);
        free.push(full);
        failure ??= error;
      },
    );
    inFlight.add(write);
  };

  const takeSlab = async () => {
    while (free.length === 0) await Promise.race(inFlight);
    slab = free.pop()!;
    filled = 0;
  };

  try {
    for await (const chunk of source) {
      if (failure) break;
      options.observe?.(chunk);
      let offset = 0;
      while (offset < chunk.length) {
        const copied = chunk.copy(slab, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === slabBytes) {
          writeSlab();
          await takeSlab();
        }
      }
    }
    if (filled > 0 && !failure) writeSlab();
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure;
  return next;
}

/** Flushes a file's written data to disk through a descriptor of its own. */
export async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Background write-back of files being written: at most one flush per file runs at a time, so
 * the final fsync before a commit only has the last few megabytes left to write.
 */
export class WriteBack {
  private readonly running = new Map<string, Promise<void>>();

  start(path: string): void {
    if (this.running.has(path)) return;
    const flush = syncFile(path)
      .catch(() => {
        // The file may have been committed or removed meanwhile; the commit's own fsync decides.
      })
      .finally(() => this.running.delete(path));
    this.running.set(path, flush);
  }

  /** Waits for a running flush of `path`, if any. */
  async settle(path: string): Promise<void> {
    await this.running.get(path);
  }
}
