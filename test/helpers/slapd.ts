import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureOutput, freePort } from './process.ts';
import { inCi, missingTools, run } from './tools.ts';

/** Debian installs slapd in /usr/sbin, which a non-root PATH often lacks. */
export const slapdPath = '/usr/sbin/slapd';

/** For `describe(…, { skip: slapdMissing() })`: slapd, ldapadd and openssl, or why not. */
export function slapdMissing(): string | false {
  try {
    accessSync(slapdPath, constants.X_OK);
  } catch {
    const reason = `not installed: slapd (${slapdPath}; npm test installs it)`;
    if (inCi) throw new Error(`${reason}; CI=true forbids skipping`);
    return reason;
  }
  return missingTools('ldapadd', 'openssl');
}

export const seedLdif = fileURLToPath(new URL('../fixtures/ldap/seed.ldif', import.meta.url));

/** Names in test/fixtures/ldap/seed.ldif, for tests to configure Berth with. */
export const directory = {
  suffix: 'dc=berth,dc=test',
  peopleDn: 'ou=people,dc=berth,dc=test',
  groupsDn: 'ou=groups,dc=berth,dc=test',
  searchDn: 'cn=berth-search,ou=services,dc=berth,dc=test',
  searchPassword: 'Search-Ldap-Pass-1',
  developersDn: 'cn=developers,ou=groups,dc=berth,dc=test',
  adminsDn: 'cn=registry-admins,ou=groups,dc=berth,dc=test',
  operatorsDn: 'cn=operators,ou=groups,dc=berth,dc=test',
  users: {
    alice: 'Alice-Ldap-Pass-1',
    bob: 'Bob-Ldap-Pass-1',
    carol: 'Carol-Ldap-Pass-1',
    dave: 'Dave-Ldap-Pass-1',
  },
} as const;

const rootDn = 'cn=admin,dc=berth,dc=test';

export interface Slapd {
  /** ldap:// URL (StartTLS available on it). */
  url: string;
  /** ldaps:// URL. */
  secureUrl: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
  /** PEM of an unrelated CA, to show verification fails against it. */
  otherCaPem: string;
  /** Applies an LDIF change (changetype: modify, add, delete) as the directory's root. */
  modify(ldif: string): Promise<void>;
  stop(): Promise<void>;
}

async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const name of ['ca', 'other-ca']) {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.pem`),
      '-subj',
      `/CN=Berth test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  await writeFile(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  await run('openssl', [
    'req',
    ...ec,
    '-subj',
    '/CN=localhost',
    '-keyout',
    join(dir, 'server.key'),
    '-out',
    join(dir, 'server.csr'),
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-days',
    '2',
    '-in',
    join(dir, 'server.csr'),
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-extfile',
    join(dir, 'server.ext'),
    '-out',
    join(dir, 'server.pem'),
  ]);
}

function slapdConfig(dir: string, rootPasswordHash: string): string {
  const schema = (name: string) => `include /etc/ldap/schema/${name}.schema`;
  return [
    schema('core'),
    schema('cosine'),
    schema('inetorgperson'),
    schema('nis'),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    `TLSCACertificateFile ${join(dir, 'ca.pem')}`,
    `TLSCertificateFile ${join(dir, 'server.pem')}`,
    `TLSCertificateKeyFile ${join(dir, 'server.key')}`,
    'database mdb',
    `suffix "dc=berth,dc=test"`,
    `rootdn "${rootDn}"`,
    `rootpw ${rootPasswordHash}`,
    `directory ${join(dir, 'data')}`,
    'maxsize 67108864',
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    'access to attrs=userPassword by anonymous auth by * none',
    `access to * by dn.exact="${directory.searchDn}" read by self read by * none`,
    '',
  ].join('\n');
}

function waitForPort(
  port: number,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`slapd exited during start (${child.exitCode}):\n${output()}`));
        return;
      }
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`slapd did not listen on ${port}:\n${output()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * A throwaway OpenLDAP server on two free loopback ports (ldap:// with StartTLS, and ldaps://),
 * with its own config, certificates and mdb database in a temp dir, seeded from seed.ldif.
 * `stop()` ends it and removes the directory.
 */
export async function startSlapd(): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-slapd-'));
  await mkdir(join(dir, 'data'));
  await makeCertificates(dir);
  const rootPassword = `root-${Math.random().toString(36).slice(2)}`;
  const { stdout: rootHash } = await run('/usr/sbin/slappasswd', ['-h', '{SSHA}', '-s', rootPassword]);
  await writeFile(join(dir, 'slapd.conf'), slapdConfig(dir, rootHash.trim()));
  const [port, securePort] = [await freePort(), await freePort()];
  const url = `ldap://127.0.0.1:${port}`;
  const secureUrl = `ldaps://127.0.0.1:${securePort}`;
  // `-d 0`: stay in the foreground (so the child is slapd itself) without debug output.
  const child = spawn(slapdPath, ['-f', join(dir, 'slapd.conf'), '-h', `${url}/ ${secureUrl}/`, '-d', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, output);
    await waitForPort(securePort, child, output);
    await run('ldapadd', ['-x', '-H', url, '-D', rootDn, '-w', rootPassword, '-f', seedLdif]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    secureUrl,
    caPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
    otherCaPem: await readFile(join(dir, 'other-ca.pem'), 'utf8'),
    async modify(ldif: string) {
      const file = join(dir, `change-${Date.now()}.ldif`);
      await writeFile(file, ldif);
      await run('ldapmodify', ['-x', '-H', url, '-D', rootDn, '-w', rootPassword, '-f', file]);
    },
    stop,
  };
}
