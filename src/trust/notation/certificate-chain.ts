// tsyringe, inside @peculiar/x509, needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { fail } from './envelope.ts';

/**
 * The certificate checks of the Notary Project signature specification ("Certificate
 * Requirements") and the trust-store step of the trust policy: the envelope's chain must be
 * ordered leaf to root with every link signed by the next, meet the leaf and CA requirements,
 * and contain a certificate of one of the project's trust stores.
 */

const ekuOids = {
  any: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;
const forbiddenLeafEkus = new Set<string>([
  ekuOids.any,
  ekuOids.serverAuth,
  ekuOids.clientAuth,
  ekuOids.emailProtection,
  ekuOids.timeStamping,
]);
const forbiddenLeafKeyUsages =
  x509.KeyUsageFlags.keyEncipherment |
  x509.KeyUsageFlags.dataEncipherment |
  x509.KeyUsageFlags.keyAgreement |
  x509.KeyUsageFlags.keyCertSign |
  x509.KeyUsageFlags.cRLSign |
  x509.KeyUsageFlags.encipherOnly |
  x509.KeyUsageFlags.decipherOnly;

export function parseCertificateChain(ders: Buffer[]): x509.X509Certificate[] {
  return ders.map((der, index) => {
    try {
      return new x509.X509Certificate(der);
    } catch {
      return fail(`certificate ${index} of the chain cannot be read`);
    }
  });
}

function label(certificate: x509.X509Certificate): string {
  return JSON.stringify(certificate.subject);
}

function checkLeaf(leaf: x509.X509Certificate): void {
  const constraints = leaf.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca) fail(`the signing certificate ${label(leaf)} is a CA certificate`);
  const keyUsage = leaf.getExtension(x509.KeyUsagesExtension);
  if (!keyUsage?.critical)
    fail(`the signing certificate ${label(leaf)} needs a critical key usage extension`);
  if (!(keyUsage.usages & x509.KeyUsageFlags.digitalSignature)) {
    fail(`the signing certificate ${label(leaf)} does not allow digitalSignature`);
  }
  if (keyUsage.usages & forbiddenLeafKeyUsages) {
    fail(`the signing certificate ${label(leaf)} has key usages a signing certificate must not have`);
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku) {
    const usages = eku.usages.map(String);
    if (usages.some((usage) => forbiddenLeafEkus.has(usage))) {
      fail(`the signing certificate ${label(leaf)} has an extended key usage other than code signing`);
    }
    if (!usages.includes(ekuOids.codeSigning)) {
      fail(`the signing certificate ${label(leaf)} lacks the code-signing extended key usage`);
    }
  }
}

function checkCa(ca: x509.X509Certificate, intermediatesBelow: number): void {
  const constraints = ca.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.critical || !constraints.ca) {
    fail(`the CA certificate ${label(ca)} needs critical basic constraints with cA true`);
  }
  if (constraints.pathLength !== undefined && constraints.pathLength < intermediatesBelow) {
    fail(`the chain is longer than the path length constraint of ${label(ca)}`);
  }
  const keyUsage = ca.getExtension(x509.KeyUsagesExtension);
  if (!keyUsage?.critical || !(keyUsage.usages & x509.KeyUsageFlags.keyCertSign)) {
    fail(`the CA certificate ${label(ca)} needs a critical key usage with keyCertSign`);
  }
}

async function signedBy(certificate: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** Checks order, links, self-signed root, SHA-1, and the leaf and CA requirements. */
export async function checkChainStructure(chain: x509.X509Certificate[]): Promise<void> {
  const [leaf] = chain;
  if (!leaf) fail('the envelope has no certificate chain');
  for (const certificate of chain) {
    if (certificate.signatureAlgorithm.hash?.name === 'SHA-1') {
      fail(`the certificate ${label(certificate)} is signed with SHA-1`);
    }
  }
  checkLeaf(leaf);
  for (let index = 0; index + 1 < chain.length; index++) {
    const child = chain[index]!;
    const issuer = chain[index + 1]!;
    if (child.issuer !== issuer.subject || !(await signedBy(child, issuer))) {
      fail(
        `the certificate chain is out of order or broken: ${label(child)} is not issued by ${label(issuer)}`,
      );
    }
    checkCa(issuer, index);
  }
  const root = chain[chain.length - 1]!;
  if (root.issuer !== root.subject || !(await signedBy(root, root))) {
    fail(`the certificate chain does not end with a self-signed root (${label(root)} is not self-signed)`);
  }
}

/** Every certificate must be within its validity period at `at`. */
export function checkValidityAt(chain: x509.X509Certificate[], at: Date, when: string): void {
  for (const certificate of chain) {
    if (at < certificate.notBefore) {
      fail(`the certificate ${label(certificate)} is not yet valid at ${when} (${at.toISOString()})`);
    }
    if (at > certificate.notAfter) {
      fail(
        `the certificate ${label(certificate)} expired ${certificate.notAfter.toISOString()}, before ${when} (${at.toISOString()})`,
      );
    }
  }
}

export interface TrustStore {
  name: string;
  certificatesPem: string[];
}

function readStoreCertificate(pem: string): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * The name of the trust store holding one of the chain's certificates (normally its root), as
 * Notation matches them: the same certificate, byte for byte.
 */
export function findTrustStore(chain: x509.X509Certificate[], stores: TrustStore[]): string | undefined {
  const chainDer = chain.map((certificate) => Buffer.from(certificate.rawData));
  for (const store of stores) {
    for (const pem of store.certificatesPem) {
      const trusted = readStoreCertificate(pem);
      if (!trusted) continue;
      const der = Buffer.from(trusted.rawData);
      if (chainDer.some((candidate) => candidate.equals(der))) return store.name;
    }
  }
  return undefined;
}
