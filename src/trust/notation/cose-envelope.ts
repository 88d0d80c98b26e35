import { CborError, type CborMap, CborTagged, type CborValue, decodeCbor, encodeCbor } from './cbor.ts';
import {
  fail,
  type NotationEnvelope,
  notaryHeaders,
  type SignatureAlgorithm,
  type SignedAttributes,
} from './envelope.ts';

/**
 * Parses a Notary Project COSE envelope (`signature-envelope-cose.md`): a COSE_Sign1_Tagged
 * item, tag 18 over [protected bstr, unprotected map, payload bstr, signature bstr], and
 * rebuilds the Sig_structure the signature covers (RFC 9052 section 4.4).
 */

const coseSign1Tag = 18;
const epochTimeTag = 1;
const labels = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;

export const coseAlgorithms: ReadonlyMap<number, SignatureAlgorithm> = new Map([
  [-37, 'PS256'],
  [-38, 'PS384'],
  [-39, 'PS512'],
  [-7, 'ES256'],
  [-35, 'ES384'],
  [-36, 'ES512'],
]);

function isMap(value: CborValue): value is CborMap {
  return value instanceof Map;
}

function readTime(header: CborMap, name: string): Date | undefined {
  const value = header.get(name);
  if (value === undefined) return undefined;
  if (!(value instanceof CborTagged) || value.tag !== epochTimeTag || typeof value.value !== 'number') {
    fail(`COSE ${name} must be an epoch date-time (tag 1)`);
  }
  const time = new Date(value.value * 1000);
  if (Number.isNaN(time.getTime())) fail(`COSE ${name} is not a valid time`);
  return time;
}

function readSignedAttributes(header: CborMap): SignedAttributes {
  const contentType = header.get(labels.contentType);
  if (typeof contentType !== 'string') fail('COSE protected header needs a text content type (label 3)');
  const crit = header.get(labels.crit);
  if (!Array.isArray(crit) || crit.length === 0) fail('COSE protected header needs crit (label 2)');
  const critical = crit.map((entry) => {
    // Labels 0 to 8 are COSE's own and must not be listed; any other integer is unknown to us.
    if (typeof entry === 'number') fail(`COSE crit lists the integer label ${entry}`);
    if (typeof entry !== 'string') fail('COSE crit entries must be labels');
    return entry;
  });
  const scheme = header.get(notaryHeaders.signingScheme);
  if (typeof scheme !== 'string') fail('COSE protected header needs io.cncf.notary.signingScheme');
  const attributes: SignedAttributes = {
    contentType,
    signingScheme: scheme,
    critical,
    present: [...header.keys()].filter((label): label is string => typeof label === 'string'),
  };
  const signingTime = readTime(header, notaryHeaders.signingTime);
  if (signingTime) attributes.signingTime = signingTime;
  const authenticSigningTime = readTime(header, notaryHeaders.authenticSigningTime);
  if (authenticSigningTime) attributes.authenticSigningTime = authenticSigningTime;
  const expiry = readTime(header, notaryHeaders.expiry);
  if (expiry) attributes.expiry = expiry;
  return attributes;
}

/** x5chain is one bstr for a single certificate, else an array of them; either header may hold it. */
function readChain(protectedHeader: CborMap, unprotectedHeader: CborMap): Buffer[] {
  const inProtected = protectedHeader.get(labels.x5chain);
  const inUnprotected = unprotectedHeader.get(labels.x5chain);
  if (inProtected !== undefined && inUnprotected !== undefined) fail('COSE x5chain is in both headers');
  const chain = inProtected ?? inUnprotected;
  if (Buffer.isBuffer(chain)) return [chain];
  if (!Array.isArray(chain) || chain.length === 0) fail('COSE envelope needs x5chain (label 33)');
  return chain.map((entry, index) => {
    if (!Buffer.isBuffer(entry)) fail(`COSE x5chain[${index}] is not a byte string`);
    return entry;
  });
}

export function parseCoseEnvelope(bytes: Buffer): NotationEnvelope {
  let item: CborValue;
  let protectedHeader: CborValue;
  try {
    item = decodeCbor(bytes);
    if (!(item instanceof CborTagged) || item.tag !== coseSign1Tag)
      fail('not a COSE_Sign1_Tagged item (tag 18)');
    const parts = item.value;
    if (!Array.isArray(parts) || parts.length !== 4) fail('COSE_Sign1 must be an array of four');
    const [protectedBytes, unprotectedHeader, payload, signature] = parts;
    if (!Buffer.isBuffer(protectedBytes) || protectedBytes.length === 0)
      fail('COSE protected header is missing');
    if (!isMap(unprotectedHeader)) fail('COSE unprotected header must be a map');
    if (!Buffer.isBuffer(payload)) fail('COSE payload must be attached');
    if (!Buffer.isBuffer(signature)) fail('COSE signature must be a byte string');
    protectedHeader = decodeCbor(protectedBytes);
    if (!isMap(protectedHeader)) fail('COSE protected header must be a map');
    for (const label of unprotectedHeader.keys()) {
      if (protectedHeader.has(label)) fail(`COSE header ${label} is both protected and unprotected`);
    }
    const alg = protectedHeader.get(labels.alg);
    const algorithm = typeof alg === 'number' ? coseAlgorithms.get(alg) : undefined;
    if (!algorithm) fail(`unsupported COSE alg ${String(alg)}`);
    return {
      format: 'cose',
      algorithm,
      signedAttributes: readSignedAttributes(protectedHeader),
      certificateChain: readChain(protectedHeader, unprotectedHeader),
      payload,
      signingInput: encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]),
      signature,
    };
  } catch (error) {
    if (error instanceof CborError) fail(`COSE envelope is not valid CBOR: ${error.message}`);
    throw error;
  }
}
