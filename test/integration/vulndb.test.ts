import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AdvisoryStore } from '../../src/vuln/advisory-store.ts';
import { importOsv } from '../../src/vuln/osv-import.ts';
import { sharedFixture } from '../helpers/fixtures.ts';
import {
  createTestDatabaseLocation,
  openTestDatabase,
  type TestDatabaseLocation,
} from '../helpers/test-database.ts';
import { missingTools, run } from '../helpers/tools.ts';

const execFileAsync = promisify(execFile);
const npmAdvisories = () => sharedFixture('advisories', 'npm');
const repoRoot = new URL('../..', import.meta.url).pathname;

/** What `affecting` found, reduced to id → fixed versions, for exact comparison. */
async function fixes(store: AdvisoryStore, ecosystem: string, name: string, version: string) {
  const matches = await store.affecting(ecosystem, name, version);
  return Object.fromEntries(matches.map((m) => [m.id, m.fixedVersions]));
}

/** The fixture records' affected packages, as the records in /work/shared/fixtures/advisories/npm say. */
async function assertFixtureMatches(store: AdvisoryStore): Promise<void> {
  assert.deepEqual(await fixes(store, 'npm', 'lodash', '4.17.4'), {
    'GHSA-29mw-wpgm-hmr9': ['4.17.21'],
    'GHSA-35jh-r3h4-6jhm': ['4.17.21'],
    'GHSA-4xc9-xhrj-v574': ['4.17.11'],
    'GHSA-fvqr-27wr-82fm': ['4.17.5'],
    'GHSA-jf85-cpcp-j695': ['4.17.12'],
    'GHSA-p6mc-m468-83gw': ['4.17.20'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'lodash', '4.17.21'), {});
  assert.deepEqual(await fixes(store, 'npm', 'lodash', '4.17.20'), {
    'GHSA-29mw-wpgm-hmr9': ['4.17.21'],
    'GHSA-35jh-r3h4-6jhm': ['4.17.21'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'jquery', '3.3.1'), {
    'GHSA-6c3j-c64m-qhgq': ['3.4.0'],
    'GHSA-gxr4-xjj5-5px2': ['3.5.0'],
    'GHSA-jpcq-cgw6-v4j6': ['3.5.0'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'jquery', '3.5.0'), {});
  // GHSA-gxr4-xjj5-5px2 also names other ecosystems' packages.
  assert.deepEqual(await fixes(store, 'NuGet', 'jquery', '3.4.1'), { 'GHSA-gxr4-xjj5-5px2': ['3.5.0'] });
  assert.deepEqual(await fixes(store, 'RubyGems', 'jquery-rails', '4.3.5'), {
    'GHSA-gxr4-xjj5-5px2': ['4.4.0'],
  });
  assert.deepEqual(await fixes(store, 'Maven', 'org.webjars.npm:jquery', '3.4.1'), {
    'GHSA-gxr4-xjj5-5px2': ['3.5.0'],
  });
  // minimist: two affected entries per advisory, one per release line.
  assert.deepEqual(await fixes(store, 'npm', 'minimist', '0.0.8'), {
    'GHSA-vh95-rmgr-6w4m': ['0.2.1'],
    'GHSA-xvch-5gv4-984h': ['0.2.4'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'minimist', '1.2.0'), {
    'GHSA-vh95-rmgr-6w4m': ['1.2.3'],
    'GHSA-xvch-5gv4-984h': ['1.2.6'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'minimist', '1.2.5'), { 'GHSA-xvch-5gv4-984h': ['1.2.6'] });
  assert.deepEqual(await fixes(store, 'npm', 'minimist', '1.2.6'), {});
  // node-fetch: GHSA-r683's ranges overlap (introduced "1.0" → 3.1.1, and 0 → 2.6.7), as published.
  assert.deepEqual(await fixes(store, 'npm', 'node-fetch', '2.6.0'), {
    'GHSA-r683-j2x4-v87g': ['3.1.1', '2.6.7'],
    'GHSA-w7rc-rwvf-8q5r': ['2.6.1'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'node-fetch', '2.6.7'), { 'GHSA-r683-j2x4-v87g': ['3.1.1'] });
  assert.deepEqual(await fixes(store, 'npm', 'node-fetch', '3.0.0-beta.5'), {
    'GHSA-r683-j2x4-v87g': ['3.1.1'],
    'GHSA-w7rc-rwvf-8q5r': ['3.0.0-beta.9'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'node-fetch', '3.1.1'), {});
  // express: prerelease ranges of 5.0.
  assert.deepEqual(await fixes(store, 'npm', 'express', '4.18.2'), {
    'GHSA-qw6h-vgh9-j6wx': ['4.20.0'],
    'GHSA-rv95-896h-c2vc': ['4.19.2'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'express', '4.19.2'), { 'GHSA-qw6h-vgh9-j6wx': ['4.20.0'] });
  assert.deepEqual(await fixes(store, 'npm', 'express', '5.0.0-beta.1'), {
    'GHSA-qw6h-vgh9-j6wx': ['5.0.0'],
    'GHSA-rv95-896h-c2vc': ['5.0.0-beta.3'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'express', '5.0.0-beta.3'), {
    'GHSA-qw6h-vgh9-j6wx': ['5.0.0'],
  });
  assert.deepEqual(await fixes(store, 'npm', 'express', '4.21.0'), {});
  // lodash.trim names only last_affected: affected, no fix to offer.
  assert.deepEqual(await fixes(store, 'npm', 'lodash.trim', '4.5.1'), { 'GHSA-29mw-wpgm-hmr9': [] });
  assert.deepEqual(await fixes(store, 'npm', 'lodash.trim', '4.5.2'), {});
  // Another ecosystem's package of the same name does not match.
  assert.deepEqual(await fixes(store, 'PyPI', 'lodash', '4.17.4'), {});
}

describe('offline vulnerability database (OSV import)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-vulndb-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports the GHSA records from a directory and answers lookups per the records', async () => {
    const { db, close } = await openTestDatabase(join(dir, 'from-directory'));
    try {
      const progress: number[] = [];
      const summary = await importOsv(db, npmAdvisories(), {
        progressEvery: 5,
        batchSize: 4,
        onProgress: (p) => progress.push(p.files),
      });
      assert.equal(summary.files, 15);
      assert.equal(summary.inserted, 15);
      assert.equal(summary.failed, 0);
      assert.deepEqual(summary.errors, []);
      assert.deepEqual(progress, [5, 10, 15]);

      const store = new AdvisoryStore(db);
      await assertFixtureMatches(store);

      const [critical] = await store.affecting('npm', 'minimist', '1.2.5');
      assert.equal(critical?.severity, 'critical');
      assert.equal(critical?.score, 9.8);
      assert.deepEqual(critical?.aliases, ['CVE-2021-44906']);
      assert.equal(critical?.summary, 'Prototype Pollution in minimist');
      assert.ok(
        critical?.references.some((r) => r.url === 'https://nvd.nist.gov/vuln/detail/CVE-2021-44906'),
      );

      const lodash = await store.affecting('npm', 'lodash', '4.17.4');
      const byId = new Map(lodash.map((m) => [m.id, m]));
      // No CVSS vector in the record: the database's own word.
      assert.equal(byId.get('GHSA-fvqr-27wr-82fm')?.severity, 'low');
      assert.equal(byId.get('GHSA-fvqr-27wr-82fm')?.score, null);
      assert.equal(byId.get('GHSA-4xc9-xhrj-v574')?.severity, 'high');
      assert.equal(byId.get('GHSA-35jh-r3h4-6jhm')?.score, 7.2);
      // CVSS 3.0 vector of GHSA-r683.
      const [nodeFetch] = await store.affecting('npm', 'node-fetch', '2.6.7');
      assert.equal(nodeFetch?.score, 8.8);
      assert.equal(nodeFetch?.severity, 'high');
      // Both v3 and v4: the v3 vector is scored.
      const express = await store.affecting('npm', 'express', '4.19.2');
      assert.equal(express[0]?.cvssVector, 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L');
      assert.equal(express[0]?.score, 5);
      assert.equal(express[0]?.severity, 'medium');

      assert.deepEqual(await db.advisories.idsByAlias('CVE-2019-10744'), ['GHSA-jf85-cpcp-j695']);
      const status = await db.advisories.status();
      assert.equal(status.advisories, 15);
      assert.deepEqual(status.ecosystems, [
        { ecosystem: 'Maven', count: 1 },
        { ecosystem: 'NuGet', count: 1 },
        { ecosystem: 'RubyGems', count: 1 },
        { ecosystem: 'npm', count: 15 },
      ]);
      assert.equal(status.lastImport?.count, 15);

      // Importing again changes nothing.
      const again = await importOsv(db, npmAdvisories());
      assert.deepEqual([again.inserted, again.replaced, again.unchanged, again.failed], [0, 0, 15, 0]);
      assert.equal((await db.advisories.status()).affectedPackages, status.affectedPackages);
      await assertFixtureMatches(store);
    } finally {
      await close();
    }
  });

  it('imports the same records from a zip archive', { skip: missingTools('zip') }, async () => {
    const zipPath = join(dir, 'all.zip');
    // OSV's all.zip holds the records at its root; nest them one level to exercise paths too.
    const staging = join(dir, 'staging');
    cpSync(npmAdvisories(), join(staging, 'npm'), { recursive: true });
    writeFileSync(join(staging, 'README.txt'), 'not a record');
    await run('zip', ['-q', '-r', zipPath, '.'], { cwd: staging });
    const { db, close } = await openTestDatabase(join(dir, 'from-zip'));
    try {
      const summary = await importOsv(db, zipPath);
      assert.deepEqual([summary.files, summary.inserted, summary.failed], [15, 15, 0]);
      await assertFixtureMatches(new AdvisoryStore(db));
    } finally {
      await close();
    }
  });

  it('replaces a record only with a newer one, keeps withdrawn ones out of matches, reports bad files', async () => {
    const { db, close } = await openTestDatabase(join(dir, 'updates'));
    const source = join(dir, 'updates-source');
    cpSync(npmAdvisories(), source, { recursive: true });
    try {
      await importOsv(db, source);
      const store = new AdvisoryStore(db);
      const file = join(source, 'GHSA-vh95-rmgr-6w4m.json');
      const record = JSON.parse(readFileSync(file, 'utf8'));

      // Same id, older `modified`: ignored, even though it says something else.
      writeFileSync(file, JSON.stringify({ ...record, modified: '2020-01-01T00:00:00Z', summary: 'older' }));
      let summary = await importOsv(db, source);
      assert.deepEqual([summary.replaced, summary.unchanged], [0, 15]);
      assert.equal(
        (await db.advisories.findById('GHSA-vh95-rmgr-6w4m'))?.summary,
        'Prototype Pollution in minimist',
      );

      // Newer `modified` with a narrowed range: replaces the stored one and its affected entries.
      const narrowed = {
        ...record,
        modified: '2025-01-01T00:00:00Z',
        summary: 'newer',
        affected: [record.affected[1]],
      };
      writeFileSync(file, JSON.stringify(narrowed));
      summary = await importOsv(db, source);
      assert.deepEqual([summary.replaced, summary.unchanged], [1, 14]);
      assert.equal((await db.advisories.findById('GHSA-vh95-rmgr-6w4m'))?.summary, 'newer');
      assert.deepEqual(await fixes(store, 'npm', 'minimist', '0.0.8'), { 'GHSA-xvch-5gv4-984h': ['0.2.4'] });
      assert.deepEqual(await fixes(store, 'npm', 'minimist', '1.2.0'), {
        'GHSA-vh95-rmgr-6w4m': ['1.2.3'],
        'GHSA-xvch-5gv4-984h': ['1.2.6'],
      });

      // Withdrawn: kept and marked, but no longer reported.
      writeFileSync(
        file,
        JSON.stringify({ ...narrowed, modified: '2025-02-01T00:00:00Z', withdrawn: '2025-02-01T00:00:00Z' }),
      );
      summary = await importOsv(db, source);
      assert.deepEqual([summary.replaced, summary.withdrawn], [1, 1]);
      assert.equal((await db.advisories.findById('GHSA-vh95-rmgr-6w4m'))?.withdrawn, '2025-02-01T00:00:00Z');
      assert.deepEqual(await fixes(store, 'npm', 'minimist', '1.2.0'), { 'GHSA-xvch-5gv4-984h': ['1.2.6'] });
      assert.equal((await db.advisories.status()).withdrawn, 1);

      // Malformed files: reported one by one, the rest imported.
      writeFileSync(join(source, 'broken.json'), '{"id": "GHSA-broken", "modified": ');
      writeFileSync(join(source, 'no-modified.json'), JSON.stringify({ id: 'GHSA-xxxx', affected: [] }));
      writeFileSync(
        join(source, 'PYSEC-2099-1.json'),
        JSON.stringify({
          id: 'PYSEC-2099-1',
          modified: '2025-01-01T00:00:00Z',
          affected: [
            {
              package: { ecosystem: 'PyPI', name: 'Zope.Interface' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.0' }] }],
            },
          ],
        }),
      );
      summary = await importOsv(db, source);
      assert.deepEqual([summary.files, summary.inserted, summary.failed], [18, 1, 2]);
      assert.deepEqual(summary.errors.map((e) => e.file).sort(), ['broken.json', 'no-modified.json']);
      assert.match(summary.errors.find((e) => e.file === 'no-modified.json')?.message ?? '', /modified/);
      // PyPI names are compared in their PEP 503 form.
      assert.deepEqual(await fixes(store, 'PyPI', 'zope-interface', '4.7.1'), { 'PYSEC-2099-1': ['5.0'] });
      assert.deepEqual(await fixes(store, 'PyPI', 'zope_Interface', '5.0'), {});
    } finally {
      await close();
    }
  });

  it('release-specific ecosystems match their release only (Debian DSA example)', async () => {
    const { db, close } = await openTestDatabase(join(dir, 'debian'));
    try {
      const summary = await importOsv(db, sharedFixture('advisories', 'debian'));
      assert.equal(summary.inserted, 1);
      const store = new AdvisoryStore(db);
      const record = JSON.parse(
        readFileSync(sharedFixture('advisories', 'debian', 'DSA-3029-1.json'), 'utf8'),
      );
      const entry = record.affected[0];
      const fixed = entry.ranges[0].events.find((e: { fixed?: string }) => e.fixed).fixed as string;
      assert.equal(entry.package.ecosystem, 'Debian:7');
      assert.deepEqual(await fixes(store, 'Debian:7', 'nginx', '1.2.1-2.2'), { 'DSA-3029-1': [fixed] });
      assert.deepEqual(await fixes(store, 'Debian:7', 'nginx', fixed), {});
      assert.deepEqual(await fixes(store, 'Debian:12', 'nginx', '1.2.1-2.2'), {});
    } finally {
      await close();
    }
  });

  describe('berth vulndb CLI', () => {
    // The CLI opens the database Berth is configured with: with BERTH_TEST_DATABASE=postgres, a
    // fresh PostgreSQL database per test, handed over as BERTH_DATABASE_URL.
    const databases: TestDatabaseLocation[] = [];
    before(async () => {
      await execFileAsync('npm', ['run', 'build', '--silent'], { cwd: repoRoot });
    });
    after(async () => {
      for (const database of databases) await database.drop();
    });

    async function cliDatabaseEnv(): Promise<NodeJS.ProcessEnv> {
      const database = await createTestDatabaseLocation();
      databases.push(database);
      return { ...process.env, ...database.env };
    }

    const berth = (args: string[], env: NodeJS.ProcessEnv) =>
      execFileAsync(process.execPath, [join(repoRoot, 'bin/berth.js'), ...args], { cwd: repoRoot, env }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );

    it('imports, reports progress and a summary, and shows status', async () => {
      const data = join(dir, 'cli-data');
      const env = await cliDatabaseEnv();
      const imported = await berth(['vulndb', 'import', npmAdvisories(), '--data', data], env);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /15 files, 15 new, 0 updated, 0 unchanged, 0 withdrawn, 0 failed/);
      assert.match(imported.stderr, /vulndb: 15 files, 15 new/);

      const status = await berth(['vulndb', 'status', '--data', data], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /advisories: 15 \(0 withdrawn\)/);
      assert.match(status.stdout, /npm: 15 advisories/);
      assert.match(status.stdout, /last import: .* \(15 records\)/);

      const again = await berth(['vulndb', 'import', npmAdvisories(), '--data', data], env);
      assert.match(again.stdout, /0 new, 0 updated, 15 unchanged/);
    });

    it('fails when nothing could be read', async () => {
      const data = join(dir, 'cli-empty');
      const env = await cliDatabaseEnv();
      const missing = await berth(['vulndb', 'import', join(dir, 'does-not-exist'), '--data', data], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /vulndb import/);

      writeFileSync(join(dir, 'garbage.json'), 'not json');
      const garbage = await berth(['vulndb', 'import', join(dir, 'garbage.json'), '--data', data], env);
      assert.equal(garbage.code, 1);
      assert.match(garbage.stderr, /garbage\.json/);
      assert.match(garbage.stdout, /1 files, 0 new.*1 failed/);
    });
  });
});
