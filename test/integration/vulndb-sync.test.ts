import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.ts';
import { openDatabase } from '../../src/db/open.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { ensureSelfSigned } from '../../src/http/tls/self-signed.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { downloadMirrorFile } from '../../src/vuln/mirror-download.ts';
import { VulndbSync, vulndbSyncScheduleName } from '../../src/vuln/vulndb-sync.ts';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { sharedFixture } from '../helpers/fixtures.ts';
import { RegistryClient } from '../helpers/http.ts';
import { pushNodeAppImage } from '../helpers/node-app-image.ts';
import { missingTools, run } from '../helpers/tools.ts';

const execFileAsync = promisify(execFile);
const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';
const repoRoot = new URL('../..', import.meta.url).pathname;
const viewer = { username: 'vera', password: 'Vera-Viewer-Pass-1' };

interface Report {
  vulnerabilities: { id: string; package: string }[];
  notes: string[];
}

interface MirrorStatus {
  advisories: number;
  last_import?: { source: string; count: number; import_time: string };
  rescan_on_update: boolean;
  mirror: {
    urls: string[];
    schedule: string;
    next_sync_time?: string;
    sources: {
      url: string;
      outcome: string;
      etag?: string;
      imported_records?: number;
      changed_records?: number;
    }[];
  };
}

