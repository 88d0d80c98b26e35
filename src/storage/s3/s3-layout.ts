import type { Digest } from '../../oci/digest.ts';
import { tryParseDigest } from '../../oci/digest.ts';
import { uploadIdPattern } from '../filesystem/layout.ts';

/**
 * Object keys of the S3 blob store, the one place they are written down (all under `prefix`):
 *
 *   blobs/<algorithm>/<first two hex digits>/<hex>
 *       committed content, written once (a single PUT, or the completion of a multipart upload,
 *       both atomic), so a key is either absent or the whole blob
 *   uploads/<id>/part-<n>
 *       full parts of an upload in progress, exactly `partSize` bytes each, n from 0
 *   uploads/<id>/tail
 *       the bytes after the last full part; its metadata counts the valid parts. Rewriting it is
 *       what makes an append count: parts numbered past that count are leftovers of an append
 *       that failed, overwritten or deleted later.
 */
export class S3Layout {
  readonly blobsPrefix: string;
  readonly uploadsPrefix: string;

  constructor(readonly prefix: string) {
    const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.blobsPrefix = `${base}blobs/`;
    this.uploadsPrefix = `${base}uploads/`;
  }

  blobKey(digest: Digest): string {
    const parsed = tryParseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return `${this.blobsPrefix}${parsed.algorithm}/${parsed.hex.slice(0, 2)}/${parsed.hex}`;
  }

  /** The digest a key under `blobs/` names, if it is well formed. */
  digestOfKey(key: string): Digest | undefined {
    const match = /^([a-z0-9]+)\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(key.slice(this.blobsPrefix.length));
    if (!match || !key.startsWith(this.blobsPrefix) || !match[3]!.startsWith(match[2]!)) return undefined;
    return tryParseDigest(`${match[1]}:${match[3]}`)?.digest;
  }

  uploadPrefix(id: string): string {
    if (!uploadIdPattern.test(id)) throw new Error(`not an upload id: ${id}`);
    return `${this.uploadsPrefix}${id}/`;
  }

  partKey(id: string, part: number): string {
    return `${this.uploadPrefix(id)}part-${String(part).padStart(6, '0')}`;
  }

  tailKey(id: string): string {
    return `${this.uploadPrefix(id)}tail`;
  }

  /** The upload id a key under `uploads/` belongs to. */
  uploadIdOfKey(key: string): string | undefined {
    const id = key.slice(this.uploadsPrefix.length).split('/')[0];
    return id && uploadIdPattern.test(id) && key.startsWith(this.uploadsPrefix) ? id : undefined;
  }
}
