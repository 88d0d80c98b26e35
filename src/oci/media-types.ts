export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

export type ManifestKind = 'image' | 'index';

/** The manifest media types the registry stores, and whether each is a single image or an index. */
export const manifestKinds: ReadonlyMap<string, ManifestKind> = new Map([
  [mediaTypes.ociManifest, 'image'],
  [mediaTypes.dockerManifest, 'image'],
  [mediaTypes.ociIndex, 'index'],
  [mediaTypes.dockerManifestList, 'index'],
]);

/**
 * Layers that registries are not expected to hold (Windows foreign layers, OCI
 * non-distributable layers): a manifest may reference them without the blob being present.
 */
export function isNonDistributable(mediaType: string): boolean {
  return (
    mediaType.startsWith('application/vnd.docker.image.rootfs.foreign.') ||
    mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}