/** A zip of some of the real GitHub advisories in the shared fixtures, made with the `zip` tool. */
async function osvZip(ids: readonly string[]): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-osv-zip-'));
  try {
    const files = ids.map((id) => sharedFixture('advisories', 'npm', `${id}.json`));
    await run('zip', ['-q', '-j', '-X', join(dir, 'all.zip'), ...files]);
    return readFileSync(join(dir, 'all.zip'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A mirror like OSV's bucket: the current zip with a strong ETag, honouring If-None-Match. */
class Mirror {
  body: Buffer = Buffer.alloc(0);
  readonly requests: IncomingHttpHeaders[] = [];
  readonly statuses: number[] = [];
  private server: Server | undefined;
  url = '';

  private get etag(): string {
    return `"${createHash('sha256').update(this.body).digest('hex').slice(0, 32)}"`;
  }

  /** Serves on 127.0.0.1 over HTTP, or HTTPS with `tls` (a certificate for 127.0.0.1). */
  async start(tls?: { cert: Buffer; key: Buffer }): Promise<void> {
    const listener: RequestListener = (request, response) => {
      this.requests.push(request.headers);
      const status =
        request.url?.split('?')[0] !== '/npm/all.zip'
          ? 404
          : request.headers['if-none-match'] === this.etag
            ? 304
            : 200;
      this.statuses.push(status);
      if (status !== 200) return response.writeHead(status).end();
      response.writeHead(200, {
        'content-type': 'application/zip',
        'content-length': this.body.length,
        etag: this.etag,
        'last-modified': new Date('2026-11-01T00:00:00Z').toUTCString(),
      });
      response.end(this.body);
    };
    this.server = tls ? createHttpsServer(tls, listener) : createServer(listener);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server!.address() as AddressInfo).port;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/npm/all.zip`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('vulnerability database mirror sync and re-match of existing reports', {
  skip: missingTools('zip'),
}, () => {
  let berth: TestBerth;
  const mirror = new Mirror();
  let firstZip: Buffer;
  let fullZip: Buffer;
  let imagePath: string;
  const admin = (method: string, path: string, body?: unknown) =>
    apiRequest(berth, testAdmin, method, path, body);

  async function waitForJob(id: number): Promise<string> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const job = (await admin('GET', `/jobservice/jobs/${id}`)).json<{ status: string }>();
      if (['succeeded', 'error', 'cancelled'].includes(job.status)) return job.status;
      await sleep(100);
    }
    throw new Error(`job ${id} did not finish in 30 s`);
  }

  async function report(): Promise<Report> {
    const response = await admin('GET', `${imagePath}/additions/vulnerabilities`);
    assert.equal(response.status, 200, response.body.toString());
    return response.json<Record<string, Report>>()[reportMime]!;
  }

  /** Waits until the report lists `count` vulnerabilities (the re-match job runs after the sync). */
  async function reportWith(count: number): Promise<Report> {
    let current = await report();
    for (let attempt = 0; attempt < 300 && current.vulnerabilities.length !== count; attempt++) {
      await sleep(100);
      current = await report();
    }
    return current;
  }

  async function sync(): Promise<void> {
    const started = await admin('POST', '/vulndb/sync');
    assert.equal(started.status, 202, started.body.toString());
    assert.equal(await waitForJob(started.json<{ job_id: number }>().job_id), 'succeeded');
  }

  const status = async () => (await admin('GET', '/vulndb/status')).json<MirrorStatus>();

  before(async () => {
    // lodash 4.17.4's critical advisory and jquery 3.3.1's first: the "old" mirror content.
    firstZip = await osvZip(['GHSA-jf85-cpcp-j695', 'GHSA-6c3j-c64m-qhgq']);
    const all = readdirSync(sharedFixture('advisories', 'npm')).map((name) => name.replace(/\.json$/, ''));
    fullZip = await osvZip(all);
    mirror.body = firstZip;
    await mirror.start();
    berth = await startTestBerth({
      'jobs.pollIntervalMs': 100,
      'vulndb.mirror.url': mirror.url,
      'vulndb.mirror.schedule': '0 0 0 1 1 *',
    });
    assert.equal(
      (
        await admin('POST', '/users', {
          username: viewer.username,
          email: 'vera@example.com',
          realname: 'Vera',
          password: viewer.password,
        })
      ).status,
      201,
    );

    // The real alpine layer under an app layer with the npm-app lockfile (lodash 4.17.4, jquery 3.3.1, minimist 1.2.0).
    const { digest } = await pushNodeAppImage(new RegistryClient(berth.url), 'library/npm-app');
    imagePath = `/projects/library/repositories/npm-app/artifacts/${digest}`;
    assert.equal((await admin('POST', `${imagePath}/scan`)).status, 202);
    for (let attempt = 0; attempt < 200; attempt++) {
      if ((await admin('GET', `${imagePath}/additions/vulnerabilities`)).status === 200) break;
      await sleep(100);
    }
  });
  after(async () => {
    await berth?.destroy();
    await mirror.stop();
  });

  it('registers the configured schedule once, and keeps its next run across restarts', async () => {
    const before = await status();
    assert.deepEqual(before.mirror.urls, [mirror.url]);
    assert.equal(before.mirror.schedule, '0 0 0 1 1 *');
    assert.equal(before.mirror.next_sync_time, '2027-01-01T00:00:00.000Z');
    // What a restart does: the same configuration applied again to the same database.
    const db = openDatabase(berth.config.database);
    try {
      const row = await db.jobs.findSchedule(vulndbSyncScheduleName);
      const jobs = new JobService({
        db,
        clock: systemClock,
        log: createLogger('silent'),
        workers: 1,
        pollIntervalMs: 1000,
        leaseMs: 60_000,
      });
      const again = new VulndbSync({
        db,
        jobs,
        clock: systemClock,
        mirror: berth.config.vulndb.mirror,
        rescanOnUpdate: true,
        workDir: berth.dataDir,
        version: 'test',
      });
      await again.applySchedule();
      await again.applySchedule();
      assert.deepEqual(await db.jobs.findSchedule(vulndbSyncScheduleName), row);
    } finally {
      await db.close();
    }
  });

  it('refuses the status and a sync to anyone but a system administrator', async () => {
    assert.equal((await apiRequest(berth, viewer, 'GET', '/vulndb/status')).status, 403);
    assert.equal((await apiRequest(berth, viewer, 'POST', '/vulndb/sync')).status, 403);
    assert.equal((await apiRequest(berth, null, 'GET', '/vulndb/status')).status, 401);
  });

  it('imports the mirror, then re-matches the existing report without reading a blob', async () => {
    const scanned = await report();
    assert.deepEqual(scanned.vulnerabilities, [], 'scanned against an empty database');
    // Every blob gone from the store: a re-match that read one would fail.
    rmSync(join(berth.config.storage.filesystem.root, 'blobs'), { recursive: true, force: true });

    await sync();
    assert.equal(mirror.requests.length, 1);
    assert.equal(mirror.requests[0]!['if-none-match'], undefined);
    const imported = await status();
    assert.equal(imported.advisories, 2);
    assert.equal(imported.last_import?.source, mirror.url);
    assert.equal(imported.mirror.sources[0]?.outcome, 'imported');
    assert.equal(imported.mirror.sources[0]?.changed_records, 2);
    assert.match(imported.mirror.sources[0]?.etag ?? '', /^"[0-9a-f]{32}"$/);

    const rematched = await reportWith(2);
    assert.deepEqual(rematched.vulnerabilities.map((item) => item.id).sort(), [
      'GHSA-6c3j-c64m-qhgq',
      'GHSA-jf85-cpcp-j695',
    ]);
    assert.deepEqual(rematched.notes, scanned.notes);
    const overview = (
      await admin('GET', '/projects/library/repositories/npm-app/artifacts?with_scan_overview=true')
    ).json<{ scan_overview: Record<string, { summary: unknown; severity: string }> }[]>()[0]!.scan_overview[
      reportMime
    ]!;
    assert.equal(overview.severity, 'Critical');
    assert.deepEqual(overview.summary, { total: 2, fixable: 2, summary: { Critical: 1, Medium: 1 } });
  });

  it('asks again with If-None-Match, gets 304 and imports nothing', async () => {
    const before = await status();
    await sync();
    assert.equal(mirror.requests.length, 2);
    assert.equal(mirror.requests[1]!['if-none-match'], before.mirror.sources[0]!.etag);
    assert.equal(mirror.statuses[1], 304);
    const after = await status();
    assert.equal(after.mirror.sources[0]?.outcome, 'not-modified');
    assert.deepEqual(after.last_import, before.last_import, 'no import was recorded');
    assert.equal(after.advisories, 2);
  });

  it('downloads and imports a changed file, and the report gains its advisories', async () => {
    mirror.body = fullZip;
    await sync();
    assert.equal(mirror.statuses[2], 200);
    const after = await status();
    assert.equal(after.advisories, 15);
    assert.equal(after.mirror.sources[0]?.changed_records, 13);
    const rematched = await reportWith(11);
    // lodash 4.17.4: 6 advisories, jquery 3.3.1: 3, minimist 1.2.0: 2 (see vulndb.test.ts).
    const byPackage: Record<string, number> = {};
    for (const item of rematched.vulnerabilities)
      byPackage[item.package] = (byPackage[item.package] ?? 0) + 1;
    assert.deepEqual(byPackage, { jquery: 3, lodash: 6, minimist: 2 });
  });

  it('fails the sync of a download that is neither zip nor JSON, and keeps what was imported', async () => {
    mirror.body = Buffer.from('<html>not the mirror</html>');
    const started = await admin('POST', '/vulndb/sync');
    const jobId = started.json<{ job_id: number }>().job_id;
    // Three attempts with backoff would take long: stop after the first failure is recorded.
    let source: MirrorStatus['mirror']['sources'][number] | undefined;
    for (let attempt = 0; attempt < 100 && source?.outcome !== 'failed'; attempt++) {
      await sleep(100);
      source = (await status()).mirror.sources[0];
    }
    assert.equal(source?.outcome, 'failed');
    assert.match((source as { error?: string }).error ?? '', /neither a zip archive nor a JSON file/);
    assert.equal((await status()).advisories, 15);
    await admin('PUT', `/jobservice/jobs/${jobId}`);
  });
});

describe('berth vulndb import queues a re-match of existing reports', () => {
  it('says so, and the job is in the queue for the server', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-cli-rematch-'));
    try {
      const config = join(dataDir, 'berth.yaml');
      writeFileSync(config, `data: ${dataDir}\n`);
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(repoRoot, 'src/cli/main.ts'),
          'vulndb',
          'import',
          '--config',
          config,
          sharedFixture('advisories', 'npm'),
        ],
        { cwd: repoRoot },
      );
      assert.match(stdout, /re-match of existing scan reports queued \(job \d+\)/);
      const db = openSqliteDatabase(loadConfig({ file: config, env: {} }).database.sqlite);
      try {
        const queues = await db.jobs.queues();
        assert.deepEqual(queues.find((queue) => queue.type === 'rematch')?.count, 1);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a mirror over HTTPS with its own CA, behind credentials', { skip: missingTools('zip') }, () => {
  const mirror = new Mirror();
  let berth: TestBerth;
  let caFile: string;
  let tlsDir: string;

  before(async () => {
    tlsDir = mkdtempSync(join(tmpdir(), 'berth-mirror-tls-'));
    const files = await ensureSelfSigned(tlsDir, ['127.0.0.1']);
    caFile = files.caFile;
    mirror.body = await osvZip(['GHSA-jf85-cpcp-j695']);
    await mirror.start({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) });
  });
  after(async () => {
    await berth?.destroy();
    await mirror.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  });

  it('is refused without the CA: the certificate is not trusted', async () => {
    const outcome = downloadMirrorFile(
      mirror.url,
      { etag: null, lastModified: null },
      {
        dir: tlsDir,
        timeoutMs: 10_000,
        maxBytes: 1 << 20,
        signal: new AbortController().signal,
        userAgent: 'test',
      },
    );
    await assert.rejects(outcome, /self.signed|unable to verify|certificate/i);
  });

  it('syncs with vulndb.mirror.caFile, sends the credentials, and never shows them', async () => {
    const secretUrl = `${mirror.url.replace('https://', 'https://mirror-user:Mirror-Secret-1@')}?token=Sig-Secret-2`;
    berth = await startTestBerth({
      'jobs.pollIntervalMs': 100,
      'vulndb.mirror.url': [secretUrl],
      'vulndb.mirror.caFile': caFile,
    });
    const started = await apiRequest(berth, testAdmin, 'POST', '/vulndb/sync');
    assert.equal(started.status, 202, started.body.toString());
    const jobId = started.json<{ job_id: number }>().job_id;
    let job = { status: 'queued' };
    for (let attempt = 0; attempt < 200 && !['succeeded', 'error'].includes(job.status); attempt++) {
      await sleep(100);
      job = (await apiRequest(berth, testAdmin, 'GET', `/jobservice/jobs/${jobId}`)).json<{
        status: string;
      }>();
    }
    const log = (await apiRequest(berth, testAdmin, 'GET', `/jobservice/jobs/${jobId}/log`)).body.toString();
    assert.equal(job.status, 'succeeded', log);
    const authorization = mirror.requests.at(-1)?.authorization;
    assert.equal(authorization, `Basic ${Buffer.from('mirror-user:Mirror-Secret-1').toString('base64')}`);
    const shown = (await apiRequest(berth, testAdmin, 'GET', '/vulndb/status')).body.toString();
    const status = JSON.parse(shown) as MirrorStatus;
    assert.equal(status.advisories, 1);
    assert.equal(status.mirror.sources[0]?.outcome, 'imported');
    for (const text of [shown, log]) {
      assert.doesNotMatch(text, /Mirror-Secret-1|Sig-Secret-2|mirror-user/);
    }
    assert.equal(status.mirror.urls[0], `${mirror.url}?…`);
  });
});
