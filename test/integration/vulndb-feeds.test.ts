import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { KyselyDatabase } from '../../src/db/database.ts';
import { openDatabase } from '../../src/db/open.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { AdvisoryStore } from '../../src/vuln/advisory-store.ts';
import { importAdvisories } from '../../src/vuln/feed-import.ts';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { alpineLayout, alpineManifestDigest, sharedFixture } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';

const execFileAsync = promisify(execFile);
const repoRoot = new URL('../..', import.meta.url).pathname;
/** A real Alpine secdb file (v3.11 main, two packages); see test/fixtures/advisories/README.md. */
const secdbFile = join(repoRoot, 'test/fixtures/advisories/alpine/v3.11-main.json');

/**
 * Alpine secdb v3.17 main as aquasecurity/vuln-list stores it: one file per origin package, each a
 * secdb `packages[].pkg` object (name, secfixes) with the document's own fields beside it. Put back
 * into secdb's shape, every package's name and secfixes as stored; see the fixtures' README.
 */
function secdb317Main(): string {
  const dir = join(repoRoot, 'test/fixtures/advisories/alpine/vuln-list-3.17-main');
  const files = readdirSync(dir)
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')));
  const [first] = files;
  return JSON.stringify({
    apkurl: first.apkurl,
    archs: first.archs,
    reponame: first.reponame,
    urlprefix: first.urlprefix,
    distroversion: first.distroversion,
    packages: files.map((file) => ({ pkg: { name: file.name, secfixes: file.secfixes } })),
  });
}

/** What secdb v3.17 main says of the alpine:3.17.2 image's versions, per origin package. */
const expected317 = {
  // openssl 3.0.8-r0: every fix after it; CVE-2023-0286 and the rest of 3.0.8-r0 are fixed in it.
  openssl: {
    'CVE-2023-0464': ['3.0.8-r1'],
    'CVE-2023-0465': ['3.0.8-r2'],
    'CVE-2023-0466': ['3.0.8-r3'],
    'CVE-2023-1255': ['3.0.8-r4'],
    'CVE-2023-2650': ['3.0.9-r0'],
    'CVE-2023-2975': ['3.0.9-r2'],
    'CVE-2023-3446': ['3.0.9-r3'],
    'CVE-2023-3817': ['3.0.10-r0'],
    'CVE-2023-5363': ['3.0.12-r0'],
    'CVE-2023-5678': ['3.0.12-r1'],
    'CVE-2023-6129': ['3.0.12-r2'],
    'CVE-2023-6237': ['3.0.12-r3'],
  },
  // musl 1.2.3-r4: 1.2.2_pre2-r0 sorts before 1.2.3, so only the 1.2.3-r6 fix is missing.
  musl: { 'CVE-2025-26519': ['1.2.3-r6'] },
  // busybox 1.35.0-r29: fixes up to 1.35.0-r17 are in it; "0" lists never-affected issues.
  busybox: {
    'CVE-2023-42363': ['1.35.0-r31'],
    'CVE-2023-42364': ['1.35.0-r31'],
    'CVE-2023-42365': ['1.35.0-r31'],
    'CVE-2023-42366': ['1.35.0-r30'],
  },
  // zlib 1.2.13-r0 and apk-tools 2.12.10-r1 have every listed fix.
  zlib: {},
  'apk-tools': {},
} as const;
const installed317: Record<keyof typeof expected317, string> = {
  openssl: '3.0.8-r0',
  musl: '1.2.3-r4',
  busybox: '1.35.0-r29',
  zlib: '1.2.13-r0',
  'apk-tools': '2.12.10-r1',
};

async function freshDatabase(dir: string): Promise<KyselyDatabase> {
  const db = openSqliteDatabase({ path: join(dir, 'berth.db') });
  await db.migrate();
  return db;
}

/** What `affecting` found, reduced to reported id → fixed versions. */
async function fixes(store: AdvisoryStore, ecosystem: string, name: string, version: string) {
  const matches = await store.affecting(ecosystem, name, version);
  return Object.fromEntries(matches.map((m) => [m.id, m.fixedVersions]));
}

