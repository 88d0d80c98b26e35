import type { FileHandle } from 'node:fs/promises';

export interface AppendOptions {
  /** Sees every chunk in order, before it is written (for hashing). */
  observe?: (chunk: Buffer) => void;
  /** Called with the file position after each write lands. */
  onWritten?: (position: number) => void;
  /** Chunks are gathered into writes of about this many bytes. */
  batchBytes?: number;
  /** Writes allowed in flight at once before reading more of the source. */
  maxInFlight?: number;
}

/**
 * Writes `source` into the file at `position`, gathering the network's small chunks into large
 * positional `writev` calls with a couple in flight, so receiving, hashing and writing overlap.
 * Memory stays bounded (about `batchBytes × (maxInFlight + 1)`), and every write has landed by
 * the time this returns or throws, so nothing can reach the file later. Returns the end position.
 */
export async function appendChunks(
  handle: FileHandle,
  position: number,
  source: AsyncIterable<Buffer>,
  options: AppendOptions = {},
): Promise<number> {
  const batchBytes = options.batchBytes ?? 1024 * 1024;
  const maxInFlight = options.maxInFlight ?? 3;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let batch: Buffer[] = [];
  let batchSize = 0;
  let next = position;

  const flush = () => {
    const chunks = batch;
    const length = batchSize;
    const at = next;
    next += length;
    batch = [];
    batchSize = 0;
    const write: Promise<void> = writeAll(handle, chunks, length, at).then(
      () => {
        inFlight.delete(write);
        options.onWritten?.(at + length);
      },
      (error: unknown) => {
        inFlight.delete(write);
        failure ??= error;
      },
    );
    inFlight.add(write);
  };

  try {
    for await (const chunk of source) {
      if (failure) break;
      options.observe?.(chunk);
      batch.push(chunk);
      batchSize += chunk.length;
      if (batchSize >= batchBytes) {
        flush();
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
    }
    if (batchSize > 0 && !failure) flush();
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure;
  return next;
}

/**
 * Writes all of `chunks` at `position`. A short write (the file size limit, a full disk) is
 * retried for the rest, so the error that stopped it surfaces with its own code.
 */
async function writeAll(
  handle: FileHandle,
  chunks: Buffer[],
  length: number,
  position: number,
): Promise<void> {
  let written = (await handle.writev(chunks, position)).bytesWritten;
  while (written < length) {
    const rest = Buffer.concat(chunks).subarray(written);
    const { bytesWritten } = await handle.write(rest, 0, rest.length, position + written);
    if (bytesWritten === 0)
      throw Object.assign(new Error(`no space to write at ${position + written}`), { code: 'ENOSPC' });
    written += bytesWritten;
  }
}
