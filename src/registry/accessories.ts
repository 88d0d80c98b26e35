/**
 * Accessories: the signatures, attestations and SBOMs stored next to the artifact they describe,
 * found as OCI 1.1 referrers (a `subject`) or by Cosign's tag scheme (`sha256-<hex>.sig`, `.att`,
 * `.sbom`). Classification is by content, never by name alone: a runnable image carrying a
 * `subject` or tagged `sha256-….sig` is not an accessory, so it cannot slip past pull policies.
 */
import type { ParsedManifest } from '../oci/manifest.ts';
import { mediaTypes } from '../oci/media-types.ts';

/** Harbor's accessory types (`accessory.model` in Harbor's source), as its API reports them. */
export type AccessoryType = 'signature.cosign' | 'signature.notation' | 'harbor.sbom' | 'subject.accessory';

export const cosignSignatureArtifactType = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const notationSignatureArtifactType = 'application/vnd.cncf.notary.signature';
const harborSbomArtifactType = 'application/vnd.goharbor.harbor.sbom.v1';

/** Layer (or artifact) media types that only ever carry signatures, attestations or SBOMs. */
const accessoryContentTypes: ReadonlySet<string> = new Set([
  'application/vnd.dev.cosign.simplesigning.v1+json',
  cosignSignatureArtifactType,
  'application/vnd.dsse.envelope.v1+json',
  'application/vnd.in-toto+json',
  notationSignatureArtifactType,
  'application/jose+json',
  'application/cose',
  harborSbomArtifactType,
  'application/spdx+json',
  'text/spdx',
  'text/spdx+json',
  'text/spdx+xml',
  'application/vnd.cyclonedx',
  'application/vnd.cyclonedx+json',
  'application/vnd.cyclonedx+xml',
  'application/vnd.syft+json',
  mediaTypes.ociEmpty,
]);

/** Cosign's tag for an accessory of `digest`: `sha256-<hex>.sig` (or `.att`, `.sbom`). */
export function cosignTag(digest: string, suffix: 'sig' | 'att' | 'sbom'): string {
  return `${digest.replace(':', '-')}.${suffix}`;
}

const cosignTagPattern = /^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})\.(sig|att|sbom)$/;

/** The digest a Cosign scheme tag names and its kind, or undefined for any other tag. */
export function cosignTagSubject(tag: string): { digest: string; suffix: string } | undefined {
  const match = cosignTagPattern.exec(tag);
  return match ? { digest: `${match[1]}:${match[2]}`, suffix: match[3]! } : undefined;
}

/**
 * Whether the manifest is accessory content: an image manifest (not an index) with at least one
 * layer, every layer of a media type that only signatures, attestations or SBOMs use (compared
 * without case, as pullers compare them). Content trust never applies to these, so signature
 * tools can always fetch them; nothing a container runtime would unpack can pass as one, whatever
 * its artifactType says.
 */
export function isAccessoryContent(manifest: ParsedManifest): boolean {
  if (manifest.kind !== 'image' || manifest.layers.length === 0) return false;
  return manifest.layers.every((layer) => accessoryContentTypes.has(layer.mediaType.toLowerCase()));
}

/** Harbor's type for an accessory, by its artifact type, its layers, and the Cosign tag it has (if any). */
export function accessoryType(
  artifactType: string | null | undefined,
  layerMediaTypes: readonly string[],
  cosignTagSuffix?: string,
): AccessoryType {
  if (artifactType === notationSignatureArtifactType) return 'signature.notation';
  if (artifactType === harborSbomArtifactType) return 'harbor.sbom';
  if (
    artifactType === cosignSignatureArtifactType ||
    cosignTagSuffix === 'sig' ||
    (cosignTagSuffix === undefined &&
      layerMediaTypes.includes('application/vnd.dev.cosign.simplesigning.v1+json'))
  ) {
    return 'signature.cosign';
  }
  return 'subject.accessory';
}
