import type { KeyObject } from 'node:crypto';
import { digestOf } from '../../oci/digest.ts';
import { type Descriptor, parseManifest } from '../../oci/manifest.ts';
import { manifestKinds } from '../../oci/media-types.ts';
import type {
  ProjectTrust,
  RegistryContent,
  SignatureArtifact,
  SignatureVerifier,
  VerificationOutcome,
  VerifiedSignature,
} from '../signature-verifier.ts';
import { readPublicKey, verifyPayloadSignature } from './key-signature.ts';
import { type SigstoreTrustedRoot, verifyKeyless } from './keyless-signature.ts';
import { checkSimpleSigningPayload, cosign } from './simple-signing.ts';

export interface CosignVerifierOptions {
  /** The Sigstore trusted root for keyless signatures; without it they are never trusted. */
  trustedRoot?: SigstoreTrustedRoot;
  /** Largest simple-signing payload read (cosign's are a few hundred bytes). */
  maxPayloadBytes?: number;
}

type LayerResult = { verified: Omit<VerifiedSignature, 'signatureDigest'> } | { reason: string };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Cosign signatures: image manifests whose layers are simple-signing payloads, found under the
 * `sha256-<hex>.sig` tag or as OCI 1.1 referrers of artifact type `…cosign.artifact.sig.v1+json`.
 * Each layer is one signature; it counts when its payload names this manifest digest and its
 * signature verifies with a trusted key, or (keyless) chains to the trusted root and names a
 * trusted identity.
 */
export class CosignVerifier implements SignatureVerifier {
  readonly format = 'cosign' as const;
  private readonly trustedRoot: SigstoreTrustedRoot | undefined;
  private readonly maxPayloadBytes: number;
  private readonly keys = new Map<string, KeyObject | Error>();

  constructor(options: CosignVerifierOptions = {}) {
    this.trustedRoot = options.trustedRoot;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024;
  }

  recognises(candidate: SignatureArtifact): boolean {
    if (candidate.via === 'referrers') return candidate.artifactType === cosign.signatureArtifactType;
    // The tag names the signature; the manifest behind it must be an image manifest to hold layers.
    return manifestKinds.get(candidate.mediaType) === 'image';
  }

  async verify(
    manifestDigest: string,
    signatures: SignatureArtifact[],
    trust: ProjectTrust,
    content: RegistryContent,
    _now: Date,
  ): Promise<VerificationOutcome> {
    const outcome: VerificationOutcome = { verified: [], failures: [] };
    const seen = new Set<string>();
    for (const artifact of signatures) {
      if (seen.has(artifact.digest) || !this.recognises(artifact)) continue;
      seen.add(artifact.digest);
      let layers: Descriptor[];
      try {
        layers = await this.signatureLayers(artifact, content);
      } catch (error) {
        outcome.failures.push({ signatureDigest: artifact.digest, reason: errorText(error) });
        continue;
      }
      for (const [index, layer] of layers.entries()) {
        const result = await this.verifyLayer(manifestDigest, layer, trust, content);
        if ('verified' in result) {
          outcome.verified.push({ ...result.verified, signatureDigest: artifact.digest });
        } else {
          const where = layers.length > 1 ? `signature ${index + 1} of ${layers.length}: ` : '';
          outcome.failures.push({ signatureDigest: artifact.digest, reason: `${where}${result.reason}` });
        }
      }
    }
    return outcome;
  }

  private async signatureLayers(
    artifact: SignatureArtifact,
    content: RegistryContent,
  ): Promise<Descriptor[]> {
    const stored = await content.manifest(artifact.repository, artifact.digest);
    if (!stored) throw new Error(`signature manifest ${artifact.digest} is missing`);
    const manifest = parseManifest(stored.bytes, stored.mediaType);
    const layers = manifest.layers.filter((layer) => layer.mediaType === cosign.payloadMediaType);
    if (layers.length === 0) throw new Error('the signature manifest has no simple-signing layer');
    return layers;
  }

  private async verifyLayer(
    manifestDigest: string,
    layer: Descriptor,
    trust: ProjectTrust,
    content: RegistryContent,
  ): Promise<LayerResult> {
    const encoded = layer.annotations?.[cosign.signatureAnnotation];
    if (!encoded) return { reason: `the layer has no ${cosign.signatureAnnotation} annotation` };
    const signature = Buffer.from(encoded, 'base64');
    if (layer.size > this.maxPayloadBytes)
      return { reason: `the payload is ${layer.size} bytes, over ${this.maxPayloadBytes}` };
    const payload = await content.blob(layer.digest, this.maxPayloadBytes);
    if (!payload) return { reason: `the payload blob ${layer.digest} is missing` };
    if (digestOf(payload, layer.digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== layer.digest)
      return { reason: `the payload blob does not match its digest ${layer.digest}` };
    const checked = checkSimpleSigningPayload(payload, manifestDigest);
    if ('reason' in checked) return checked;

    for (const { name, pem } of trust.cosignKeys) {
      const key = this.publicKey(pem);
      if (key instanceof Error) continue;
      if (safeVerify(key, payload, signature))
        return { verified: { format: 'cosign', signer: name, method: 'key' } };
    }
    const certificatePem = layer.annotations?.[cosign.certificateAnnotation];
    if (certificatePem && trust.keylessIdentities.length > 0) {
      if (!this.trustedRoot)
        return { reason: 'keyless signature, but no Sigstore trusted root is configured' };
      const keyless = verifyKeyless(
        { payload, signature, certificatePem, rekorBundle: layer.annotations?.[cosign.bundleAnnotation] },
        this.trustedRoot,
        trust.keylessIdentities,
      );
      if ('reason' in keyless) return keyless;
      return {
        verified: {
          format: 'cosign',
          signer: `${keyless.identity.subject} (${keyless.identity.issuer})`,
          signedAt: keyless.signedAt,
          method: 'keyless',
        },
      };
    }
    if (trust.cosignKeys.length === 0)
      return { reason: certificatePem ? 'no trusted keyless identity' : 'the project trusts no cosign key' };
    return { reason: `the signature verifies with none of the ${trust.cosignKeys.length} trusted keys` };
  }

  /** Public keys parsed once per PEM; a PEM that does not parse never verifies anything. */
  private publicKey(pem: string): KeyObject | Error {
    let key = this.keys.get(pem);
    if (!key) {
      try {
        key = readPublicKey(pem).key;
      } catch (error) {
        key = error instanceof Error ? error : new Error(String(error));
      }
      if (this.keys.size > 1000) this.keys.clear();
      this.keys.set(pem, key);
    }
    return key;
  }
}

function safeVerify(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    return verifyPayloadSignature(key, payload, signature);
  } catch {
    return false;
  }
}
