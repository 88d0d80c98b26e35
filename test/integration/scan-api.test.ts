import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/open.ts';
import { importOsv } from '../../src/vuln/osv-import.ts';
import { type ApiCaller, apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { alpineLayout, alpineManifestDigest, sharedFixture } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';

const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';
const guest = { username: 'gina', password: 'Gina-Guest-Pass-1' };

interface Overview {
  report_id: string;
  scan_status: string;
  severity: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
  start_time: string;
  end_time?: string;
  complete_percent: number;
  scanner: { name: string; vendor: string; version: string };
}

/** Copies the real alpine:3.17.2 linux/amd64 image into `repository` under `tag`; returns its layer digest. */
async function pushAlpine(client: RegistryClient, repository: string, tag: string): Promise<string> {
  const layout = alpineLayout();
  const manifestBytes = await readLayoutBlob(layout, alpineManifestDigest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    mediaType: string;
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]) {
    assert.equal(await client.pushBlob(repository, await readLayoutBlob(layout, digest)), digest);
  }
  const put = await client.putManifest(repository, tag, manifestBytes, manifest.mediaType);
  assert.equal(put.status, 201, put.body.toString());
  return manifest.layers[0]!.digest;
}

describe('vulnerability scans through the Harbor API', () => {
  let berth: TestBerth;
  let client: RegistryClient;
  let layerDigest: string;
  const api = (caller: ApiCaller, method: string, path: string, body?: unknown) =>
    apiRequest(berth, caller, method, path, body);
  const artifactPath = (project: string, repository: string, reference: string) =>
    `/projects/${project}/repositories/${repository}/artifacts/${reference}`;

  async function overview(project: string, repository: string): Promise<Overview | undefined> {
    const response = await api(
      testAdmin,
      'GET',
      `${artifactPath(project, repository, alpineManifestDigest)}?with_scan_overview=true`,
    );
    assert.equal(response.status, 200, response.body.toString());
    return (response.json() as { scan_overview: Record<string, Overview> }).scan_overview[reportMime];
  }

  async function finished(
    project: string,
    repository: string,
    final: readonly string[] = ['Success', 'Error', 'Stopped'],
  ): Promise<Overview> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const current = await overview(project, repository);
      if (current && final.includes(current.scan_status)) return current;
      await sleep(100);
    }
    throw new Error('the scan did not finish in 20 s');
  }

  before(async () => {
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 200 });
    client = new RegistryClient(berth.url);
    // One real advisory (GitHub Advisory Database, lodash): nothing in alpine matches it.
    const advisories = mkdtempSync(join(tmpdir(), 'berth-scan-osv-'));
    cpSync(sharedFixture('advisories', 'npm', 'GHSA-jf85-cpcp-j695.json'), join(advisories, 'a.json'));
    const db = openDatabase(berth.config.database);
    try {
      assert.equal((await importOsv(db, advisories)).inserted, 1);
    } finally {
      await db.close();
      rmSync(advisories, { recursive: true, force: true });
    }
    for (const [name, metadata] of [
      ['manual', { public: 'false' }],
      ['auto', { public: 'false', auto_scan: 'true' }],
    ] as const) {
      const created = await api(testAdmin, 'POST', '/projects', { project_name: name, metadata });
      assert.equal(created.status, 201, created.body.toString());
    }
    assert.equal(
      (
        await api(testAdmin, 'POST', '/users', {
          username: guest.username,
          email: 'gina@example.com',
          realname: 'Gina',
          password: guest.password,
        })
      ).status,
      201,
    );
    const member = await api(testAdmin, 'POST', '/projects/manual/members', {
      role_id: 3,
      member_user: { username: guest.username },
    });
    assert.equal(member.status, 201, member.body.toString());
    layerDigest = await pushAlpine(client, 'manual/alpine', '3.17.2');
  });
  after(() => berth?.destroy());

  it('has no report before a scan: empty overview, 404 addition', async () => {
    assert.equal(await overview('manual', 'alpine'), undefined);
    const addition = await api(
      testAdmin,
      'GET',
      `${artifactPath('manual', 'alpine', '3.17.2')}/additions/vulnerabilities`,
    );
    assert.equal(addition.status, 404);
  });

  it('refuses a guest who starts a scan (403), an anonymous caller (401) and unknown scan types (400)', async () => {
    const path = `${artifactPath('manual', 'alpine', '3.17.2')}/scan`;
    assert.equal((await api(guest, 'POST', path)).status, 403);
    assert.equal((await api(null, 'POST', path)).status, 401);
    assert.equal(
      (await api(null, 'GET', `${artifactPath('manual', 'alpine', '3.17.2')}/additions/vulnerabilities`))
        .status,
      401,
    );
    const unknown = await api(testAdmin, 'POST', path, { scan_type: 'license' });
    assert.equal(unknown.status, 400, unknown.body.toString());
  });

  it('scans the real alpine image in the background: 15 packages, no false positives', async () => {
    const started = await api(testAdmin, 'POST', `${artifactPath('manual', 'alpine', '3.17.2')}/scan`, {
      scan_type: 'vulnerability',
    });
    assert.equal(started.status, 202, started.body.toString());
    const done = await finished('manual', 'alpine');
    assert.equal(done.scan_status, 'Success');
    assert.equal(done.severity, 'None');
    assert.deepEqual(done.summary, { total: 0, fixable: 0, summary: {} });
    assert.equal(done.complete_percent, 100);
    assert.equal(done.scanner.name, 'Berth');
    assert.ok(done.end_time && done.end_time >= done.start_time);

    for (const caller of [testAdmin, guest]) {
      const addition = await api(
        caller,
        'GET',
        `${artifactPath('manual', 'alpine', '3.17.2')}/additions/vulnerabilities`,
      );
      assert.equal(addition.status, 200, addition.body.toString());
      const report = (addition.json() as Record<string, Record<string, unknown>>)[reportMime]!;
      assert.deepEqual(report.artifact, {
        repository: 'manual/alpine',
        digest: alpineManifestDigest,
        mime_type: 'application/vnd.oci.image.manifest.v1+json',
      });
      assert.deepEqual(report.scanner, {
        name: 'Berth',
        vendor: 'Berth',
        version: (report.scanner as { version: string }).version,
      });
      assert.equal(report.severity, 'None');
      assert.deepEqual(report.vulnerabilities, []);
      assert.equal(report.package_count, 15);
      assert.deepEqual(report.notes, []);
      assert.ok(!Number.isNaN(Date.parse(report.generated_at as string)));
    }
    assert.ok(layerDigest.startsWith('sha256:'));
  });

  it('stops a scan that has not finished', async () => {
    await berth.jobs.queueAction('scan', 'pause');
    try {
      const path = artifactPath('manual', 'alpine', alpineManifestDigest);
      assert.equal((await api(testAdmin, 'POST', `${path}/scan`)).status, 202);
      assert.equal((await overview('manual', 'alpine'))?.scan_status, 'Pending');
      assert.equal((await api(guest, 'POST', `${path}/scan/stop`)).status, 403);
      assert.equal((await api(testAdmin, 'POST', `${path}/scan/stop`)).status, 202);
      assert.equal((await overview('manual', 'alpine'))?.scan_status, 'Stopped');
      assert.equal((await api(testAdmin, 'POST', `${path}/scan/stop`)).status, 400);
    } finally {
      await berth.jobs.queueAction('scan', 'resume');
    }
  });

  it('scans on push where the project has auto_scan', async () => {
    await pushAlpine(client, 'auto/alpine', 'latest');
    // The scan is requested just after the push answers; until then the digest shows the scan
    // the test above stopped.
    const done = await finished('auto', 'alpine', ['Success', 'Error']);
    assert.equal(done.scan_status, 'Success');
    assert.deepEqual(done.summary, { total: 0, fixable: 0, summary: {} });
  });
});
