import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSecretBox } from '../../src/access/secret-key-file.ts';
import { TokenService } from '../../src/access/token-service.ts';
import { openDatabase } from '../../src/db/open.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { issueScanCredential } from '../../src/scanner-adapter/scan-credential.ts';
import { importOsv } from '../../src/vuln/osv-import.ts';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { alpineLayout, alpineManifestDigest, sharedFixture } from '../helpers/fixtures.ts';
import { basicAuth, RegistryClient, send, type TestResponse } from '../helpers/http.ts';
import { pushNodeAppImage } from '../helpers/node-app-image.ts';
import { readLayoutBlob } from '../helpers/oci-layout.ts';

const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';
const adapterToken = 'adapter-token-7f3c9a1e5b2d4c6f8a0e';
const manifestMime = 'application/vnd.oci.image.manifest.v1+json';

/** A port on 127.0.0.1 that nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function pushAlpine(client: RegistryClient, repository: string, tag: string): Promise<void> {
  const layout = alpineLayout();
  const manifestBytes = await readLayoutBlob(layout, alpineManifestDigest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)])
    assert.equal(await client.pushBlob(repository, await readLayoutBlob(layout, digest)), digest);
  const put = await client.putManifest(repository, tag, manifestBytes, manifestMime);
  assert.equal(put.status, 201, put.body.toString());
}

/**
 * Two real Berths on real ports: B serves the scanner-adapter API, A registers B as a scanner,
 * and a project of A has B scan its image; B pulls it from A with a short-lived credential.
 */
