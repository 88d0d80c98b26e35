import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseListen } from '../../config/load.ts';
import type { BerthConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/logger.ts';

/** What the HTTPS server needs, read and checked. */
export interface TlsSettings {
  /** PEM private key. */
  key: Buffer;
  /** PEM certificate chain, server certificate first. */
  cert: Buffer;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Strict-Transport-Security max-age; 0 sends none. */
  hstsSeconds: number;
  /** host:port of the plain-HTTP redirect listener, or ''. */
  redirectListen: string;
  /** The CA Berth made for itself, when it did so on this start (clients must be told to trust it). */
  createdCaFile?: string;
}

/**
 * Forward-secret AEAD suites only: TLS 1.3's three, then TLS 1.2's ECDHE with GCM or
 * ChaCha20-Poly1305 (no CBC, no static RSA key exchange).
 */
export const modernCiphers = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const wildcardHosts = new Set(['0.0.0.0', '::', '']);

/** The name clients reach a listener by: its host, or this machine's name when it listens everywhere. */
export function clientHost(listenHost: string): string {
  return wildcardHosts.has(listenHost) ? hostname() : listenHost;
}

/** Names a self-signed certificate covers: loopback in every spelling, the listen host, and `tls.hosts`. */
export function selfSignedHosts(config: BerthConfig): string[] {
  const { host } = parseListen(config.listen);
  return [...new Set(['localhost', '127.0.0.1', '::1', clientHost(host), ...config.tls.hosts])];
}

/** Reads (or, for `tls.selfSigned`, makes) the key and certificate; undefined when TLS is off. */
export async function loadTlsSettings(config: BerthConfig, log: Logger): Promise<TlsSettings | undefined> {
  const tls = config.tls;
  const files = tls.certFile !== '' || tls.keyFile !== '';
  if (!files && !tls.selfSigned) {
    if (tls.redirectHttpListen !== '')
      throw new ConfigError([
        'tls.redirectHttpListen needs HTTPS: set tls.certFile and tls.keyFile, or tls.selfSigned',
      ]);
    return undefined;
  }
  if (files && tls.selfSigned)
    throw new ConfigError(['tls.selfSigned and tls.certFile/tls.keyFile exclude each other: choose one']);
  if (files && (tls.certFile === '' || tls.keyFile === ''))
    throw new ConfigError([`tls.${tls.certFile === '' ? 'certFile' : 'keyFile'} is missing: set both files`]);

  let certFile = tls.certFile;
  let keyFile = tls.keyFile;
  let createdCaFile: string | undefined;
  if (tls.selfSigned) {
    // Loaded only here: the certificate library needs a global Reflect polyfill.
    const { ensureSelfSigned } = await import('./self-signed.ts');
    const made = await ensureSelfSigned(join(config.data, 'tls'), selfSignedHosts(config));
    ({ certFile, keyFile } = made);
    if (made.createdCa) createdCaFile = made.caFile;
    if (made.issuedServer)
      log.info({ certFile, caFile: made.caFile }, 'issued a self-signed server certificate');
  }

  const cert = await readSetting('tls.certFile', certFile);
  const key = await readSetting('tls.keyFile', keyFile);
  const chain = parseChain(cert, certFile);
  const privateKey = parseKey(key, keyFile);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError([
      `tls.keyFile ${keyFile} does not match the certificate in tls.certFile ${certFile} (${leaf.subject.replaceAll('\n', ', ')})`,
    ]);
  }
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() < Date.now())
    log.warn({ certFile, validTo }, 'the TLS certificate has expired: clients will refuse it');
  return {
    key,
    // Re-joined so a file whose blocks were concatenated without newlines still loads.
    cert: Buffer.from(`${chain.map((certificate) => certificate.toString()).join('')}`),
    minVersion: tls.minVersion,
    hstsSeconds: tls.hsts,
    redirectListen: tls.redirectHttpListen,
    createdCaFile,
  };
}

async function readSetting(setting: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new ConfigError([`${setting}: cannot read ${file}: ${(error as Error).message}`]);
  }
}

function parseChain(pem: Buffer, file: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new ConfigError([`tls.certFile ${file} holds no PEM certificate`]);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new ConfigError([
        `tls.certFile ${file}: certificate ${index + 1} is not valid: ${(error as Error).message}`,
      ]);
    }
  });
}

function parseKey(pem: Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError([
      `tls.keyFile ${file} holds no usable PEM private key (an encrypted key is not supported): ${(error as Error).message}`,
    ]);
  }
}
