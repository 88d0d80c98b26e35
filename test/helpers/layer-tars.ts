import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import type { Digest } from '../../src/oci/digest.ts';
import type { Descriptor } from '../../src/oci/manifest.ts';

export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** A tar archive built in memory with tar-stream, the way an image builder writes a layer. */
export async function tarOf(entries: readonly TarEntrySpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const header = {
      name: entry.name,
      type,
      ...(entry.linkname ? { linkname: entry.linkname } : {}),
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    };
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
      pack.entry(header, type === 'file' ? (entry.content ?? '') : '', callback);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Layers held in memory by digest, opened as streams the way the blob store would. */
export class MemoryBlobs {
  readonly #blobs = new Map<string, Buffer>();

  add(bytes: Buffer, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'): Descriptor {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    this.#blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  async addGzippedTar(entries: readonly TarEntrySpec[]): Promise<Descriptor> {
    return this.add(gzipSync(await tarOf(entries)));
  }

  readonly open = (digest: string): Readable => {
    const bytes = this.#blobs.get(digest);
    if (!bytes) throw new Error(`no blob ${digest}`);
    // Small chunks so the parsers meet entries split across reads.
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 1000)
      chunks.push(bytes.subarray(offset, offset + 1000));
    return Readable.from(chunks);
  };
}
