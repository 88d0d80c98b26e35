import {
  fail,
  type NotationEnvelope,
  notaryHeaders,
  parseRfc3339,
  type SignatureAlgorithm,
  type SignedAttributes,
} from './envelope.ts';

/**
 * Parses a Notary Project JWS envelope: the flattened JWS JSON serialization
 * (`signature-envelope-jws.md`), with the chain in the unprotected `x5c` header.
 */

const jwsAlgorithms = new Set<string>(['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
const topLevelFields = new Set(['payload', 'protected', 'header', 'signature']);
// Registered JWS headers the Notary Project uses; `crit` must not list them (RFC 7515 4.1.11).
const registeredHeaders = new Set(['alg', 'cty', 'crit']);
const base64url = /^[A-Za-z0-9_-]*$/;
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeBase64url(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !base64url.test(value)) fail(`JWS ${name} is not base64url`);
  return Buffer.from(value, 'base64url');
}

function parseJsonObject(bytes: Buffer, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    fail(`JWS ${name} is not JSON`);
  }
  if (!isObject(value)) fail(`JWS ${name} must be a JSON object`);
  return value;
}

function readChain(header: Record<string, unknown>): Buffer[] {
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) fail('JWS x5c must list the certificate chain');
  return x5c.map((entry, index) => {
    if (typeof entry !== 'string' || !base64.test(entry)) fail(`JWS x5c[${index}] is not base64`);
    return Buffer.from(entry, 'base64');
  });
}

function readSignedAttributes(protectedHeader: Record<string, unknown>): SignedAttributes {
  const { cty, crit } = protectedHeader;
  if (typeof cty !== 'string') fail('JWS protected header needs cty');
  if (!Array.isArray(crit) || !crit.every((entry) => typeof entry === 'string')) {
    fail('JWS protected header needs crit, an array of strings');
  }
  for (const name of crit) {
    if (registeredHeaders.has(name)) fail(`JWS crit must not list the registered header ${name}`);
  }
  const scheme = protectedHeader[notaryHeaders.signingScheme];
  if (typeof scheme !== 'string') fail('JWS protected header needs io.cncf.notary.signingScheme');
  const time = (name: string) =>
    protectedHeader[name] === undefined ? undefined : parseRfc3339(protectedHeader[name], name);
  const attributes: SignedAttributes = {
    contentType: cty,
    signingScheme: scheme,
    critical: crit as string[],
    present: Object.keys(protectedHeader).filter((name) => !registeredHeaders.has(name)),
  };
  const signingTime = time(notaryHeaders.signingTime);
  if (signingTime) attributes.signingTime = signingTime;
  const authenticSigningTime = time(notaryHeaders.authenticSigningTime);
  if (authenticSigningTime) attributes.authenticSigningTime = authenticSigningTime;
  const expiry = time(notaryHeaders.expiry);
  if (expiry) attributes.expiry = expiry;
  return attributes;
}

export function parseJwsEnvelope(bytes: Buffer): NotationEnvelope {
  const envelope = parseJsonObject(bytes, 'envelope');
  for (const field of Object.keys(envelope)) {
    if (!topLevelFields.has(field)) fail(`JWS envelope has unsupported field ${JSON.stringify(field)}`);
  }
  if (typeof envelope.protected !== 'string' || typeof envelope.payload !== 'string') {
    fail('JWS envelope needs protected and payload');
  }
  const protectedHeader = parseJsonObject(
    decodeBase64url(envelope.protected, 'protected header'),
    'protected header',
  );
  const header = envelope.header;
  if (!isObject(header)) fail('JWS envelope needs an unprotected header with x5c');
  for (const name of Object.keys(header)) {
    if (Object.hasOwn(protectedHeader, name)) fail(`JWS header ${name} is both protected and unprotected`);
  }
  const algorithm = protectedHeader.alg;
  if (typeof algorithm !== 'string' || !jwsAlgorithms.has(algorithm)) {
    fail(`unsupported JWS alg ${JSON.stringify(algorithm ?? null)}`);
  }
  return {
    format: 'jws',
    algorithm: algorithm as SignatureAlgorithm,
    signedAttributes: readSignedAttributes(protectedHeader),
    certificateChain: readChain(header),
    payload: decodeBase64url(envelope.payload, 'payload'),
    signingInput: Buffer.from(`${envelope.protected}.${envelope.payload}`, 'ascii'),
    signature: decodeBase64url(envelope.signature, 'signature'),
  };
}
