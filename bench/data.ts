import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Body } from './client.ts';

export const MiB = 1024 * 1024;

/** Blob content with its digest, computed before anything is timed. */
export interface Blob {
  bytes: Buffer;
  digest: string;
}

function digestOf(chunks: Iterable<Buffer>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * A large random buffer of which each push sends a variant: the first 8 bytes carry a counter, so
 * every push is a new blob (no registry can skip storing content it already has).
 */
export class LargeBlob {
  private readonly bytes: Buffer;
  private variants = 0;

  constructor(size: number) {
    this.bytes = randomBytes(size);
  }

  get size(): number {
    return this.bytes.length;
  }

  /** The next variant. It shares memory with the others: use it before asking for another. */
  next(): Blob {
    this.bytes.writeBigUInt64BE(BigInt(++this.variants), 0);
    return { bytes: this.bytes, digest: digestOf([this.bytes]) };
  }
}

/** `count` random blobs of `min`–`max` bytes each. */
export function smallBlobs(count: number, min: number, max: number): Blob[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(randomInt(min, max + 1));
    return { bytes, digest: digestOf([bytes]) };
  });
}

/**
 * A blob of `size` bytes (a multiple of 1 MiB) that never exists in memory at once: 1 MiB chunks
 * of one random block, each stamped with its index. Returns the streamed body and its digest.
 */
export function generatedBlob(size: number): { body: Body; digest: string } {
  const block = randomBytes(MiB);
  const chunks = function* () {
    for (let index = 0; index < size / MiB; index++) {
      const chunk = Buffer.from(block);
      chunk.writeUInt32BE(index, 0);
      yield chunk;
    }
  };
  return { body: { length: size, chunks }, digest: digestOf(chunks()) };
}
