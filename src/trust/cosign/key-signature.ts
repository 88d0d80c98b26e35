import { constants, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** Key types cosign signs with; others (DSA, X25519, …) are refused rather than guessed at. */
export type CosignKeyType = 'ecdsa-p256' | 'rsa' | 'ed25519';

function keyType(key: KeyObject): CosignKeyType {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa' || type === 'rsa-pss') return 'rsa';
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new Error(
    `unsupported key type ${type}${curve ? ` (${curve})` : ''}: use ECDSA P-256, RSA or Ed25519`,
  );
}

/** Parses a PEM public key (SPKI) or the public half of a certificate. Throws on anything else. */
export function readPublicKey(pem: string): { key: KeyObject; type: CosignKeyType } {
  const key = createPublicKey(pem);
  return { key, type: keyType(key) };
}

/**
 * Checks `signature` over `payload` as cosign makes it: ECDSA with SHA-256 and an ASN.1 DER
 * signature, RSA with SHA-256 (PKCS#1 v1.5, or PSS as some KMS keys sign), Ed25519 over the
 * payload itself.
 */
export function verifyPayloadSignature(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  switch (keyType(key)) {
    case 'ed25519':
      return verify(null, payload, key, signature);
    case 'ecdsa-p256':
      return verify('sha256', payload, { key, dsaEncoding: 'der' }, signature);
    case 'rsa':
      return (
        verify('sha256', payload, { key, padding: constants.RSA_PKCS1_PADDING }, signature) ||
        verify(
          'sha256',
          payload,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
          signature,
        )
      );
  }
}

/** Parses a PEM private key (PKCS#8, or PKCS#1/SEC1), decrypting it with `passphrase` if given. */
export function readPrivateKey(pem: string, passphrase?: string): { key: KeyObject; type: CosignKeyType } {
  const key = createPrivateKey(passphrase === undefined ? pem : { key: pem, passphrase });
  return { key, type: keyType(key) };
}

/** Signs `payload` the way cosign does for the key's type (RSA: PKCS#1 v1.5, as cosign's default). */
export function signPayload(key: KeyObject, payload: Buffer): Buffer {
  switch (keyType(key)) {
    case 'ed25519':
      return sign(null, payload, key);
    case 'ecdsa-p256':
      return sign('sha256', payload, { key, dsaEncoding: 'der' });
    case 'rsa':
      return sign('sha256', payload, { key, padding: constants.RSA_PKCS1_PADDING });
  }
}
