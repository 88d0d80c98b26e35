// tsyringe, inside @peculiar/x509, needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CborTagged, encodeCbor } from '../../src/trust/notation/cbor.ts';
import { notaryHeaders, notationMediaTypes } from '../../src/trust/notation/envelope.ts';

/**
 * A small Notation signer for tests: a CA chain made in the test, JWS and COSE envelopes as
 * the Notary Project specification lays them out (the same shape as Notation's own, see the
 * real ones in shared/fixtures/signatures/notation), and the signature manifest Notation
 * pushes as an OCI 1.1 referrer of the image it signs.
 */

const crypto = webcrypto;
const day = 24 * 3600 * 1000;
const caKey = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface CertifiedKey {
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export type NotationKeyType = 'ecdsa-p256' | 'rsa-2048';

export interface NotationTestPki {
  root: CertifiedKey;
  intermediate: CertifiedKey;
  leaf: CertifiedKey;
  leafKeyType: NotationKeyType;
  /** Leaf, intermediate, root: the order the envelope carries them in. */
  chain: x509.X509Certificate[];
  /** The root as PEM, for a project's Notation trust store. */
  rootPem: string;
  /** The trusted identity that names the leaf (`x509.subject: ...`). */
  identity: string;
}

export interface NotationPkiOptions {
  /** The leaf's subject DN; it must name C, ST and O to be usable as a trusted identity. */
  subject?: string;
  keyType?: NotationKeyType;
  leafNotBefore?: Date;
  leafNotAfter?: Date;
  /** The leaf's extended key usages; code signing by default. */
  leafExtendedKeyUsages?: string[];
  now?: Date;
}

const serial = () =>
  randomBytes(8)
    .toString('hex')
    .replace(/^[89a-f]/, '1');

function leafAlgorithm(keyType: NotationKeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return keyType === 'rsa-2048'
    ? { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256' };
}

/** A root CA, an intermediate CA and a code-signing leaf, each with its own key. */
export async function createNotationPki(options: NotationPkiOptions = {}): Promise<NotationTestPki> {
  const now = options.now ?? new Date();
  const tag = randomBytes(3).toString('hex');
  const subject = options.subject ?? `C=US, ST=WA, L=Seattle, O=Berth Test ${tag}, CN=notation-signer`;
  const keyType = options.keyType ?? 'ecdsa-p256';
  const caValidity = {
    notBefore: new Date(now.getTime() - 365 * day),
    notAfter: new Date(now.getTime() + 3650 * day),
  };

  const rootKeys = (await crypto.subtle.generateKey(caKey, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const rootCertificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `C=US, ST=WA, O=Berth Test ${tag}, CN=Berth Notation test root`,
      ...caValidity,
      keys: rootKeys,
      signingAlgorithm: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  const intermediateKeys = (await crypto.subtle.generateKey(caKey, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const intermediateCertificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `C=US, ST=WA, O=Berth Test ${tag}, CN=Berth Notation test intermediate`,
      issuer: rootCertificate.subject,
      ...caValidity,
      publicKey: intermediateKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  const leafKeys = (await crypto.subtle.generateKey(leafAlgorithm(keyType), true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const leafCertificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject,
      issuer: intermediateCertificate.subject,
      notBefore: options.leafNotBefore ?? new Date(now.getTime() - day),
      notAfter: options.leafNotAfter ?? new Date(now.getTime() + 365 * day),
      publicKey: leafKeys.publicKey,
      signingKey: intermediateKeys.privateKey,
      signingAlgorithm: caKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(
          options.leafExtendedKeyUsages ?? [x509.ExtendedKeyUsage.codeSigning],
        ),
      ],
    },
    crypto,
  );
  return {
    root: { certificate: rootCertificate, keys: rootKeys },
    intermediate: { certificate: intermediateCertificate, keys: intermediateKeys },
    leaf: { certificate: leafCertificate, keys: leafKeys },
    leafKeyType: keyType,
    chain: [leafCertificate, intermediateCertificate, rootCertificate],
    rootPem: rootCertificate.toString('pem'),
    identity: `x509.subject: ${subject}`,
  };
}

/** The descriptor a Notation payload names (`targetArtifact`). */
export interface TargetArtifact {
  digest: string;
  mediaType: string;
  size: number;
}

export interface NotationSignOptions {
  target: TargetArtifact;
  signingTime?: Date;
  /** `io.cncf.notary.expiry`, marked critical as the specification requires. */
  expiry?: Date;
  /** Extra protected headers, and extra names for `crit` (for tests of unknown critical headers). */
  extraHeaders?: Record<string, string>;
  extraCritical?: string[];
  /** `notary.x509` (default), or `notary.x509.signingAuthority` with an authentic signing time. */
  signingScheme?: 'notary.x509' | 'notary.x509.signingAuthority';
}

async function sign(pki: NotationTestPki, data: Buffer): Promise<Buffer> {
  const algorithm =
    pki.leafKeyType === 'rsa-2048' ? { name: 'RSA-PSS', saltLength: 32 } : { name: 'ECDSA', hash: 'SHA-256' };
  return Buffer.from(await crypto.subtle.sign(algorithm, pki.leaf.keys.privateKey, data));
}

function payloadOf(target: TargetArtifact): Buffer {
  return Buffer.from(
    JSON.stringify({
      targetArtifact: { digest: target.digest, mediaType: target.mediaType, size: target.size },
    }),
  );
}

const rfc3339 = (time: Date) => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A JWS JSON (flattened) envelope over `target`, signed by the PKI's leaf. */
export async function signNotationJws(pki: NotationTestPki, options: NotationSignOptions): Promise<Buffer> {
  const critical: string[] = [notaryHeaders.signingScheme, ...(options.extraCritical ?? [])];
  const header: Record<string, unknown> = {
    alg: pki.leafKeyType === 'rsa-2048' ? 'PS256' : 'ES256',
    crit: critical,
    cty: notationMediaTypes.payload,
    [notaryHeaders.signingScheme]: options.signingScheme ?? 'notary.x509',
    ...options.extraHeaders,
  };
  const time = rfc3339(options.signingTime ?? new Date());
  if (options.signingScheme === 'notary.x509.signingAuthority') {
    header[notaryHeaders.authenticSigningTime] = time;
    critical.push(notaryHeaders.authenticSigningTime);
  } else {
    header[notaryHeaders.signingTime] = time;
  }
  if (options.expiry) {
    header[notaryHeaders.expiry] = rfc3339(options.expiry);
    critical.push(notaryHeaders.expiry);
  }
  const protectedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payload = payloadOf(options.target).toString('base64url');
  const signature = await sign(pki, Buffer.from(`${protectedHeader}.${payload}`));
  return Buffer.from(
    JSON.stringify({
      payload,
      protected: protectedHeader,
      header: {
        x5c: pki.chain.map((certificate) => Buffer.from(certificate.rawData).toString('base64')),
        [notaryHeaders.signingAgent]: 'berth-test/1.0',
      },
      signature: signature.toString('base64url'),
    }),
  );
}

/** A COSE_Sign1_Tagged envelope over `target`, signed by the PKI's leaf. */
export async function signNotationCose(pki: NotationTestPki, options: NotationSignOptions): Promise<Buffer> {
  const critical: string[] = [notaryHeaders.signingScheme];
  const header = new Map<number | string, string | number | string[] | CborTagged>([
    [1, pki.leafKeyType === 'rsa-2048' ? -37 : -7],
    [2, critical],
    [3, notationMediaTypes.payload],
    [notaryHeaders.signingScheme, 'notary.x509'],
    [
      notaryHeaders.signingTime,
      new CborTagged(1, Math.floor((options.signingTime ?? new Date()).getTime() / 1000)),
    ],
  ]);
  if (options.expiry) {
    header.set(notaryHeaders.expiry, new CborTagged(1, Math.floor(options.expiry.getTime() / 1000)));
    critical.push(notaryHeaders.expiry);
  }
  const protectedBytes = encodeCbor(header);
  const payload = payloadOf(options.target);
  const signature = await sign(pki, encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]));
  const unprotected = new Map<number | string, string | Buffer[]>([
    [33, pki.chain.map((certificate) => Buffer.from(certificate.rawData))],
    [notaryHeaders.signingAgent, 'berth-test/1.0'],
  ]);
  return encodeCbor(new CborTagged(18, [protectedBytes, unprotected, payload, signature]));
}

export interface PushableBlob {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** What to push for one Notation signature: the blobs first, then the manifest (by digest). */
export interface NotationSignatureArtifact {
  manifest: Buffer;
  manifestDigest: string;
  manifestMediaType: 'application/vnd.oci.image.manifest.v1+json';
  artifactType: typeof notationMediaTypes.signature;
  /** The empty config (`{}`) and the envelope. */
  blobs: PushableBlob[];
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * The signature manifest as Notation 1.x pushes it: OCI image manifest with artifactType
 * `application/vnd.cncf.notary.signature`, the empty config, one envelope layer, the signed
 * image as `subject`, and the chain's SHA-256 thumbprints annotation.
 */
export function notationSignatureArtifact(
  subject: TargetArtifact,
  envelope: Buffer,
  envelopeMediaType: typeof notationMediaTypes.jws | typeof notationMediaTypes.cose,
  chain: readonly (x509.X509Certificate | Uint8Array)[],
): NotationSignatureArtifact {
  const config = Buffer.from('{}');
  const thumbprints = chain.map((certificate) =>
    createHash('sha256')
      .update(certificate instanceof Uint8Array ? certificate : Buffer.from(certificate.rawData))
      .digest('hex'),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: notationMediaTypes.signature,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: envelopeMediaType, digest: sha256(envelope), size: envelope.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: {
        'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(thumbprints),
        'org.opencontainers.image.created': rfc3339(new Date()),
      },
    }),
  );
  return {
    manifest,
    manifestDigest: sha256(manifest),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: notationMediaTypes.signature,
    blobs: [
      { digest: sha256(config), mediaType: 'application/vnd.oci.empty.v1+json', bytes: config },
      { digest: sha256(envelope), mediaType: envelopeMediaType, bytes: envelope },
    ],
  };
}

/** Signs `target` with the PKI's leaf and wraps the envelope in the manifest Notation pushes. */
export async function notationSignature(
  pki: NotationTestPki,
  options: NotationSignOptions & { format?: 'jws' | 'cose' },
): Promise<NotationSignatureArtifact> {
  const cose = options.format === 'cose';
  const envelope = cose ? await signNotationCose(pki, options) : await signNotationJws(pki, options);
  return notationSignatureArtifact(
    options.target,
    envelope,
    cose ? notationMediaTypes.cose : notationMediaTypes.jws,
    pki.chain,
  );
}
