import assert from 'node:assert/strict';
import { chown, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { openDatabase } from '../../src/db/open.ts';
import { openPostgresDatabase } from '../../src/db/postgres.ts';
import { makeTempDir } from '../helpers/berth.ts';
import { freePort } from '../helpers/process.ts';
import { inCi, run } from '../helpers/tools.ts';

/**
 * TLS to PostgreSQL against a real server: a throwaway cluster (initdb, pg_ctl) that accepts only
 * TLS connections (`hostssl` in pg_hba.conf), with a certificate from a CA made here.
 */

async function postgresBin(): Promise<string | undefined> {
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? `/usr/lib/postgresql/${newest}/bin` : undefined;
}

const bin = await postgresBin();
const skip = bin ? false : 'PostgreSQL server binaries (initdb, pg_ctl) not installed';
if (skip && inCi) throw new Error(`${skip}; CI=true forbids skipping`);

/** initdb and the server refuse to run as root: as root, they run as the postgres user. */
function asServerUser(command: string, args: string[]) {
  return process.getuid?.() === 0
    ? run('runuser', ['-u', 'postgres', '--', command, ...args])
    : run(command, args);
}

async function makeCa(dir: string, name: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  return { key, cert };
}

describe('PostgreSQL over TLS', { skip }, () => {
  let dir: string;
  let data: string;
  let port: number;
  let ca: { key: string; cert: string };
  let otherCa: { key: string; cert: string };
  let started = false;

  before(async () => {
    dir = await makeTempDir('berth-pg-tls-');
    data = join(dir, 'data');
    ca = await makeCa(dir, 'test-ca');
    otherCa = await makeCa(dir, 'other-ca');
    const serverKey = join(dir, 'server.key');
    const serverCsr = join(dir, 'server.csr');
    const serverCert = join(dir, 'server.crt');
    await run('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      serverKey,
      '-out',
      serverCsr,
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      serverCsr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      serverCert,
      '-days',
      '2',
      '-extfile',
      join(dir, 'san.ext'),
    ]);
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: group } = await run('id', ['-g', 'postgres']);
      for (const path of [dir, serverKey, serverCert]) await chown(path, Number(stdout), Number(group));
    }
    await asServerUser(join(bin!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    // Only TLS connections are accepted over TCP.
    await asServerUser('sh', [
      '-c',
      `printf 'local all all trust\\nhostssl all all 127.0.0.1/32 trust\\n' > ${data}/pg_hba.conf`,
    ]);
    port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c ssl=on',
      `-c ssl_cert_file=${serverCert}`,
      `-c ssl_key_file=${serverKey}`,
      '-c fsync=off',
    ].join(' ');
    await asServerUser(join(bin!, 'pg_ctl'), [
      '-D',
      data,
      '-o',
      settings,
      '-l',
      join(dir, 'server.log'),
      '-w',
      'start',
    ]);
    started = true;
  });

  after(async () => {
    if (started)
      await asServerUser(join(bin!, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  const url = () => `postgres://postgres@127.0.0.1:${port}/postgres`;

  it('connects with database.tls and a CA file, verifying the server, and migrates', async () => {
    const db = openPostgresDatabase(url(), { tls: { caFile: ca.cert }, poolSize: 2 });
    try {
      assert.ok((await db.migrate()).length >= 13);
      await db.repositories.ensure('over/tls', 1);
      assert.equal(await db.repositories.exists('over/tls'), true);
    } finally {
      await db.close();
    }
  });

  it('is configured by BERTH_DATABASE_URL and database.tls settings', async () => {
    const config = loadConfig({
      env: {
        BERTH_DATABASE_URL: url(),
        BERTH_DATABASE_TLS_ENABLED: 'true',
        BERTH_DATABASE_TLS_CA_FILE: ca.cert,
      },
      flags: { data: dir },
    });
    const db = openDatabase(config.database);
    try {
      assert.deepEqual(await db.migrate(), []);
      assert.equal(await db.repositories.exists('over/tls'), true);
    } finally {
      await db.close();
    }
  });

  it('connects with sslmode=verify-full and sslrootcert in the URL', async () => {
    const db = openPostgresDatabase(
      `${url()}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.cert)}`,
    );
    try {
      assert.equal(await db.repositories.exists('over/tls'), true);
    } finally {
      await db.close();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const db = openPostgresDatabase(url(), { tls: { caFile: otherCa.cert } });
    try {
      await assert.rejects(db.migrate(), /self[- ]signed|unable to (get|verify)|certificate/i);
    } finally {
      await db.close();
    }
  });

  it('cannot connect without TLS: the server accepts none', async () => {
    const db = openPostgresDatabase(url());
    try {
      await assert.rejects(db.migrate(), /no pg_hba\.conf entry.*no encryption/);
    } finally {
      await db.close();
    }
  });
});
