import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
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
export async function openLayerTar(
  compressed: Readable,
  layerDigest: string,
): Promise<{ tar: Readable; compression: LayerCompression }> {
  const { head, stream } = await peek(compressed, 6);
  stream.once('close', () => compressed.destroy());
  let compression: LayerCompression;
  try {
    compression = detectCompression(head, layerDigest);
    if (compression === 'zstd') {
      throw new ScanError(
        `layer ${layerDigest} is zstd-compressed; this Berth build (Node ${process.version}) cannot read zstd layers yet`,
      );
    }
  } catch (error) {
    stream.destroy();
    compressed.destroy();
    throw error;
  }
  if (compression === 'none') return { tar: stream, compression };
  const gunzip = createGunzip();
  // pipeline destroys every stage when one fails; the error reaches the reader through gunzip.
  pipeline(stream, gunzip, () => {});
  return { tar: gunzip, compression };
}
