import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every committed blob file under a filesystem store root, with whether its bytes match its name. */
export async function auditBlobFiles(storageRoot: string): Promise<{ digest: string; intact: boolean }[]> {
  const results: { digest: string; intact: boolean }[] = [];
  const blobsDir = join(storageRoot, 'blobs');
  for (const algorithm of await readdir(blobsDir).catch(() => [])) {
    for (const prefix of await readdir(join(blobsDir, algorithm))) {
      for (const hex of await readdir(join(blobsDir, algorithm, prefix))) {
        const hash = createHash(algorithm);
        for await (const chunk of createReadStream(join(blobsDir, algorithm, prefix, hex)))
          hash.update(chunk as Buffer);
        results.push({ digest: `${algorithm}:${hex}`, intact: hash.digest('hex') === hex });
      }
    }
  }
  return results;
}
