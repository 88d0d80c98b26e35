import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/open.ts';
import { importOsv } from '../../src/vuln/osv-import.ts';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { sharedFixture } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { pushNodeAppImage } from '../helpers/node-app-image.ts';

const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';
const _npmApp = (file: string): string =>
  readFileSync(new URL(`../fixtures/npm-app/${file}`, import.meta.url), 'utf8');

interface Item {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  layer: { digest: string };
  artifact_digests: string[];
  preferred_cvss: { score_v3?: number; vector_v3?: string };
  cwe_ids: string[];
  links: string[];
  vendor_attributes: { aliases: string[]; ecosystem: string };
}

describe('a scan matches a real advisory to a package in the image', () => {
  let berth: TestBerth;

  before(async () => {
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 200 });
    // Real records from the GitHub Advisory Database (see the shared fixtures' README).
    const advisories = mkdtempSync(join(tmpdir(), 'berth-scan-osv-'));
    for (const id of ['GHSA-jf85-cpcp-j695', 'GHSA-6c3j-c64m-qhgq'])
      cpSync(sharedFixture('advisories', 'npm', `${id}.json`), join(advisories, `${id}.json`));
    const db = openDatabase(berth.config.database);
    try {
      assert.equal((await importOsv(db, advisories)).inserted, 2);
    } finally {
      await db.close();
      rmSync(advisories, { recursive: true, force: true });
    }
  });
  after(() => berth?.destroy());

  it('reports lodash 4.17.4 and jquery 3.3.1 (from a lockfile in an app layer on alpine) with fixes and layer', async () => {
    const client = new RegistryClient(berth.url);
    const repository = 'library/node-app';
    const { digest, appLayer: appDigest } = await pushNodeAppImage(client, repository);

    const path = `/projects/library/repositories/node-app/artifacts/${digest}`;
    assert.equal((await apiRequest(berth, testAdmin, 'POST', `${path}/scan`)).status, 202);
    let report: { severity: string; vulnerabilities: Item[] } | undefined;
    for (let attempt = 0; attempt < 200 && !report; attempt++) {
      const response = await apiRequest(berth, testAdmin, 'GET', `${path}/additions/vulnerabilities`);
      if (response.status === 200) report = response.json<Record<string, typeof report>>()[reportMime];
      else await sleep(100);
    }
    assert.ok(report, 'the scan finished within 20 s');
    assert.equal(report.severity, 'Critical');
    // The lockfile also pins jquery 3.3.1, which GHSA-6c3j-c64m-qhgq (fixed in 3.4.0) affects.
    const byId = new Map(report.vulnerabilities.map((entry) => [entry.id, entry]));
    assert.deepEqual([...byId.keys()].sort(), ['GHSA-6c3j-c64m-qhgq', 'GHSA-jf85-cpcp-j695']);
    const jquery = byId.get('GHSA-6c3j-c64m-qhgq')!;
    assert.deepEqual(
      [jquery.package, jquery.version, jquery.fix_version, jquery.severity],
      ['jquery', '3.3.1', '3.4.0', 'Medium'],
    );
    const item = byId.get('GHSA-jf85-cpcp-j695')!;
    assert.equal(item.package, 'lodash');
    assert.equal(item.version, '4.17.4');
    assert.equal(item.fix_version, '4.17.12');
    assert.equal(item.severity, 'Critical');
    assert.deepEqual(item.layer, { digest: appDigest });
    assert.deepEqual(item.artifact_digests, [digest]);
    assert.equal(item.preferred_cvss.vector_v3, 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H');
    assert.equal(item.preferred_cvss.score_v3, 9.1);
    // The record's database_specific.cwe_ids.
    assert.deepEqual(item.cwe_ids, ['CWE-20']);
    assert.deepEqual(jquery.cwe_ids, ['CWE-1321', 'CWE-79']);
    assert.ok(item.vendor_attributes.aliases.includes('CVE-2019-10744'));
    assert.equal(item.vendor_attributes.ecosystem, 'npm');
    assert.ok(item.links.length > 0);

    const listed = await apiRequest(
      berth,
      testAdmin,
      'GET',
      '/projects/library/repositories/node-app/artifacts?with_scan_overview=true',
    );
    const overview =
      listed.json<{ scan_overview: Record<string, { summary: unknown; scan_status: string }> }[]>()[0]!
        .scan_overview[reportMime]!;
    assert.equal(overview.scan_status, 'Success');
    assert.deepEqual(overview.summary, { total: 2, fixable: 2, summary: { Critical: 1, Medium: 1 } });
  });
});
