import { tryParseDigest } from '../../oci/digest.ts';

/** The media types and annotations Cosign writes, as cosign and sigstore-go spell them. */
export const cosign = {
  payloadMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  /** `artifactType` of a signature pushed as an OCI 1.1 referrer. */
  signatureArtifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  signatureAnnotation: 'dev.cosignproject.cosign/signature',
  certificateAnnotation: 'dev.sigstore.cosign/certificate',
  chainAnnotation: 'dev.sigstore.cosign/chain',
  bundleAnnotation: 'dev.sigstore.cosign/bundle',
  payloadType: 'cosign container image signature',
} as const;

/** Cosign's tag for the signatures of `digest` in the same repository: `sha256-<hex>.sig`. */
export function cosignSignatureTag(digest: string): string {
  const parsed = tryParseDigest(digest);
  if (!parsed) throw new Error(`${JSON.stringify(digest.slice(0, 80))} is not a digest`);
  return `${parsed.algorithm}-${parsed.hex}.sig`;
}

/** The simple-signing payload cosign signs (its `optional` part is free-form). */
export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** The payload `cosign sign` writes for `dockerReference@digest`, byte for byte in the same key order. */
export function buildSimpleSigningPayload(
  dockerReference: string,
  digest: string,
  optional: Record<string, unknown> | null = null,
): Buffer {
  const payload: SimpleSigningPayload = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': digest },
      type: cosign.payloadType,
    },
    optional,
  };
  return Buffer.from(JSON.stringify(payload));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a payload and checks that it is a cosign image signature for `manifestDigest`; returns
 * the reason it is not, or the payload. Only `critical` is trusted: `optional` is not checked.
 */
export function checkSimpleSigningPayload(
  bytes: Buffer,
  manifestDigest: string,
): { payload: SimpleSigningPayload } | { reason: string } {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { reason: 'the payload is not JSON' };
  }
  const critical = isObject(document) ? document.critical : undefined;
  if (!isObject(critical)) return { reason: 'the payload has no critical section' };
  if (critical.type !== cosign.payloadType) {
    return { reason: `the payload type is ${JSON.stringify(critical.type)}, not "${cosign.payloadType}"` };
  }
  const image = critical.image;
  const signed = isObject(image) ? image['docker-manifest-digest'] : undefined;
  if (typeof signed !== 'string') return { reason: 'the payload names no docker-manifest-digest' };
  if (signed !== manifestDigest) return { reason: `the payload signs ${signed}, not ${manifestDigest}` };
  return { payload: document as unknown as SimpleSigningPayload };
}
