/**
 * The Notary Project signature envelope, independent of its encoding (JWS or COSE): what the
 * two parsers produce and the checks the signature specification puts on the signed
 * attributes. The parsers live in `jws-envelope.ts` and `cose-envelope.ts`.
 */

export const notationMediaTypes = {
  signature: 'application/vnd.cncf.notary.signature',
  payload: 'application/vnd.cncf.notary.payload.v1+json',
  jws: 'application/jose+json',
  cose: 'application/cose',
} as const;

export const signingSchemes = ['notary.x509', 'notary.x509.signingAuthority'] as const;
export type SigningScheme = (typeof signingSchemes)[number];

export const notaryHeaders = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  signingAgent: 'io.cncf.notary.signingAgent',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

/** A signature that does not verify; its message is the reason the policy reports. */
export class NotationVerificationError extends Error {}

export function fail(reason: string): never {
  throw new NotationVerificationError(reason);
}

/** The signature algorithms the specification allows, by their JWS names. */
export type SignatureAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export interface SignedAttributes {
  contentType: string;
  signingScheme: string;
  signingTime?: Date;
  authenticSigningTime?: Date;
  expiry?: Date;
  /** The names listed as critical (`crit`), other than the envelope format's own labels. */
  critical: string[];
  /** Every signed attribute name present besides the format's registered ones. */
  present: string[];
}

export interface NotationEnvelope {
  format: 'jws' | 'cose';
  algorithm: SignatureAlgorithm;
  signedAttributes: SignedAttributes;
  /** DER certificates, signing certificate first, root last. */
  certificateChain: Buffer[];
  /** The payload bytes, as signed. */
  payload: Buffer;
  /** The exact bytes the signature covers (JWS signing input, COSE Sig_structure). */
  signingInput: Buffer;
  signature: Buffer;
}

// Attributes this verifier understands and processes when they are critical.
const understoodCritical = new Set<string>([
  notaryHeaders.signingScheme,
  notaryHeaders.authenticSigningTime,
  notaryHeaders.expiry,
]);

/**
 * The checks of the signature specification on signed attributes that do not need the
 * certificates: content type, signing scheme, the times each scheme requires, and `crit`.
 */
export function checkSignedAttributes(attributes: SignedAttributes): SigningScheme {
  if (attributes.contentType !== notationMediaTypes.payload) {
    fail(`unsupported payload content type ${JSON.stringify(attributes.contentType)}`);
  }
  const scheme = attributes.signingScheme;
  if (!(signingSchemes as readonly string[]).includes(scheme)) {
    fail(`unsupported signing scheme ${JSON.stringify(scheme)}`);
  }
  const critical = new Set(attributes.critical);
  if (critical.size !== attributes.critical.length) fail('crit lists a header twice');
  for (const name of critical) {
    if (!attributes.present.includes(name)) fail(`crit lists ${name}, which the signature does not have`);
    if (name === notaryHeaders.verificationPlugin || name === notaryHeaders.verificationPluginMinVersion) {
      fail(`the signature requires a Notation verification plugin (${name}), which Berth does not run`);
    }
    if (!understoodCritical.has(name)) fail(`unknown critical header ${JSON.stringify(name)}`);
  }
  // These are critical by definition: a signature that carries them unmarked is malformed.
  for (const name of [
    notaryHeaders.signingScheme,
    notaryHeaders.authenticSigningTime,
    notaryHeaders.expiry,
    notaryHeaders.verificationPlugin,
    notaryHeaders.verificationPluginMinVersion,
  ]) {
    if (attributes.present.includes(name) && !critical.has(name)) fail(`${name} must be marked critical`);
  }
  if (scheme === 'notary.x509') {
    if (!attributes.signingTime) fail('the notary.x509 scheme requires io.cncf.notary.signingTime');
    if (attributes.authenticSigningTime) {
      fail('io.cncf.notary.authenticSigningTime is only valid with notary.x509.signingAuthority');
    }
  } else {
    if (!attributes.authenticSigningTime) {
      fail('the notary.x509.signingAuthority scheme requires io.cncf.notary.authenticSigningTime');
    }
    if (attributes.signingTime) fail('io.cncf.notary.signingTime is only valid with notary.x509');
  }
  return scheme as SigningScheme;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Reads an RFC 3339 date-time (the JWS encoding of the time attributes). */
export function parseRfc3339(value: unknown, name: string): Date {
  if (typeof value !== 'string' || !rfc3339.test(value)) fail(`${name} must be an RFC 3339 date-time`);
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) fail(`${name} is not a valid date-time`);
  return time;
}
