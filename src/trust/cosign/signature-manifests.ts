import { digestOf } from '../../oci/digest.ts';
import type { Descriptor } from '../../oci/manifest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { cosign } from './simple-signing.ts';

export interface SignatureLayer {
  payload: Buffer;
  /** base64, as the annotation carries it */
  signature: string;
  /** Further annotations (certificate, chain, bundle) for keyless signatures. */
  annotations?: Record<string, string>;
}

export interface BuiltManifest {
  bytes: Buffer;
  mediaType: string;
  /** Blobs the manifest references, to push before it. */
  blobs: Buffer[];
}

export function signatureLayerDescriptor(layer: SignatureLayer): Descriptor {
  return {
    mediaType: cosign.payloadMediaType,
    digest: digestOf(layer.payload),
    size: layer.payload.length,
    annotations: { [cosign.signatureAnnotation]: layer.signature, ...layer.annotations },
  };
}

function sameSignature(a: Descriptor, b: Descriptor): boolean {
  return (
    a.digest === b.digest &&
    a.annotations?.[cosign.signatureAnnotation] === b.annotations?.[cosign.signatureAnnotation]
  );
}

/**
 * The two manifests cosign pushes for a signature: under the `sha256-<hex>.sig` tag an image
 * manifest whose config lists the payloads as rootfs layers (every signature of the image is a
 * layer of it: `earlier` are those already there, and the same signature is not added twice); and an OCI 1.1 referrer with the
 * signature artifact type, the empty config and the signed manifest as `subject`.
 */
export function cosignSignatureManifests(
  earlier: Descriptor[],
  signature: SignatureLayer,
  subject: Descriptor,
  created: Date,
): { tag: BuiltManifest; referrer: BuiltManifest } {
  const newest = signatureLayerDescriptor(signature);
  const layers = [...earlier.filter((layer) => !sameSignature(layer, newest)), newest];
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
  );
  const tag = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, size: config.length, digest: digestOf(config) },
      layers,
    }),
  );
  const empty = Buffer.from('{}');
  const referrer = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: cosign.signatureArtifactType,
      config: { mediaType: mediaTypes.ociEmpty, size: empty.length, digest: digestOf(empty) },
      layers: [newest],
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
      annotations: { 'org.opencontainers.image.created': created.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    }),
  );
  return {
    tag: { bytes: tag, mediaType: mediaTypes.ociManifest, blobs: [config, signature.payload] },
    referrer: { bytes: referrer, mediaType: mediaTypes.ociManifest, blobs: [empty, signature.payload] },
  };
}
