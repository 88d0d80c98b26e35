import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { fail, type SignatureAlgorithm } from './envelope.ts';

/**
 * The signature algorithm follows from the signing certificate's key (signature specification,
 * "Algorithm Selection"); the envelope's `alg` must name the same one, so a signer cannot
 * substitute a weaker algorithm.
 */

const rsaAlgorithms: Record<number, SignatureAlgorithm> = { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' };
const ecAlgorithms: Record<string, SignatureAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
const hashes: Record<SignatureAlgorithm, { name: string; bytes: number }> = {
  PS256: { name: 'sha256', bytes: 32 },
  PS384: { name: 'sha384', bytes: 48 },
  PS512: { name: 'sha512', bytes: 64 },
  ES256: { name: 'sha256', bytes: 32 },
  ES384: { name: 'sha384', bytes: 48 },
  ES512: { name: 'sha512', bytes: 64 },
};
// r and s of an IEEE P1363 ECDSA signature are each as long as the curve's field.
const ecSignatureLengths: Partial<Record<SignatureAlgorithm, number>> = { ES256: 64, ES384: 96, ES512: 132 };

export function publicKeyFromSpki(spki: ArrayBuffer): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/** The algorithm the key dictates, or a failure for keys the specification does not allow. */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < 2048) fail(`the signing certificate's RSA key is ${bits} bits; at least 2048 are required`);
    const algorithm = rsaAlgorithms[bits];
    if (!algorithm) fail(`RSA keys of ${bits} bits have no Notary Project signature algorithm`);
    return algorithm;
  }
  if (key.asymmetricKeyType === 'ec') {
    const algorithm = ecAlgorithms[details.namedCurve ?? ''];
    if (!algorithm) fail(`the EC curve ${details.namedCurve ?? 'unknown'} is not supported`);
    return algorithm;
  }
  return fail(`${key.asymmetricKeyType ?? 'unknown'} keys are not supported for Notary Project signatures`);
}

/** Verifies `signature` over `data`: RSASSA-PSS with salt = hash length, or raw r||s ECDSA. */
export function verifySignature(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  data: Buffer,
  signature: Buffer,
): boolean {
  const hash = hashes[algorithm];
  if (algorithm.startsWith('PS')) {
    return verify(
      hash.name,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: hash.bytes },
      signature,
    );
  }
  if (signature.length !== ecSignatureLengths[algorithm]) return false;
  return verify(hash.name, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
}
