import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { RegistryClient } from '../helpers/http.ts';
import { tarOf } from '../helpers/layer-tars.ts';

const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';
const npmApp = (file: string): string =>
  readFileSync(new URL(`../fixtures/npm-app/${file}`, import.meta.url), 'utf8');
const developer = { username: 'dora', password: 'Dora-Developer-1' };

interface Stats {
  total?: number;
  completed?: number;
  metrics?: Record<string, number>;
  ongoing?: boolean;
  trigger?: string;
}

/** A real gzipped layer: the npm-app lockfile, and a file that makes each image's digest its own. */
async function appLayer(name: string): Promise<Buffer> {
  return gzipSync(
    await tarOf([
      { name: 'app/package.json', content: npmApp('package.json') },
      { name: 'app/package-lock.json', content: npmApp('package-lock.json') },
      { name: 'app/NAME', content: name },
    ]),
  );
}

describe('scan all through the Harbor API', () => {
  let berth: TestBerth;
  const admin = (method: string, path: string, body?: unknown) =>
    apiRequest(berth, testAdmin, method, path, body);
  const digests: Record<string, string> = {};

  async function scanStatus(repository: string, digest: string): Promise<string | undefined> {
    const response = await admin(
      'GET',
      `/projects/library/repositories/${repository}/artifacts/${digest}?with_scan_overview=true`,
    );
    assert.equal(response.status, 200, response.body.toString());
    return response.json<{ scan_overview?: Record<string, { scan_status: string }> }>().scan_overview?.[
      reportMime
    ]?.scan_status;
  }

  async function settled(path: string): Promise<Stats> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const stats = (await admin('GET', path)).json<Stats>();
      if (stats.ongoing === false) return stats;
      await sleep(100);
    }
    throw new Error(`${path} still ongoing after 30 s`);
  }

  before(async () => {
    berth = await startTestBerth({ 'jobs.pollIntervalMs': 100 });
    const client = new RegistryClient(berth.url);
    digests.alpha = (
      await client.pushImage('library/alpha', 'v1', { layers: [await appLayer('alpha')] })
    ).digest;
    digests.beta = (
      await client.pushImage('library/beta', 'v1', { layers: [await appLayer('beta')] })
    ).digest;
    // An index of two images: the scan picks its linux/amd64 one.
    const amd64 = await client.pushImage('library/multi', 'amd64', {
      layers: [await appLayer('multi-amd64')],
    });
    const arm64 = await client.pushImage('library/multi', 'arm64', {
      layers: [await appLayer('multi-arm64')],
    });
    digests.amd64 = amd64.digest;
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: amd64.manifest.mediaType,
          digest: arm64.digest,
          size: arm64.size,
          platform: { os: 'linux', architecture: 'arm64' },
        },
        {
          mediaType: amd64.manifest.mediaType,
          digest: amd64.digest,
          size: amd64.size,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    const put = await client.putManifest('library/multi', 'v1', index);
    assert.equal(put.status, 201, put.body.toString());
    digests.multi = put.header('docker-content-digest')!;
    // Not images: a signature of alpha (an accessory) and a stand-alone SBOM artifact.
    await client.pushImage('library/alpha', 'sig', {
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      configMediaType: 'application/vnd.oci.empty.v1+json',
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digests.alpha, size: 0 },
    });
    digests.sbom = (
      await client.pushImage('library/beta', 'sbom', {
        artifactType: 'application/spdx+json',
        configMediaType: 'application/vnd.oci.empty.v1+json',
      })
    ).digest;
    const created = await admin('POST', '/users', {
      username: developer.username,
      email: 'dora@example.com',
      realname: 'Dora',
      password: developer.password,
    });
    assert.equal(created.status, 201, created.body.toString());
    const member = await admin('POST', '/projects/library/members', {
      role_id: 2,
      member_user: { username: developer.username },
    });
    assert.equal(member.status, 201, member.body.toString());
  });
  after(() => berth?.destroy());

  it('has no schedule, no metrics and nothing to stop before any run', async () => {
    assert.deepEqual((await admin('GET', '/system/scanAll/schedule')).json(), {});
    assert.deepEqual((await admin('GET', '/scans/all/metrics')).json(), {});
    assert.deepEqual((await admin('GET', '/scans/schedule/metrics')).json(), {});
    const stop = await admin('POST', '/system/scanAll/stop');
    assert.equal(stop.status, 400, stop.body.toString());
  });

  it('refuses everyone but a system administrator: 403 for a project developer, 401 anonymous', async () => {
    const manual = { schedule: { type: 'Manual' } };
    for (const [method, path, body] of [
      ['POST', '/system/scanAll/schedule', manual],
      ['PUT', '/system/scanAll/schedule', { schedule: { type: 'Daily' } }],
      ['GET', '/system/scanAll/schedule', undefined],
      ['POST', '/system/scanAll/stop', undefined],
      ['GET', '/scans/all/metrics', undefined],
      ['GET', '/scans/schedule/metrics', undefined],
    ] as const) {
      assert.equal((await apiRequest(berth, developer, method, path, body)).status, 403, `${method} ${path}`);
      assert.equal((await apiRequest(berth, null, method, path, body)).status, 401, `${method} ${path}`);
    }
  });

  it('scans every image and index now (Manual), skipping accessories and SBOMs', async () => {
    const started = await admin('POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
    assert.equal(started.status, 201, started.body.toString());
    const stats = await settled('/scans/all/metrics');
    assert.deepEqual(stats, {
      total: 3,
      completed: 3,
      metrics: { Pending: 0, Running: 0, Success: 3, Error: 0, Stopped: 0 },
      ongoing: false,
      trigger: 'Manual',
    });
    assert.equal(await scanStatus('alpha', digests.alpha!), 'Success');
    assert.equal(await scanStatus('beta', digests.beta!), 'Success');
    assert.equal(await scanStatus('multi', digests.multi!), 'Success');
    assert.equal(await scanStatus('beta', digests.sbom!), undefined, 'the SBOM artifact was not scanned');
    const report = (
      await admin(
        'GET',
        `/projects/library/repositories/multi/artifacts/${digests.multi}/additions/vulnerabilities`,
      )
    ).json<Record<string, { notes: string[] }>>()[reportMime]!;
    assert.ok(
      report.notes.some((note) => note.includes(`linux/amd64 image ${digests.amd64}`)),
      report.notes.join('\n'),
    );
    // Only scheduled runs count for the schedule's metrics.
    assert.deepEqual((await admin('GET', '/scans/schedule/metrics')).json(), {});
  });

  it('keeps a schedule: presets get their cron, a second POST is refused, PUT changes it, None removes it', async () => {
    const created = await admin('POST', '/system/scanAll/schedule', {
      schedule: { type: 'Daily', cron: '' },
    });
    assert.equal(created.status, 201, created.body.toString());
    const daily = (await admin('GET', '/system/scanAll/schedule')).json<{
      schedule: { type: string; cron: string; next_scheduled_time: string };
    }>();
    assert.equal(daily.schedule.type, 'Daily');
    assert.equal(daily.schedule.cron, '0 0 0 * * *');
    assert.match(daily.schedule.next_scheduled_time, /T00:00:00\.000Z$/);
    assert.equal(
      (await admin('POST', '/system/scanAll/schedule', { schedule: { type: 'Weekly' } })).status,
      412,
    );
    assert.equal(
      (await admin('PUT', '/system/scanAll/schedule', { schedule: { type: 'Manual' } })).status,
      400,
    );
    assert.equal(
      (await admin('PUT', '/system/scanAll/schedule', { schedule: { type: 'Custom', cron: '61 * * * * *' } }))
        .status,
      400,
    );
    assert.equal(
      (await admin('PUT', '/system/scanAll/schedule', { schedule: { type: 'Custom' } })).status,
      400,
    );
    assert.equal(
      (await admin('PUT', '/system/scanAll/schedule', { schedule: { type: 'Yearly' } })).status,
      400,
    );

    // Every second (Harbor's six-field cron): the scheduled run comes, and its metrics say so.
    const everySecond = await admin('PUT', '/system/scanAll/schedule', {
      schedule: { type: 'Custom', cron: '* * * * * *' },
    });
    assert.equal(everySecond.status, 200, everySecond.body.toString());
    let scheduled: Stats = {};
    for (let attempt = 0; attempt < 100 && scheduled.trigger === undefined; attempt++) {
      await sleep(100);
      scheduled = (await admin('GET', '/scans/schedule/metrics')).json<Stats>();
    }
    assert.equal(
      (await admin('PUT', '/system/scanAll/schedule', { schedule: { type: 'None' } })).status,
      200,
    );
    assert.deepEqual((await admin('GET', '/system/scanAll/schedule')).json(), {});
    assert.equal(scheduled.trigger, 'Schedule');
    const settledStats = await settled('/scans/schedule/metrics');
    assert.equal(settledStats.total, 3);
    assert.equal(settledStats.completed, 3);
  });

  it('stops the latest run: 202, and its unfinished scans end Stopped', async () => {
    const paused = await admin('PUT', '/jobservice/queues/scan', { action: 'pause' });
    assert.equal(paused.status, 200, paused.body.toString());
    try {
      assert.equal(
        (await admin('POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } })).status,
        201,
      );
      let stats: Stats = {};
      for (let attempt = 0; attempt < 100 && stats.metrics?.Pending !== 3; attempt++) {
        await sleep(100);
        stats = (await admin('GET', '/scans/all/metrics')).json<Stats>();
      }
      assert.equal(stats.metrics?.Pending, 3, JSON.stringify(stats));
      assert.equal(stats.ongoing, true);
      const again = await admin('POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
      assert.equal(again.status, 409, 'a manual run is still going');
      assert.equal((await admin('POST', '/system/scanAll/stop')).status, 202);
      const stopped = await settled('/scans/all/metrics');
      assert.deepEqual(stopped.metrics, { Pending: 0, Running: 0, Success: 0, Error: 0, Stopped: 3 });
      assert.equal(await scanStatus('alpha', digests.alpha!), 'Stopped');
    } finally {
      await admin('PUT', '/jobservice/queues/scan', { action: 'resume' });
    }
  });
});
