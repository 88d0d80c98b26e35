import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestBerth, type TestBerth, testAdmin } from '../helpers/berth.ts';
import { basicAuth, type Credentials, send } from '../helpers/http.ts';

/** Harbor's /jobservice API over a real Berth's job service. */

const user: Credentials = { username: 'jobs-user', password: 'Jobs-User-Pass-1' };
let berth: TestBerth;
let release: () => void;
const held = new Promise<void>((resolve) => {
  release = resolve;
});

function api(method: string, path: string, options: { body?: unknown; as?: Credentials | null } = {}) {
  const headers: Record<string, string> = {};
  if (options.as !== null) headers.authorization = basicAuth(options.as ?? testAdmin);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return send(berth.url, method, `/api/v2.0${path}`, {
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

interface Queue {
  job_type: string;
  count: number;
  latency: number;
  paused: boolean;
}

async function queue(type: string): Promise<Queue | undefined> {
  const response = await api('GET', '/jobservice/queues');
  assert.equal(response.status, 200, response.body.toString());
  return response.json<Queue[]>().find((each) => each.job_type === type);
}

async function waitForStatus(id: number, status: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await api('GET', `/jobservice/jobs/${id}`);
    assert.equal(response.status, 200, response.body.toString());
    const job = response.json<Record<string, unknown>>();
    if (job.status === status) return job;
    await sleep(10);
  }
  assert.fail(`job ${id} never became ${status}`);
}

before(async () => {
  berth = await startTestBerth({ 'jobs.pollIntervalMs': 20 });
  const created = await api('POST', '/users', {
    body: {
      username: user.username,
      email: 'jobs-user@example.com',
      realname: 'Jobs',
      password: user.password,
    },
  });
  assert.equal(created.status, 201, created.body.toString());
  berth.jobs.register('api-echo', async (payload, { log }) => {
    log.info(`echoing ${JSON.stringify(payload)}`);
  });
  berth.jobs.register('api-held', async (_payload, { signal }) => {
    await Promise.race([
      held,
      new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
    ]);
  });
});

after(async () => {
  release();
  await berth?.destroy();
});

describe('/jobservice', () => {
  it('refuses anonymous callers with 401 and non-administrators with 403', async () => {
    const { job } = await berth.jobs.enqueue('api-echo', { n: 0 });
    const calls: [string, string, unknown?][] = [
      ['GET', '/jobservice/queues'],
      ['PUT', '/jobservice/queues/api-echo', { action: 'pause' }],
      ['GET', `/jobservice/jobs/${job.id}`],
      ['PUT', `/jobservice/jobs/${job.id}`],
      ['GET', `/jobservice/jobs/${job.id}/log`],
    ];
    for (const [method, path, body] of calls) {
      const anonymous = await api(method, path, { body, as: null });
      assert.equal(anonymous.status, 401, `${method} ${path}`);
      assert.equal(anonymous.json<{ errors: { code: string }[] }>().errors[0]?.code, 'UNAUTHORIZED');
      const forbidden = await api(method, path, { body, as: user });
      assert.equal(forbidden.status, 403, `${method} ${path}`);
      assert.equal(forbidden.json<{ errors: { code: string }[] }>().errors[0]?.code, 'FORBIDDEN');
    }
    assert.equal((await queue('api-echo'))?.paused, false, 'the refused pause changed nothing');
  });

  it('runs a job and serves its state and its log as text', async () => {
    const { job } = await berth.jobs.enqueue('api-echo', { image: 'library/alpine' });
    const done = await waitForStatus(job.id, 'succeeded');
    assert.equal(done.job_type, 'api-echo');
    assert.equal(done.attempts, 1);
    assert.equal(typeof done.finish_time, 'string');
    const log = await api('GET', `/jobservice/jobs/${job.id}/log`);
    assert.equal(log.status, 200);
    assert.match(log.header('content-type') ?? '', /^text\/plain/);
    assert.match(log.body.toString(), /\[INFO\] echoing \{"image":"library\/alpine"\}\n/);
    assert.equal((await api('GET', '/jobservice/jobs/999999/log')).status, 404);
    assert.equal((await api('GET', '/jobservice/jobs/nope')).status, 404);
  });

  it('counts waiting jobs per queue, pauses and resumes a queue', async () => {
    assert.equal(
      (await api('PUT', '/jobservice/queues/api-echo', { body: { action: 'pause' } })).status,
      200,
    );
    const ids = [];
    for (let index = 0; index < 3; index++)
      ids.push((await berth.jobs.enqueue('api-echo', { index })).job.id);
    await sleep(60);
    const paused = await queue('api-echo');
    assert.deepEqual({ ...paused, latency: 0 }, { job_type: 'api-echo', count: 3, latency: 0, paused: true });
    assert.equal(
      (await api('GET', `/jobservice/jobs/${ids[0]}`)).json<{ status: string }>().status,
      'queued',
    );

    assert.equal(
      (await api('PUT', '/jobservice/queues/api-echo', { body: { action: 'resume' } })).status,
      200,
    );
    for (const id of ids) await waitForStatus(id, 'succeeded');
    assert.deepEqual(await queue('api-echo'), { job_type: 'api-echo', count: 0, latency: 0, paused: false });
  });

  it('stops a queue: its waiting jobs are cancelled', async () => {
    await api('PUT', '/jobservice/queues/all', { body: { action: 'pause' } });
    const { job } = await berth.jobs.enqueue('api-echo', { doomed: true });
    assert.equal((await queue('api-echo'))?.count, 1);
    assert.equal((await api('PUT', '/jobservice/queues/api-echo', { body: { action: 'stop' } })).status, 200);
    assert.equal((await queue('api-echo'))?.count, 0);
    assert.equal((await waitForStatus(job.id, 'cancelled')).status, 'cancelled');
    await api('PUT', '/jobservice/queues/all', { body: { action: 'resume' } });
    assert.equal((await queue('api-echo'))?.paused, false);

    const unknown = await api('PUT', '/jobservice/queues/no-such-type', { body: { action: 'stop' } });
    assert.equal(unknown.status, 404);
    const bad = await api('PUT', '/jobservice/queues/api-echo', { body: { action: 'explode' } });
    assert.equal(bad.status, 422);
  });

  it('stops a running job', async () => {
    const { job } = await berth.jobs.enqueue('api-held', null);
    await waitForStatus(job.id, 'running');
    assert.equal((await api('PUT', `/jobservice/jobs/${job.id}`)).status, 200);
    await waitForStatus(job.id, 'cancelled');
    assert.match(
      (await api('GET', `/jobservice/jobs/${job.id}/log`)).body.toString(),
      /\[INFO\] cancelled\n/,
    );
  });

  it('records queue changes in the audit log', async () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await api(
        'GET',
        `/audit-logs?q=${encodeURIComponent('resource_type=jobservice-queue')}`,
      );
      const entries = response.json<{ operation: string; resource: string }[]>();
      if (entries.some((entry) => entry.operation === 'stop' && entry.resource === 'api-echo')) return;
      await sleep(100);
    }
    assert.fail('no audit entry for the queue stop');
  });
});
