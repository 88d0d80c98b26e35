import { join } from 'node:path';
import type { Digest, DigestAlgorithm } from '../../oci/digest.ts';
import { tryParseDigest } from '../../oci/digest.ts';

/**
 * On-disk layout of the filesystem blob store, the one place it is written down:
 *
 *   <root>/blobs/<algorithm>/<first two hex digits>/<hex>
 *       committed content, named by its digest, written once and never modified; one copy
 *       however many repositories link it (links live in the database)
 *   <root>/uploads/<id>
 *       bytes of an upload in progress, or of a small write being staged; ids are UUIDs or
 *       other [A-Za-z0-9-] tokens, never client-chosen paths. A commit fsyncs the file, renames it
 *       into blobs/ (atomic on one filesystem) and fsyncs the directory, so a blob is either
 *       absent or complete.
 *
 * Digests are validated (fixed alphabet and length) before they become paths, and upload ids
 * are checked against `uploadIdPattern`, so nothing can name a path outside the root.
 */

export const uploadIdPattern = /^[A-Za-z0-9-]{1,64}$/;

export class FilesystemLayout {
  readonly blobsDir: string;
  readonly uploadsDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
  }

  blobDir(algorithm: DigestAlgorithm, hex: string): string {
    return join(this.blobsDir, algorithm, hex.slice(0, 2));
  }

  blobPath(digest: Digest): string {
    const parsed = tryParseDigest(digest);
    if (!parsed) throw new Error(`not a digest: ${digest}`);
    return join(this.blobDir(parsed.algorithm, parsed.hex), parsed.hex);
  }

  uploadPath(id: string): string {
    if (!uploadIdPattern.test(id)) throw new Error(`not an upload id: ${id}`);
    return join(this.uploadsDir, id);
  }
}
