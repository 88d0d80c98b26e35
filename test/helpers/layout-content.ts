import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryContent } from '../../src/trust/signature-verifier.ts';

/**
 * The content of OCI image layouts on disk as a verifier reads registry content: manifests and
 * blobs by digest from each layout's `blobs/` directory, the first layout holding it winning.
 * For unit tests of verifiers; integration tests read through a running Berth instead.
 */
export function layoutContent(layouts: string[]): RegistryContent {
  const find = async (digest: string): Promise<Buffer | undefined> => {
    const [algorithm, hex] = digest.split(':');
    if (!algorithm || !hex || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex)) return undefined;
    for (const layout of layouts) {
      const path = join(layout, 'blobs', algorithm, hex);
      if (existsSync(path)) return readFile(path);
    }
    return undefined;
  };
  return {
    async manifest(_repository, digest) {
      const bytes = await find(digest);
      if (!bytes) return undefined;
      const { mediaType } = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
      return { bytes, mediaType: mediaType ?? 'application/vnd.oci.image.manifest.v1+json' };
    },
    async blob(digest, maxBytes) {
      const bytes = await find(digest);
      return bytes && bytes.length <= maxBytes ? bytes : undefined;
    },
  };
}
