import { pipeline, Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { ScanError } from './scan-error.ts';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const gzipMagic = [0x1f, 0x8b];
const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd];
const xzMagic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const bzip2Magic = [0x42, 0x5a, 0x68];

function startsWith(head: Buffer, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, index) => head[index] === byte);
}

/** Layer media types lie often enough (docker's `tar.gzip` on plain tars) that the bytes decide. */
export function detectCompression(head: Buffer, layerDigest: string): LayerCompression {
  if (startsWith(head, gzipMagic)) return 'gzip';
  if (startsWith(head, zstdMagic)) return 'zstd';
  if (startsWith(head, xzMagic) || startsWith(head, bzip2Magic)) {
    throw new ScanError(`layer ${layerDigest} uses xz or bzip2 compression, which OCI layers do not allow`);
  }
  return 'none';
}

/** Reads just enough of a stream to see its magic bytes, then hands back a stream of all of it. */
async function peek(source: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* chunks;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return {
    head: Buffer.concat(chunks).subarray(0, bytes),
    stream: Readable.from(replay(), { objectMode: false }),
  };
}

/**
 * The layer's tar bytes as a stream, decompressed as its magic bytes say. Whatever ends that
 * stream (its end, an error, the walker giving up) also releases the blob.
 */
export interface ExpansionLimits {
  /** Most tar bytes one layer may expand to. */
  maxLayerBytes: number;
  /** Most tar bytes per compressed byte, checked once `ratioGraceBytes` have come out. */
  maxExpansionRatio: number;
  ratioGraceBytes: number;
}

export const defaultExpansionLimits: ExpansionLimits = {
  maxLayerBytes: 16 * 1024 ** 3,
  maxExpansionRatio: 200,
  ratioGraceBytes: 64 * 1024 * 1024,
};

export async function openLayerTar(
  compressed: Readable,
  layerDigest: string,
  limits: ExpansionLimits = defaultExpansionLimits,
): Promise<{ tar: Readable; compression: LayerCompression }> {
  const { head, stream } = await peek(compressed, 6);
  stream.once('close', () => compressed.destroy());
  let compression: LayerCompression;
  try {
    compression = detectCompression(head, layerDigest);
  } catch (error) {
    stream.destroy();
    compressed.destroy();
    throw error;
  }
  let compressedBytes = 0;
  stream.on('data', (chunk: Buffer) => {
    compressedBytes += chunk.length;
  });
  const guard = expansionGuard(layerDigest, limits, () =>
    compression === 'none' ? undefined : compressedBytes,
  );
  const stages =
    compression === 'none' ? [] : [compression === 'gzip' ? createGunzip() : createZstdDecompress()];
  // pipeline destroys every stage when one fails; the error reaches the reader through the last.
  pipeline([stream, ...stages, guard], () => {});
  return { tar: guard, compression };
}

/** Stops a layer that expands past the limits (a decompression bomb) with a message that says so. */
function expansionGuard(
  layerDigest: string,
  limits: ExpansionLimits,
  compressedSoFar: () => number | undefined,
): Transform {
  let expanded = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      expanded += chunk.length;
      if (expanded > limits.maxLayerBytes) {
        done(new ScanError(`layer ${layerDigest} expands to more than ${limits.maxLayerBytes} bytes`));
        return;
      }
      const compressed = compressedSoFar();
      if (
        compressed !== undefined &&
        expanded > limits.ratioGraceBytes &&
        expanded > compressed * limits.maxExpansionRatio
      ) {
        done(
          new ScanError(
            `layer ${layerDigest} expands more than ${limits.maxExpansionRatio} times its compressed size: a decompression bomb?`,
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
}

/** zstd frames decoded in JS (Node 20's zlib has no zstd), one chunk at a time. */
function createZstdDecompress(): Transform {
  let output: Buffer[] = [];
  const decoder = new ZstdDecompress((chunk) => {
    // The decoder may reuse its window buffer, so each chunk is copied before it is passed on.
    output.push(Buffer.from(chunk));
  });
  const drain = (transform: Transform): void => {
    for (const chunk of output) transform.push(chunk);
    output = [];
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        decoder.push(chunk);
        drain(this);
        done();
      } catch (error) {
        done(new Error(`zstd: ${(error as Error).message}`));
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
        drain(this);
        done();
      } catch (error) {
        done(new Error(`zstd: ${(error as Error).message}`));
      }
    },
  });
}
