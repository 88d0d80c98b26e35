import type { Hash } from 'node:crypto';
import { createDigester } from '../oci/digest.ts';
import { UploadNotFoundError, UploadOffsetError, type UploadStore } from '../storage/blob-store.ts';

interface Entry {
  hash: Hash;
  offset: number;
}

/**
 * The running sha256 of each upload this process is writing, so a chunked push is hashed once,
 * as it arrives. An entry is trusted only when its offset matches the upload's acknowledged
 * size; otherwise (after a restart, on another node, or after a failed write) the hash is
 * rebuilt by reading back the bytes already stored.
 */
export class UploadHashes {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly uploads: Pick<UploadStore, 'readUpload' | 'uploadSize'>) {}

  /** The hash of the upload's first `offset` bytes; takes the entry out until `keep` is called. */
  async at(id: string, offset: number): Promise<Hash> {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    if (entry && entry.offset === offset) return entry.hash;
    const stored = await this.uploads.uploadSize(id);
    if (stored === undefined) {
      if (offset === 0) return createDigester('sha256');
      throw new UploadNotFoundError(id);
    }
    if (stored < offset) throw new UploadOffsetError(id, stored);
    const hash = createDigester('sha256');
    for await (const chunk of this.uploads.readUpload(id, offset)) hash.update(chunk as Buffer);
    return hash;
  }

  /** Remembers `hash` as covering exactly `offset` bytes of the upload. */
  keep(id: string, hash: Hash, offset: number): void {
    this.entries.set(id, { hash, offset });
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
