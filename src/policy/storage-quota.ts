import { projectOf } from '../access/registry-access.ts';
import type { Database } from '../db/database.ts';
import type { ManifestReference } from '../db/manifests.ts';
import type { StoredContent } from '../db/quotas.ts';
import { RegistryError } from '../oci/errors.ts';
import type { ParsedManifest } from '../oci/manifest.ts';

/** A push the project's storage quota refuses (OCI `DENIED`, 403). */
export class QuotaExceededError extends RegistryError {
  constructor(project: string, used: number, hard: number, needed: number) {
    super(
      'DENIED',
      `quota exceeded: project ${project} uses ${used} of ${hard} bytes, this push needs ${needed} more`,
      { detail: { project, used, hard, needed } },
    );
  }
}

/**
 * Charges what a push links into `repository` to its project's storage quota, or throws
 * QuotaExceededError. Runs in the caller's transaction, which the error must abort.
 */
export async function chargeStorage(
  db: Database,
  repository: string,
  contents: readonly StoredContent[],
  now: number,
): Promise<void> {
  const project = projectOf(repository);
  if (!project) return;
  const outcome = await db.quotas.charge(project, contents, now);
  if (!outcome.admitted) throw new QuotaExceededError(project, outcome.used, outcome.hard, outcome.needed);
}

/** Releases what a delete in `repository` left unreferenced in its project (see db/quotas.ts). */
export async function releaseStorage(
  db: Database,
  repository: string,
  digests: readonly string[],
  now: number,
  options: { keepWhileLinked?: boolean } = {},
): Promise<void> {
  const project = projectOf(repository);
  if (project) await db.quotas.release(project, digests, now, options);
}

/** What a manifest push stores for the project: the manifest and the blobs it references. */
export function manifestContents(
  digest: string,
  size: number,
  manifest: ParsedManifest,
  references: readonly ManifestReference[],
): StoredContent[] {
  const sizes = new Map<string, number>();
  for (const descriptor of [
    ...(manifest.config ? [manifest.config] : []),
    ...manifest.layers,
    ...manifest.manifests,
  ])
    sizes.set(descriptor.digest, descriptor.size);
  const blobs = references
    .filter((reference) => reference.kind === 'blob')
    .map((reference) => ({ digest: reference.child, size: sizes.get(reference.child) ?? 0 }));
  return [{ digest, size }, ...blobs];
}