describe('scanner adapters: Berth driving another Berth as its scanner', () => {
  let a: TestBerth;
  let b: TestBerth;
  let registrationUuid = '';
  let nodeAppDigest = '';
  let nodeAppLayer = '';

  /** Scans an artifact of A and waits for its report (the one A's project scanner made). */
  async function scanOnA(repository: string, digest: string): Promise<Record<string, unknown>> {
    const artifact = `/projects/lib/repositories/${repository}/artifacts/${digest}`;
    const started = await apiRequest(a, testAdmin, 'POST', `${artifact}/scan`);
    assert.equal(started.status, 202, started.body.toString());
    for (let attempt = 0; attempt < 150; attempt++) {
      const addition = await apiRequest(a, testAdmin, 'GET', `${artifact}/additions/vulnerabilities`);
      if (addition.status === 200)
        return addition.json<Record<string, Record<string, unknown>>>()[reportMime]!;
      await sleep(200);
    }
    const db = openDatabase(a.config.database);
    const row = await db.scanReports.find(digest, 'remote-berth');
    await db.close();
    assert.fail(`no report after 30 s: ${JSON.stringify(row)}`);
  }
  const adapter = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    send(b.url, method, `/api/v1${path}`, { headers, body });
  const bearer = { authorization: `Bearer ${adapterToken}` };

  before(async () => {
    // Plain HTTP even under TEST_TLS: the instances reach each other with Node's fetch, which
    // trusts only the system's CAs, not a test CA.
    b = await startTestBerth({
      'tls.selfSigned': false,
      'scannerAdapter.enabled': true,
      'scannerAdapter.authToken': adapterToken,
      'jobs.pollIntervalMs': 100,
    });
    a = await startTestBerth({ 'tls.selfSigned': false, 'jobs.pollIntervalMs': 100 });
    // Real records from the GitHub Advisory Database (lodash, jquery; see the shared fixtures'
    // README), imported into B only: A's built-in scanner would find nothing.
    const advisories = mkdtempSync(join(tmpdir(), 'berth-adapter-osv-'));
    for (const id of ['GHSA-jf85-cpcp-j695', 'GHSA-6c3j-c64m-qhgq'])
      cpSync(sharedFixture('advisories', 'npm', `${id}.json`), join(advisories, `${id}.json`));
    const db = openDatabase(b.config.database);
    try {
      assert.equal((await importOsv(db, advisories)).inserted, 2);
    } finally {
      await db.close();
      rmSync(advisories, { recursive: true, force: true });
    }
    const client = new RegistryClient(a.url);
    await pushAlpine(client, 'lib/alpine', '3.17.2');
    await pushAlpine(client, 'lib/other', '3.17.2');
    ({ digest: nodeAppDigest, appLayer: nodeAppLayer } = await pushNodeAppImage(client, 'lib/node-app'));
  });
  after(async () => {
    await a?.destroy();
    await b?.destroy();
  });

  it('B refuses a missing or wrong adapter credential (401) and answers metadata to the right one', async () => {
    assert.equal((await adapter('GET', '/metadata')).status, 401);
    assert.equal((await adapter('GET', '/metadata', { authorization: 'Bearer not-the-token' })).status, 401);
    assert.equal((await adapter('GET', '/metadata', { 'x-scanneradapter-api-key': 'wrong' })).status, 401);
    const metadata = await adapter('GET', '/metadata', bearer);
    assert.equal(metadata.status, 200, metadata.body.toString());
    const body = metadata.json<{
      scanner: { name: string };
      capabilities: { consumes_mime_types: string[]; produces_mime_types: string[] }[];
      properties: Record<string, string>;
    }>();
    assert.equal(body.scanner.name, 'Berth');
    assert.ok(body.capabilities[0]!.consumes_mime_types.includes(manifestMime));
    assert.ok(body.capabilities[0]!.produces_mime_types.includes(reportMime));
    assert.equal(body.properties['harbor.scanner-adapter/scanner-type'], 'os-package-vulnerability');
    assert.ok(
      !Number.isNaN(Date.parse(body.properties['harbor.scanner-adapter/vulnerability-database-updated-at']!)),
    );
    const byKey = await adapter('GET', '/metadata', { 'x-scanneradapter-api-key': adapterToken });
    assert.equal(byKey.status, 200);
  });

  it('B answers 404 for an unknown scan id and 422 for a request it cannot use', async () => {
    const unknown = await adapter('GET', '/scan/3fa85f64-5717-4562-b3fc-2c963f66afa6/report', bearer);
    assert.equal(unknown.status, 404);
    const bad = await adapter(
      'POST',
      '/scan',
      { ...bearer, 'content-type': 'application/vnd.scanner.adapter.scan.request+json; version=1.0' },
      JSON.stringify({
        registry: { url: 'ftp://x' },
        artifact: { repository: 'lib/alpine', digest: alpineManifestDigest },
      }),
    );
    assert.equal(bad.status, 422, bad.body.toString());
  });

  it('A registers B (credential sealed, never shown), lists the built-in scanner too, and pings', async () => {
    const created = await apiRequest(a, testAdmin, 'POST', '/scanners', {
      name: 'remote-berth',
      description: 'instance B',
      url: b.url,
      auth: 'Bearer',
      access_credential: adapterToken,
    });
    assert.equal(created.status, 201, created.body.toString());
    registrationUuid = created.header('location')!.split('/').pop()!;
    const list = await apiRequest(a, testAdmin, 'GET', '/scanners');
    assert.equal(list.status, 200);
    const scanners =
      list.json<{ uuid: string; name: string; is_default: boolean; access_credential?: string }[]>();
    assert.deepEqual(
      scanners.map((scanner) => [scanner.name, scanner.is_default]),
      [
        ['Berth', true],
        ['remote-berth', false],
      ],
    );
    assert.ok(!list.body.toString().includes(adapterToken));
    const db = openDatabase(a.config.database);
    try {
      const row = await db.scannerRegistrations.find(registrationUuid);
      assert.ok(row?.access_credential.startsWith('enc:v1:'));
    } finally {
      await db.close();
    }
    const metadata = await apiRequest(a, testAdmin, 'GET', `/scanners/${registrationUuid}/metadata`);
    assert.equal(metadata.status, 200, metadata.body.toString());
    assert.equal(metadata.json<{ scanner: { name: string } }>().scanner.name, 'Berth');
    const ping = await apiRequest(a, testAdmin, 'POST', '/scanners/ping', {
      url: b.url,
      auth: 'Bearer',
      access_credential: adapterToken,
    });
    assert.equal(ping.status, 200, ping.body.toString());
    const wrong = await apiRequest(a, testAdmin, 'POST', '/scanners/ping', {
      url: b.url,
      auth: 'Bearer',
      access_credential: 'wrong',
    });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.toString(), /answered 401/);
    const unreachable = await apiRequest(a, testAdmin, 'POST', '/scanners/ping', {
      url: `http://127.0.0.1:${await closedPort()}`,
    });
    assert.equal(unreachable.status, 400, unreachable.body.toString());
    assert.match(unreachable.body.toString(), /could not be reached: ECONNREFUSED/);
    const builtIn = scanners[0]!.uuid;
    assert.equal((await apiRequest(a, testAdmin, 'DELETE', `/scanners/${builtIn}`)).status, 403);
    assert.equal((await apiRequest(a, null, 'GET', '/scanners')).status, 401);
  });

  it('only system administrators manage registrations; project developers may read the choice', async () => {
    const dev = { username: 'dev', password: 'Dev-Pass-Word-1' };
    const user = await apiRequest(a, testAdmin, 'POST', '/users', {
      username: dev.username,
      email: 'dev@example.com',
      realname: 'Dev',
      password: dev.password,
    });
    assert.equal(user.status, 201, user.body.toString());
    const member = await apiRequest(a, testAdmin, 'POST', '/projects/lib/members', {
      role_id: 2,
      member_user: { username: dev.username },
    });
    assert.equal(member.status, 201, member.body.toString());
    assert.equal((await apiRequest(a, dev, 'GET', '/scanners')).status, 403);
    const create = await apiRequest(a, dev, 'POST', '/scanners', { name: 'x', url: 'http://127.0.0.1:9' });
    assert.equal(create.status, 403);
    assert.equal((await apiRequest(a, dev, 'DELETE', `/scanners/${registrationUuid}`)).status, 403);
    assert.equal((await apiRequest(a, dev, 'GET', '/projects/lib/scanner')).status, 200);
    const choose = await apiRequest(a, dev, 'PUT', '/projects/lib/scanner', { uuid: registrationUuid });
    assert.equal(choose.status, 403);
  });

  it("A's project uses B: the scan job has B pull from A and keeps B's report", async () => {
    const set = await apiRequest(a, testAdmin, 'PUT', '/projects/lib/scanner', { uuid: registrationUuid });
    assert.equal(set.status, 200, set.body.toString());
    const chosen = await apiRequest(a, testAdmin, 'GET', '/projects/lib/scanner');
    assert.equal(chosen.json<{ name: string }>().name, 'remote-berth');
    const candidates = await apiRequest(a, testAdmin, 'GET', '/projects/lib/scanner/candidates');
    assert.equal(candidates.json<unknown[]>().length, 2);

    const report = await scanOnA('alpine', alpineManifestDigest);
    assert.equal((report.scanner as { name: string }).name, 'remote-berth');
    assert.deepEqual(report.artifact, {
      repository: 'lib/alpine',
      digest: alpineManifestDigest,
      mime_type: manifestMime,
    });
    assert.equal(report.package_count, 15);
    assert.deepEqual(report.vulnerabilities, []);
    assert.equal(report.severity, 'None');

    // An app layer on alpine whose lockfile pins lodash 4.17.4 and jquery 3.3.1: B's database
    // knows both advisories, and its findings arrive in A's report.
    const app = await scanOnA('node-app', nodeAppDigest);
    assert.equal(app.severity, 'Critical');
    const items = app.vulnerabilities as {
      id: string;
      package: string;
      version: string;
      fix_version: string;
      severity: string;
      layer: { digest: string };
    }[];
    assert.deepEqual(
      items
        .map((item) => [
          item.id,
          item.package,
          item.version,
          item.fix_version,
          item.severity,
          item.layer.digest,
        ])
        .sort(),
      [
        ['GHSA-6c3j-c64m-qhgq', 'jquery', '3.3.1', '3.4.0', 'Medium', nodeAppLayer],
        ['GHSA-jf85-cpcp-j695', 'lodash', '4.17.4', '4.17.12', 'Critical', nodeAppLayer],
      ],
    );

    // Artifact listings show the summary of the project scanner's report, as Harbor does.
    const listed = await apiRequest(
      a,
      testAdmin,
      'GET',
      `/projects/lib/repositories/node-app/artifacts/${nodeAppDigest}?with_scan_overview=true`,
    );
    const overview = listed.json<{ scan_overview: Record<string, Record<string, unknown>> }>().scan_overview[
      reportMime
    ]!;
    assert.equal(overview.scan_status, 'Success');
    assert.equal((overview.scanner as { name: string }).name, 'remote-berth');
    assert.deepEqual(overview.summary, { total: 2, fixable: 2, summary: { Critical: 1, Medium: 1 } });

    // The robot behind the pull credential is gone once the scan ended.
    const db = openDatabase(a.config.database);
    try {
      const project = await db.projects.findByName('lib');
      assert.deepEqual(await db.robots.findInProject(Number(project!.id)), []);
    } finally {
      await db.close();
    }
  });

  it("B pulls with a Basic login through A's Bearer challenge, and answers 302 then the report", async () => {
    const accepted = await adapter(
      'POST',
      '/scan',
      { ...bearer, 'content-type': 'application/vnd.scanner.adapter.scan.request+json; version=1.0' },
      JSON.stringify({
        registry: { url: a.url, authorization: basicAuth(testAdmin) },
        artifact: { repository: 'lib/other', digest: alpineManifestDigest, mime_type: manifestMime },
      }),
    );
    assert.equal(accepted.status, 202, accepted.body.toString());
    const { id } = accepted.json<{ id: string }>();
    const harborMime = 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';
    let report: TestResponse | undefined;
    let waited = false;
    for (let attempt = 0; attempt < 150; attempt++) {
      const answer = await adapter('GET', `/scan/${id}/report`, { ...bearer, accept: harborMime });
      if (answer.status !== 302) {
        report = answer;
        break;
      }
      waited = true;
      assert.ok(Number(answer.header('refresh-after')) > 0);
      await sleep(200);
    }
    assert.ok(waited || report, 'the report came back');
    assert.equal(report?.status, 200, report?.body.toString());
    assert.equal(report.header('content-type'), harborMime);
    const body = report.json<Record<string, unknown>>();
    assert.deepEqual(body.vulnerabilities, []);
    assert.equal(body.package_count, undefined);
    assert.deepEqual(body.artifact, {
      repository: 'lib/other',
      digest: alpineManifestDigest,
      mime_type: manifestMime,
    });
    const full = await adapter('GET', `/scan/${id}/report`, { ...bearer, accept: reportMime });
    assert.equal(full.json<{ package_count: number }>().package_count, 15);
  });

  it('a scan credential pulls its own repository and no other', async () => {
    const db = openDatabase(a.config.database);
    try {
      const tokens = new TokenService({
        db,
        clock: systemClock,
        secrets: loadSecretBox(a.config.auth.secretKeyFile),
        issuer: a.config.auth.tokenService,
        service: a.config.auth.tokenService,
        ttlSeconds: 60,
        refreshTtlSeconds: 3600,
        rotationMs: 24 * 3600 * 1000,
      });
      const credential = await issueScanCredential(
        { db, tokens, clock: systemClock, ttlSeconds: 60 },
        'lib/alpine',
        'remote-berth',
      );
      const headers = { authorization: credential.authorization, accept: manifestMime };
      const own = await send(a.url, 'GET', `/v2/lib/alpine/manifests/${alpineManifestDigest}`, { headers });
      assert.equal(own.status, 200);
      const other = await send(a.url, 'GET', `/v2/lib/other/manifests/${alpineManifestDigest}`, { headers });
      assert.equal(other.status, 401);
      const push = await send(a.url, 'POST', '/v2/lib/alpine/blobs/uploads/', { headers });
      assert.equal(push.status, 401);
      await credential.revoke();
    } finally {
      await db.close();
    }
  });
});
