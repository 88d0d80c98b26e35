/**
 * A project's trust policy as Berth's API reads and writes it, checked before it is stored:
 * every key and certificate must parse, so a typo is a clear 400 now, not a refused pull later.
 */
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { RegistryError } from '../oci/errors.ts';
import { trustedIdentityProblem } from './notation/trusted-identity.ts';
import type { ProjectTrust } from './signature-verifier.ts';

/** The JSON of `GET/PUT /api/v2.0/projects/{p}/trust-policy`. */
export interface TrustPolicyDocument {
  cosign_keys: { name: string; public_key: string }[];
  keyless_identities: { issuer: string; subject: string }[];
  notation_trust_stores: { name: string; certificates: string[] }[];
  notation_trusted_identities: string[];
}

export const emptyTrust: ProjectTrust = {
  cosignKeys: [],
  keylessIdentities: [],
  notationTrustStores: [],
  notationTrustedIdentities: [],
};

const maxEntries = 64;
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----/g;

function bad(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

function checkName(name: string, where: string, seen: Set<string>): void {
  if (!namePattern.test(name)) {
    throw bad(
      `${where}: the name must be 1-128 letters, digits, '.', '_' or '-', got ${JSON.stringify(name.slice(0, 130))}`,
    );
  }
  if (seen.has(name)) throw bad(`${where}: the name ${name} is used twice`);
  seen.add(name);
}

/** The PEM blocks of `text`, each whole; garbage around or between them is refused. */
function pemBlocks(text: string, where: string): { label: string; pem: string }[] {
  const blocks = [...text.matchAll(pemBlock)].map((match) => ({ label: match[1]!, pem: `${match[0]}\n` }));
  const leftover = text.replace(pemBlock, '').trim();
  if (blocks.length === 0 || leftover !== '')
    throw bad(`${where}: not PEM (expected -----BEGIN …----- blocks only)`);
  return blocks;
}

/** A Cosign public key: ECDSA P-256, RSA of at least 2048 bits, or Ed25519. */
function cosignKey(text: string, where: string): string {
  const blocks = pemBlocks(text, where);
  if (blocks.length !== 1 || blocks[0]!.label !== 'PUBLIC KEY') {
    throw bad(`${where}: expected one PEM PUBLIC KEY block`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(blocks[0]!.pem);
  } catch (error) {
    throw bad(`${where}: the public key does not parse: ${(error as Error).message}`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  const supported =
    (type === 'ec' && details.namedCurve === 'prime256v1') ||
    (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) ||
    type === 'ed25519';
  if (!supported) {
    const what =
      type === 'ec' ? `EC ${details.namedCurve}` : type === 'rsa' ? `RSA ${details.modulusLength}` : type;
    throw bad(`${where}: ${what} keys are not supported (ECDSA P-256, RSA 2048+ or Ed25519)`);
  }
  return blocks[0]!.pem;
}

/** X.509 certificates, each checked to parse; a string may hold a bundle of several. */
function certificates(texts: readonly string[], where: string): string[] {
  const out: string[] = [];
  for (const [index, text] of texts.entries()) {
    for (const block of pemBlocks(text, `${where}[${index}]`)) {
      if (block.label !== 'CERTIFICATE')
        throw bad(`${where}[${index}]: expected CERTIFICATE blocks, got ${block.label}`);
      try {
        new X509Certificate(block.pem);
      } catch (error) {
        throw bad(`${where}[${index}]: the certificate does not parse: ${(error as Error).message}`);
      }
      out.push(block.pem);
    }
  }
  if (out.length === 0) throw bad(`${where}: a trust store needs at least one certificate`);
  return out;
}

/** Notation's trusted identity: `*`, or `x509.subject:` naming at least C, ST and O (the spec's rule). */
function trustedIdentity(value: string, where: string): string {
  const problem = trustedIdentityProblem(value);
  if (problem) throw bad(`${where}: ${problem}`);
  return value.trim();
}

function httpsUrl(value: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad(`${where}: the issuer must be a URL, got ${JSON.stringify(value.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:') throw bad(`${where}: the issuer must be an https URL`);
  return value;
}

function limited<T>(items: readonly T[] | undefined, where: string): readonly T[] {
  const list = items ?? [];
  if (list.length > maxEntries) throw bad(`${where}: at most ${maxEntries} entries`);
  return list;
}

/** Checks a document from the API and turns it into what verifiers read; BAD_REQUEST on any flaw. */
export function parseTrustPolicy(document: Partial<TrustPolicyDocument>): ProjectTrust {
  const keyNames = new Set<string>();
  const storeNames = new Set<string>();
  const trust: ProjectTrust = {
    cosignKeys: limited(document.cosign_keys, 'cosign_keys').map((key, index) => {
      const where = `cosign_keys[${index}]`;
      checkName(key.name, where, keyNames);
      return { name: key.name, pem: cosignKey(key.public_key, where) };
    }),
    keylessIdentities: limited(document.keyless_identities, 'keyless_identities').map((identity, index) => {
      const where = `keyless_identities[${index}]`;
      if (identity.subject.trim() === '') throw bad(`${where}: the subject must not be empty`);
      return { issuer: httpsUrl(identity.issuer, where), subject: identity.subject };
    }),
    notationTrustStores: limited(document.notation_trust_stores, 'notation_trust_stores').map(
      (store, index) => {
        const where = `notation_trust_stores[${index}]`;
        checkName(store.name, where, storeNames);
        return {
          name: store.name,
          certificatesPem: certificates(limited(store.certificates, where), `${where}.certificates`),
        };
      },
    ),
    notationTrustedIdentities: limited(
      document.notation_trusted_identities,
      'notation_trusted_identities',
    ).map((identity, index) => trustedIdentity(identity, `notation_trusted_identities[${index}]`)),
  };
  if (trust.notationTrustedIdentities.length > 0 && trust.notationTrustStores.length === 0) {
    throw bad('notation_trusted_identities: trusted identities need at least one notation trust store');
  }
  return trust;
}

export function trustPolicyDocument(trust: ProjectTrust): TrustPolicyDocument {
  return {
    cosign_keys: trust.cosignKeys.map((key) => ({ name: key.name, public_key: key.pem })),
    keyless_identities: trust.keylessIdentities.map((identity) => ({ ...identity })),
    notation_trust_stores: trust.notationTrustStores.map((store) => ({
      name: store.name,
      certificates: [...store.certificatesPem],
    })),
    notation_trusted_identities: [...trust.notationTrustedIdentities],
  };
}
