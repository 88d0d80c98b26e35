import type { ProjectTrust } from '../signature-verifier.ts';
import {
  checkChainStructure,
  checkValidityAt,
  findTrustStore,
  parseCertificateChain,
} from './certificate-chain.ts';
import { parseCoseEnvelope } from './cose-envelope.ts';
import { checkSignedAttributes, fail, type NotationEnvelope, notationMediaTypes } from './envelope.ts';
import { parseJwsEnvelope } from './jws-envelope.ts';
import { algorithmForKey, publicKeyFromSpki, verifySignature } from './signature-algorithm.ts';
import { matchTrustedIdentity } from './trusted-identity.ts';

/** The manifest a signature must name; size and media type when the registry has it. */
export interface SignedManifest {
  digest: string;
  mediaType?: string;
  size?: number;
}

export interface EnvelopeCheck {
  /** The signing certificate's subject DN. */
  signer: string;
  /** The authentic signing time when the scheme has one, else the signer's own claim. */
  signedAt?: Date;
  trustStore: string;
}

export function parseEnvelope(mediaType: string, bytes: Buffer): NotationEnvelope {
  if (mediaType === notationMediaTypes.jws) return parseJwsEnvelope(bytes);
  if (mediaType === notationMediaTypes.cose) return parseCoseEnvelope(bytes);
  return fail(`unsupported signature envelope media type ${JSON.stringify(mediaType)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The payload is read only after the signature over it verified (signature specification). */
function checkPayload(payload: Buffer, signed: SignedManifest): void {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    fail('the signed payload is not JSON');
  }
  const target = isObject(document) ? document.targetArtifact : undefined;
  if (!isObject(target)) fail('the signed payload has no targetArtifact');
  const { digest, mediaType, size } = target;
  if (typeof digest !== 'string' || typeof mediaType !== 'string' || typeof size !== 'number') {
    fail('the signed targetArtifact needs digest, mediaType and size');
  }
  if (digest !== signed.digest) fail(`the signature is for ${digest}, not ${signed.digest}`);
  if (signed.size !== undefined && size !== signed.size) {
    fail(`the signature names a manifest of ${size} bytes; ${signed.digest} has ${signed.size}`);
  }
  if (signed.mediaType !== undefined && mediaType !== signed.mediaType) {
    fail(`the signature names media type ${mediaType}; ${signed.digest} is ${signed.mediaType}`);
  }
}

/**
 * Verifies one envelope as Notation's `strict` level does: integrity (envelope, algorithm,
 * signature, payload), authenticity (chain, trust store, trusted identity), the validity of
 * the chain at signing time and now (or at the authentic signing time), and expiry.
 * Revocation (OCSP, CRL) is not checked; an RFC 3161 countersignature is not used, so the
 * chain must still be valid now, which is the stricter reading.
 */
export async function checkEnvelope(
  mediaType: string,
  bytes: Buffer,
  signed: SignedManifest,
  trust: ProjectTrust,
  now: Date,
): Promise<EnvelopeCheck> {
  const envelope = parseEnvelope(mediaType, bytes);
  const attributes = envelope.signedAttributes;
  const scheme = checkSignedAttributes(attributes);
  const chain = parseCertificateChain(envelope.certificateChain);
  const leaf = chain[0]!;
  const key = publicKeyFromSpki(leaf.publicKey.rawData);
  const keyAlgorithm = algorithmForKey(key);
  if (keyAlgorithm !== envelope.algorithm) {
    fail(`the envelope says ${envelope.algorithm} but the signing key requires ${keyAlgorithm}`);
  }
  if (!verifySignature(envelope.algorithm, key, envelope.signingInput, envelope.signature)) {
    fail('the signature does not verify with the signing certificate');
  }
  checkPayload(envelope.payload, signed);

  await checkChainStructure(chain);
  const trustStore = findTrustStore(chain, trust.notationTrustStores);
  if (!trustStore)
    fail(`the certificate chain of ${leaf.subject} leads to no certificate in the project's trust stores`);
  const identity = matchTrustedIdentity(leaf, trust.notationTrustedIdentities);
  if (!identity.matched) fail(identity.reason);

  if (attributes.expiry && now >= attributes.expiry) {
    fail(`the signature expired at ${attributes.expiry.toISOString()}`);
  }
  if (scheme === 'notary.x509.signingAuthority') {
    checkValidityAt(chain, attributes.authenticSigningTime!, 'the authentic signing time');
  } else {
    checkValidityAt(chain, attributes.signingTime!, 'signing time');
  }
  // Notation accepts an expired chain under signingAuthority only with a trust store typed for
  // it; Berth's trust stores have no types, so every chain must also be valid now. Otherwise a
  // key leaked from an expired certificate could sign with a back-dated authentic time.
  checkValidityAt(chain, now, 'verification time');
  const check: EnvelopeCheck = { signer: leaf.subject, trustStore };
  const signedAt = attributes.authenticSigningTime ?? attributes.signingTime;
  if (signedAt) check.signedAt = signedAt;
  return check;
}
