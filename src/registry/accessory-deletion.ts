import type { Database } from '../db/database.ts';
import { AcceptList } from '../oci/content-negotiation.ts';
import { RegistryError } from '../oci/errors.ts';
import { parseManifest } from '../oci/manifest.ts';
import { parseReference, type Reference } from '../oci/reference.ts';
import { cosignTag, isAccessoryContent } from './accessories.ts';

const anyType = new AcceptList(undefined);
const maxAccessories = 1000;

/** The part of the manifest service deletion needs (it calls back in, for accessories of accessories). */
interface ManifestStore {
  get(
    repository: string,
    reference: Reference,
    accept: AcceptList,
  ): Promise<{ bytes: Buffer; mediaType: string }>;
  delete(repository: string, reference: Reference): Promise<void>;
}

/**
 * Deletes what accompanied a deleted manifest: its referrers, and the manifests Cosign's tag
 * scheme attached to it when they hold accessory content only (a runnable image that merely
 * carries such a tag is left alone). Each deletion cascades in turn, through `manifests.delete`.
 */
export async function deleteAccessories(
  manifests: ManifestStore,
  db: Database,
  repository: string,
  digest: string,
): Promise<void> {
  const referrers = await db.manifests.findReferrers(repository, digest, { limit: maxAccessories });
  const targets = referrers.map((row) => row.digest);
  for (const suffix of ['sig', 'att', 'sbom'] as const) {
    const tagged = await db.manifests.findByTag(repository, cosignTag(digest, suffix));
    if (!tagged || targets.includes(tagged.digest)) continue;
    const stored = await manifests
      .get(repository, parseReference(tagged.digest), anyType)
      .catch(() => undefined);
    if (stored && isAccessoryContent(parseManifest(stored.bytes, stored.mediaType)))
      targets.push(tagged.digest);
  }
  for (const target of targets) {
    try {
      await manifests.delete(repository, parseReference(target));
    } catch (error) {
      // Deleted meanwhile by someone else: the outcome asked for holds.
      if (!(error instanceof RegistryError && error.code === 'MANIFEST_UNKNOWN')) throw error;
    }
  }
  await db.trustPolicies.forgetVerifications(repository, digest);
}
