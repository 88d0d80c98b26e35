// tsyringe, inside @peculiar/x509, needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { X509Certificate as NodeCertificate, randomBytes, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 3600 * 1000;
const caLifetimeMs = 10 * 365 * day;
const serverLifetimeMs = 365 * day;
/** A server certificate this close to its end is issued again at start, under the same CA. */
const renewBeforeMs = 30 * day;

/** Where the trial CA and server certificate live, under `<data>/tls`. */
export interface SelfSignedFiles {
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

export interface SelfSignedResult extends SelfSignedFiles {
  /** True when this start made a new CA, which clients must be told to trust. */
  createdCa: boolean;
  /** True when this start issued a new server certificate. */
  issuedServer: boolean;
}

export function selfSignedFiles(dir: string): SelfSignedFiles {
  return {
    caFile: join(dir, 'ca.crt'),
    caKeyFile: join(dir, 'ca.key'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
}

/**
 * Makes sure `dir` holds a CA and a server certificate it signed for every name in `hosts`.
 * The CA is made once and kept (clients trust it); the server certificate is issued again
 * when it is missing, near its end, or does not cover every name.
 */
export async function ensureSelfSigned(
  dir: string,
  hosts: string[],
  now: Date = new Date(),
): Promise<SelfSignedResult> {
  const files = selfSignedFiles(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const createdCa = !existsSync(files.caFile) || !existsSync(files.caKeyFile);
  if (createdCa) await createCa(files, now);
  const issuedServer = createdCa || !(await serverCertificateFits(files, hosts, now));
  if (issuedServer) await issueServerCertificate(files, hosts, now);
  return { ...files, createdCa, issuedServer };
}

async function serverCertificateFits(files: SelfSignedFiles, hosts: string[], now: Date): Promise<boolean> {
  if (!existsSync(files.certFile) || !existsSync(files.keyFile)) return false;
  const certificate = new NodeCertificate(await readFile(files.certFile));
  const ca = new NodeCertificate(await readFile(files.caFile));
  if (!certificate.verify(ca.publicKey)) return false;
  if (new Date(certificate.validTo).getTime() - now.getTime() < renewBeforeMs) return false;
  return hosts.every((host) =>
    isIP(host) ? certificate.checkIP(host) !== undefined : certificate.checkHost(host) !== undefined,
  );
}

async function createCa(files: SelfSignedFiles, now: Date): Promise<void> {
  const keys = await crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  // A random suffix keeps the subjects of two installations' CAs apart in a client's trust store.
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=Berth trial CA ${randomBytes(4).toString('hex')}, O=Berth`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + caLifetimeMs),
      signingAlgorithm: ecdsa,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  await writeAtomically(files.caKeyFile, await privateKeyPem(keys.privateKey), 0o600);
  await writeAtomically(files.caFile, `${certificate.toString('pem')}\n`, 0o644);
}

async function issueServerCertificate(files: SelfSignedFiles, hosts: string[], now: Date): Promise<void> {
  const ca = new x509.X509Certificate(await readFile(files.caFile, 'utf8'));
  const caKey = await importPrivateKey(await readFile(files.caKeyFile, 'utf8'));
  const keys = await crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${hosts.find((host) => isIP(host) === 0) ?? hosts[0] ?? 'localhost'}, O=Berth`,
      issuer: ca.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + serverLifetimeMs),
      signingAlgorithm: ecdsa,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host })),
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );
  await writeAtomically(files.keyFile, await privateKeyPem(keys.privateKey), 0o600);
  await writeAtomically(files.certFile, `${certificate.toString('pem')}\n`, 0o644);
}

/** A positive 128-bit serial, as RFC 5280 asks (at most 20 octets, no sign bit). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importPrivateKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return crypto.subtle.importKey('pkcs8', der, ecdsa, false, ['sign']);
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  await rename(temporary, file);
}
