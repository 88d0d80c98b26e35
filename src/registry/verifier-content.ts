import { readAll } from '../lib/streams.ts';
import { AcceptList } from '../oci/content-negotiation.ts';
import { tryParseDigest } from '../oci/digest.ts';
import { RegistryError } from '../oci/errors.ts';
import { parseReference } from '../oci/reference.ts';
import type { BlobReader } from '../storage/blob-store.ts';
import type { RegistryContent } from '../trust/signature-verifier.ts';
import type { ManifestService } from './manifest-service.ts';

const anyType = new AcceptList(undefined);

/** The registry's content as signature verifiers read it: manifests of a repository, blobs by digest. */
export class VerifierContent implements RegistryContent {
  constructor(
    private readonly manifests: ManifestService,
    private readonly store: BlobReader,
  ) {}

  async manifest(
    repository: string,
    digest: string,
  ): Promise<{ bytes: Buffer; mediaType: string } | undefined> {
    if (!tryParseDigest(digest)) return undefined;
    try {
      const found = await this.manifests.get(repository, parseReference(digest), anyType);
      return { bytes: found.bytes, mediaType: found.mediaType };
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'MANIFEST_UNKNOWN') return undefined;
      throw error;
    }
  }

  /** The blob, or undefined when it is absent or larger than `maxBytes`. */
  async blob(digest: string, maxBytes: number): Promise<Buffer | undefined> {
    const parsed = tryParseDigest(digest);
    if (!parsed) return undefined;
    try {
      return await readAll(await this.store.read(parsed.digest), maxBytes);
    } catch {
      return undefined;
    }
  }
}
