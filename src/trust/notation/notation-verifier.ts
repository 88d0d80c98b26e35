import { digestOf, tryParseDigest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import { effectiveArtifactType, type ParsedManifest, parseManifest } from '../../oci/manifest.ts';
import type {
  ProjectTrust,
  RegistryContent,
  SignatureArtifact,
  SignatureVerifier,
  VerificationOutcome,
  VerifiedSignature,
} from '../signature-verifier.ts';
import { checkEnvelope, type SignedManifest } from './check-envelope.ts';
import { fail, NotationVerificationError, notationMediaTypes } from './envelope.ts';

/**
 * Notary Project signatures (Notation): OCI 1.1 referrers of artifact type
 * `application/vnd.cncf.notary.signature` whose one layer is a JWS or COSE envelope.
 * Verification follows the trust policy at the `strict` level, without revocation checks.
 */

/** Envelopes are a payload descriptor and a certificate chain; real ones are a few KiB. */
export const maxEnvelopeBytes = 1024 * 1024;
const envelopeMediaTypes = new Set<string>([notationMediaTypes.jws, notationMediaTypes.cose]);

function readSignatureManifest(bytes: Buffer, mediaType: string, manifestDigest: string): ParsedManifest {
  let manifest: ParsedManifest;
  try {
    manifest = parseManifest(bytes, mediaType);
  } catch (error) {
    if (error instanceof RegistryError) fail(`the signature manifest is invalid: ${error.message}`);
    throw error;
  }
  if (effectiveArtifactType(manifest) !== notationMediaTypes.signature) {
    fail('the manifest is not a Notary Project signature');
  }
  if (manifest.subject && manifest.subject.digest !== manifestDigest) {
    fail(`the signature manifest's subject is ${manifest.subject.digest}, not ${manifestDigest}`);
  }
  if (manifest.layers.length !== 1) fail('a Notary Project signature manifest must have exactly one layer');
  const layer = manifest.layers[0]!;
  if (!envelopeMediaTypes.has(layer.mediaType)) {
    fail(`unsupported signature envelope media type ${JSON.stringify(layer.mediaType)}`);
  }
  if (layer.size > maxEnvelopeBytes) fail(`the signature envelope is larger than ${maxEnvelopeBytes} bytes`);
  return manifest;
}

export class NotationVerifier implements SignatureVerifier {
  readonly format = 'notation' as const;

  recognises(candidate: SignatureArtifact): boolean {
    return candidate.via === 'referrers' && candidate.artifactType === notationMediaTypes.signature;
  }

  async verify(
    manifestDigest: string,
    signatures: SignatureArtifact[],
    trust: ProjectTrust,
    content: RegistryContent,
    now: Date,
  ): Promise<VerificationOutcome> {
    const outcome: VerificationOutcome = { verified: [], failures: [] };
    const notation = signatures.filter((signature) => this.recognises(signature));
    if (notation.length === 0) return outcome;
    const signed = await this.signedManifest(notation[0]!.repository, manifestDigest, content);
    for (const signature of notation) {
      try {
        outcome.verified.push(await this.verifyOne(signature, signed, trust, content, now));
      } catch (error) {
        if (!(error instanceof NotationVerificationError)) throw error;
        outcome.failures.push({ signatureDigest: signature.digest, reason: error.message });
      }
    }
    return outcome;
  }

  private async signedManifest(
    repository: string,
    digest: string,
    content: RegistryContent,
  ): Promise<SignedManifest> {
    const manifest = await content.manifest(repository, digest);
    return manifest ? { digest, mediaType: manifest.mediaType, size: manifest.bytes.length } : { digest };
  }

  private async verifyOne(
    signature: SignatureArtifact,
    signed: SignedManifest,
    trust: ProjectTrust,
    content: RegistryContent,
    now: Date,
  ): Promise<VerifiedSignature> {
    const stored = await content.manifest(signature.repository, signature.digest);
    if (!stored) fail('the signature manifest is missing');
    const manifest = readSignatureManifest(stored.bytes, stored.mediaType, signed.digest);
    const layer = manifest.layers[0]!;
    const envelope = await content.blob(layer.digest, maxEnvelopeBytes);
    if (!envelope) fail(`the signature envelope ${layer.digest} is missing`);
    const layerDigest = tryParseDigest(layer.digest);
    if (
      envelope.length !== layer.size ||
      !layerDigest ||
      digestOf(envelope, layerDigest.algorithm) !== layer.digest
    ) {
      fail(`the signature envelope does not match its descriptor ${layer.digest}`);
    }
    const result = await checkEnvelope(layer.mediaType, envelope, signed, trust, now);
    const verified: VerifiedSignature = {
      format: 'notation',
      signatureDigest: signature.digest,
      signer: result.signer,
      method: 'x509',
    };
    if (result.signedAt) verified.signedAt = result.signedAt.toISOString();
    return verified;
  }
}