describe('vulnerability feeds: Alpine secdb, CVSS v4 and CWE ids', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-vulndb-feeds-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a secdb file, told from its content, and matches with the apk version order', async () => {
    const db = await freshDatabase(join(dir, 'secdb'));
    try {
      const summary = await importAdvisories(db, secdbFile);
      assert.equal(summary.format, 'alpine-secdb');
      // XSA-248, XSA-252, CVE-2018-7540 (alias XSA-252), CVE-2017-9669, CVE-2017-9671.
      assert.deepEqual([summary.files, summary.inserted, summary.failed], [1, 5, 0]);
      const store = new AdvisoryStore(db);

      // apk-tools: "2.7.2-r0": ["CVE-2017-9669", "CVE-2017-9671"].
      assert.deepEqual(await fixes(store, 'Alpine:v3.11', 'apk-tools', '2.7.1-r0'), {
        'CVE-2017-9669': ['2.7.2-r0'],
        'CVE-2017-9671': ['2.7.2-r0'],
      });
      assert.deepEqual(await fixes(store, 'Alpine:v3.11', 'apk-tools', '2.7.2_rc1-r0'), {
        'CVE-2017-9669': ['2.7.2-r0'],
        'CVE-2017-9671': ['2.7.2-r0'],
      });
      assert.deepEqual(await fixes(store, 'Alpine:v3.11', 'apk-tools', '2.7.2-r0'), {});
      // The version alpine:3.17.2 ships (lib/apk/db/installed of the shared OCI fixture).
      assert.deepEqual(await fixes(store, 'Alpine:v3.11', 'apk-tools', '2.12.10-r1'), {});
      // A branch's secdb speaks for that branch only.
      assert.deepEqual(await fixes(store, 'Alpine:v3.17', 'apk-tools', '2.7.1-r0'), {});

      // xen: "4.10.0-r1": ["XSA-248"], "4.10.0-r2": ["CVE-2018-7540 XSA-252"], and "4.10-1-r1":
      // ["XSA-252"] as published; "4.10-1-r1" is no apk version, so that entry cannot be ordered and
      // matches nothing (the range evaluator names it unsupported) while XSA-252 is still reported
      // through CVE-2018-7540's aliases.
      const xen = await store.affecting('Alpine:v3.11', 'xen', '4.10.0-r0');
      const byId = new Map(xen.map((m) => [m.id, m]));
      assert.deepEqual(byId.get('XSA-248')?.fixedVersions, ['4.10.0-r1']);
      assert.deepEqual(byId.get('CVE-2018-7540')?.fixedVersions, ['4.10.0-r2']);
      assert.deepEqual(byId.get('CVE-2018-7540')?.aliases, ['XSA-252']);
      assert.equal(byId.get('CVE-2018-7540')?.source, 'alpine-secdb');
      assert.equal(byId.get('CVE-2018-7540')?.key, 'alpine-secdb:v3.11/main:CVE-2018-7540');
      assert.equal(byId.get('CVE-2018-7540')?.severity, 'unknown');
      assert.deepEqual(byId.get('CVE-2018-7540')?.references, [
        { type: 'ADVISORY', url: 'https://security.alpinelinux.org/vuln/CVE-2018-7540' },
      ]);
      assert.equal(byId.has('XSA-252'), false);
      assert.deepEqual(await fixes(store, 'Alpine:v3.11', 'xen', '4.10.0-r2'), {});

      assert.deepEqual(await db.advisories.idsByAlias('CVE-2017-9669'), [
        'alpine-secdb:v3.11/main:CVE-2017-9669',
      ]);
      const status = await db.advisories.status();
      assert.deepEqual(status.sources, [{ source: 'alpine-secdb', count: 5 }]);
      assert.deepEqual(status.ecosystems, [{ ecosystem: 'Alpine', count: 5 }]);

      // The same file again: nothing changes.
      const again = await importAdvisories(db, secdbFile);
      assert.deepEqual([again.inserted, again.replaced, again.unchanged], [0, 0, 5]);
    } finally {
      await db.close();
    }
  });

  it('matches secdb v3.17 main against the versions alpine:3.17.2 ships', async () => {
    const db = await freshDatabase(join(dir, 'secdb-317'));
    const file = join(dir, 'v3.17-main.json');
    writeFileSync(file, secdb317Main());
    try {
      const summary = await importAdvisories(db, file);
      assert.equal(summary.format, 'alpine-secdb');
      assert.equal(summary.failed, 0);
      const store = new AdvisoryStore(db);
      for (const [origin, version] of Object.entries(installed317)) {
        assert.deepEqual(
          await fixes(store, 'Alpine:v3.17', origin, version),
          expected317[origin as keyof typeof expected317],
          `${origin} ${version}`,
        );
      }
      // Equal to a fix: not affected by it; one release older: affected.
      assert.equal(
        (await fixes(store, 'Alpine:v3.17', 'openssl', '3.0.7-r2'))['CVE-2023-0286']?.[0],
        '3.0.8-r0',
      );
      assert.equal((await fixes(store, 'Alpine:v3.17', 'openssl', '3.0.8-r0'))['CVE-2023-0286'], undefined);
      assert.deepEqual(await fixes(store, 'Alpine:v3.17', 'openssl', '3.0.12-r3'), {});
      assert.deepEqual(await fixes(store, 'Alpine:v3.17', 'zlib', '1.2.12-r1'), {
        'CVE-2022-37434': ['1.2.12-r2'],
      });
      // Listed under "0": never affected, whatever the version.
      for (const id of ['CVE-2023-45853', 'CVE-2023-6992'])
        assert.equal((await fixes(store, 'Alpine:v3.17', 'zlib', '1.2.11-r0'))[id], undefined);
      assert.deepEqual(await db.advisories.idsByAlias('CVE-2022-1292'), []);
      // Two ids listed as separate entries under one version are two records.
      const r6 = await fixes(store, 'Alpine:v3.17', 'busybox', '1.35.0-r6');
      assert.deepEqual([r6['ALPINE-13661'], r6['CVE-2022-28391']], [['1.35.0-r7'], ['1.35.0-r7']]);
    } finally {
      await db.close();
    }
  });

  it('keeps records of the same CVE from different feeds apart', async () => {
    const db = await freshDatabase(join(dir, 'distinct'));
    try {
      await importAdvisories(db, secdbFile);
      // The same published entries, as if they came from the branch's community repository.
      const community = join(dir, 'community.json');
      const document = JSON.parse(readFileSync(secdbFile, 'utf8'));
      writeFileSync(community, JSON.stringify({ ...document, reponame: 'community' }));
      const summary = await importAdvisories(db, community);
      assert.equal(summary.inserted, 5);
      // And an OSV record alongside (the DSA example of the OSV schema).
      const osv = await importAdvisories(db, sharedFixture('advisories', 'debian'));
      assert.deepEqual([osv.format, osv.inserted], ['osv', 1]);

      const store = new AdvisoryStore(db);
      const matches = await store.affecting('Alpine:v3.11', 'apk-tools', '2.7.1-r0');
      assert.deepEqual(
        matches.map((m) => [m.id, m.key]),
        [
          ['CVE-2017-9669', 'alpine-secdb:v3.11/community:CVE-2017-9669'],
          ['CVE-2017-9671', 'alpine-secdb:v3.11/community:CVE-2017-9671'],
          ['CVE-2017-9669', 'alpine-secdb:v3.11/main:CVE-2017-9669'],
          ['CVE-2017-9671', 'alpine-secdb:v3.11/main:CVE-2017-9671'],
        ],
      );
      assert.deepEqual((await db.advisories.idsByAlias('CVE-2017-9669')).sort(), [
        'alpine-secdb:v3.11/community:CVE-2017-9669',
        'alpine-secdb:v3.11/main:CVE-2017-9669',
      ]);
      assert.deepEqual((await db.advisories.status()).sources, [
        { source: 'alpine-secdb', count: 10 },
        { source: 'osv', count: 1 },
      ]);
      assert.deepEqual(await fixes(store, 'Debian:7', 'nginx', '1.2.1-2.2'), {
        'DSA-3029-1': ['1.2.1-2.2+wheezy3'],
      });
    } finally {
      await db.close();
    }
  });

  it('refuses a file that is not of the format asked for', async () => {
    const db = await freshDatabase(join(dir, 'format'));
    try {
      await assert.rejects(
        importAdvisories(db, secdbFile, { format: 'debian-tracker' }),
        /not Debian security tracker JSON/,
      );
      await assert.rejects(
        importAdvisories(db, sharedFixture('advisories', 'debian', 'DSA-3029-1.json'), {
          format: 'alpine-secdb',
        }),
        /not an Alpine secdb file/,
      );
      await assert.rejects(
        importAdvisories(db, sharedFixture('advisories', 'debian'), { format: 'alpine-secdb' }),
        /one JSON file/,
      );
    } finally {
      await db.close();
    }
  });

  it('stores CWE ids and scores CVSS v4 vectors of OSV records', async () => {
    const db = await freshDatabase(join(dir, 'osv'));
    try {
      await importAdvisories(db, sharedFixture('advisories', 'npm'));
      const store = new AdvisoryStore(db);
      // GHSA-qw6h-vgh9-j6wx has a v3.1 and a v4.0 vector and database_specific.cwe_ids ["CWE-79"].
      const [express] = await store.affecting('npm', 'express', '4.19.2');
      assert.equal(express?.id, 'GHSA-qw6h-vgh9-j6wx');
      assert.deepEqual(express?.cweIds, ['CWE-79']);
      assert.equal(express?.cvssVector, 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L');
      assert.equal(express?.score, 5);
      assert.equal(express?.cvssV4Vector, 'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L');
      assert.equal(express?.scoreV4, 2.3);
      // The v3 score decides the severity when there is one.
      assert.equal(express?.severity, 'medium');
      const [minimist] = await store.affecting('npm', 'minimist', '1.2.5');
      assert.deepEqual(minimist?.cweIds, ['CWE-1321']);
      assert.equal(minimist?.scoreV4, null);
      const nodeFetch = await store.affecting('npm', 'node-fetch', '2.6.7');
      assert.deepEqual(nodeFetch[0]?.cweIds, ['CWE-173', 'CWE-200', 'CWE-601']);
    } finally {
      await db.close();
    }
  });

  describe('a scan of the real alpine:3.17.2 image against secdb v3.17 main', () => {
    let berth: TestBerth;
    before(async () => {
      berth = await startTestBerth({ 'jobs.pollIntervalMs': 200 });
      const file = join(dir, 'scan-v3.17-main.json');
      writeFileSync(file, secdb317Main());
      const db = openDatabase(berth.config.database);
      try {
        assert.equal((await importAdvisories(db, file)).format, 'alpine-secdb');
      } finally {
        await db.close();
      }
    });
    after(() => berth?.destroy());

    it("reports each binary package by its origin's secdb entries, with the fixed version", async () => {
      const client = new RegistryClient(berth.url);
      const layout = alpineLayout();
      const manifest = JSON.parse((await readLayoutBlob(layout, alpineManifestDigest)).toString('utf8')) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      await client.pushBlob('library/alpine', await readLayoutBlob(layout, manifest.config.digest));
      for (const layer of manifest.layers)
        await client.pushBlob('library/alpine', await readLayoutBlob(layout, layer.digest));
      const put = await client.putManifest('library/alpine', '3.17.2', manifest);
      assert.equal(put.status, 201, put.body.toString());
      const digest = put.header('docker-content-digest')!;

      const path = `/projects/library/repositories/alpine/artifacts/${digest}`;
      assert.equal((await apiRequest(berth, testAdmin, 'POST', `${path}/scan`)).status, 202);
      type Item = {
        id: string;
        package: string;
        version: string;
        fix_version: string;
        severity: string;
        links: string[];
        cwe_ids: string[];
        preferred_cvss: Record<string, unknown>;
        vendor_attributes: { ecosystem: string; source_package: string };
      };
      let report: { severity: string; vulnerabilities: Item[] } | undefined;
      for (let attempt = 0; attempt < 300 && !report; attempt++) {
        const response = await apiRequest(berth, testAdmin, 'GET', `${path}/additions/vulnerabilities`);
        if (response.status === 200)
          report =
            response.json<Record<string, typeof report>>()[
              'application/vnd.security.vulnerability.report; version=1.1'
            ];
        else await sleep(100);
      }
      assert.ok(report, 'the scan finished within 30 s');

      // The image's packages by origin (lib/apk/db/installed): libcrypto3 and libssl3 from openssl,
      // musl and musl-utils from musl, busybox, busybox-binsh and ssl_client from busybox.
      const binaries: Record<string, string[]> = {
        openssl: ['libcrypto3', 'libssl3'],
        musl: ['musl', 'musl-utils'],
        busybox: ['busybox', 'busybox-binsh', 'ssl_client'],
      };
      const want: string[] = [];
      for (const [origin, packages] of Object.entries(binaries))
        for (const name of packages)
          for (const [id, [fix]] of Object.entries(
            expected317[origin as keyof typeof expected317] as Record<string, string[]>,
          ))
            want.push(`${name} ${installed317[origin as keyof typeof installed317]} ${id} ${fix}`);
      const got = report.vulnerabilities.map(
        (item) => `${item.package} ${item.version} ${item.id} ${item.fix_version}`,
      );
      assert.deepEqual(got.sort(), want.sort());
      assert.equal(got.length, 38);
      for (const item of report.vulnerabilities) {
        assert.equal(item.vendor_attributes.ecosystem, 'Alpine:v3.17');
        // secdb names no severity, CVSS or CWE.
        assert.equal(item.severity, 'Unknown');
        assert.deepEqual(item.preferred_cvss, {});
        assert.deepEqual(item.cwe_ids, []);
        assert.deepEqual(item.links, [`https://security.alpinelinux.org/vuln/${item.id}`]);
      }
      assert.equal(report.severity, 'Unknown');
    });
  });

  describe('berth vulndb import', () => {
    before(async () => {
      await execFileAsync('npm', ['run', 'build', '--silent'], { cwd: repoRoot });
    });

    const berth = (args: string[]) =>
      execFileAsync(process.execPath, [join(repoRoot, 'bin/berth.js'), ...args], { cwd: repoRoot }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );

    it('tells a secdb file from its content, takes --format, and shows the feed in status', async () => {
      const data = join(dir, 'cli-data');
      const imported = await berth(['vulndb', 'import', secdbFile, '--data', data]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(
        imported.stdout,
        /\(alpine-secdb\): 1 files, 5 new, 0 updated, 0 unchanged, 0 withdrawn, 0 failed/,
      );

      const forced = await berth(['vulndb', 'import', secdbFile, '--format', 'alpine-secdb', '--data', data]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /0 new, 0 updated, 5 unchanged/);

      const wrong = await berth([
        'vulndb',
        'import',
        secdbFile,
        '--format',
        'debian-tracker',
        '--data',
        data,
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /not Debian security tracker JSON/);

      const unknown = await berth(['vulndb', 'import', secdbFile, '--format', 'yaml', '--data', data]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /osv, alpine-secdb, debian-tracker/);

      const status = await berth(['vulndb', 'status', '--data', data]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /advisories: 5 \(0 withdrawn\)/);
      assert.match(status.stdout, /from alpine-secdb: 5/);
      assert.match(status.stdout, /Alpine: 5 advisories/);
    });
  });
});
