import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { KyselyDatabase } from '../../src/db/database.ts';
import type { JobRow } from '../../src/db/jobs.ts';
import { openPostgresDatabase } from '../../src/db/postgres.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { formatJobLog } from '../../src/jobs/job-log.ts';
import { JobService, type JobServiceOptions } from '../../src/jobs/job-service.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { makeTempDir } from '../helpers/berth.ts';
import {
  createTestPostgresDatabase,
  type TestPostgresDatabase,
  testDatabaseBackend,
} from '../helpers/postgres.ts';

/**
 * The job service on a real SQLite file (or, with BERTH_TEST_DATABASE=postgres, a fresh
 * PostgreSQL database): claiming, limits, retries, cancellation, leases, cron.
 */

const workerScript = fileURLToPath(new URL('../helpers/job-worker-process.ts', import.meta.url));
const dirs: string[] = [];
let db: KyselyDatabase;
/** The SQLite file, or the PostgreSQL URL, the worker process opens too. */
let dbPath: string;
let postgres: TestPostgresDatabase | undefined;
let services: JobService[] = [];

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  const dir = await makeTempDir('berth-jobs-');
  dirs.push(dir);
  if (testDatabaseBackend === 'postgres') {
    postgres = await createTestPostgresDatabase();
    dbPath = postgres.url;
    db = openPostgresDatabase(dbPath, { poolSize: 4 });
  } else {
    dbPath = join(dir, 'berth.db');
    db = openSqliteDatabase({ path: dbPath });
  }
  await db.migrate();
});

afterEach(async () => {
  for (const service of services) await service.stop(200);
  services = [];
  await db.close();
  await postgres?.drop();
  postgres = undefined;
});

function jobService(options: Partial<JobServiceOptions> = {}): JobService {
  const service = new JobService({
    db,
    clock: systemClock,
    log: createLogger('silent'),
    workers: 2,
    pollIntervalMs: 20,
    leaseMs: 5000,
    retryBaseMs: 20,
    retryMaxMs: 100,
    ...options,
  });
  services.push(service);
  return service;
}

async function waitFor(
  service: JobService,
  id: number,
  statuses: string[],
  timeoutMs = 1500,
): Promise<JobRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await service.job(id);
    if (job && statuses.includes(job.status)) return job;
    if (Date.now() > deadline) assert.fail(`job ${id} is ${job?.status}, not ${statuses.join('/')}`);
    await sleep(10);
  }
}

/** A promise and its resolver, to hold a handler until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('job service', () => {
  it('runs a job with its payload and records success and its log', async () => {
    const jobs = jobService();
    const seen: unknown[] = [];
    jobs.register('echo', async (payload, { log, attempt }) => {
      seen.push(payload);
      log.info(`echo ${JSON.stringify(payload)} on attempt ${attempt}`);
    });
    jobs.start();
    const { job, created } = await jobs.enqueue('echo', { digest: 'sha256:abc' });
    assert.equal(created, true);
    const done = await waitFor(jobs, job.id, ['succeeded']);
    assert.deepEqual(seen, [{ digest: 'sha256:abc' }]);
    assert.equal(done.attempts, 1);
    assert.ok(done.finished_at);
    const text = formatJobLog(await jobs.logs(job.id));
    assert.match(text, /\[INFO\] attempt 1 of 3 started\n/);
    assert.match(text, /\[INFO\] echo \{"digest":"sha256:abc"\} on attempt 1\n/);
    assert.match(text, /\[INFO\] succeeded\n$/);
  });

  it('keeps to the global and the per-type concurrency limits', async () => {
    const jobs = jobService({ workers: 3 });
    const current = { all: 0, slow: 0, maxAll: 0, maxSlow: 0 };
    const work = (type: 'slow' | 'fast') => async () => {
      current.all++;
      if (type === 'slow') current.slow++;
      current.maxAll = Math.max(current.maxAll, current.all);
      current.maxSlow = Math.max(current.maxSlow, current.slow);
      await sleep(30);
      current.all--;
      if (type === 'slow') current.slow--;
    };
    jobs.register('slow', work('slow'), { concurrency: 1 });
    jobs.register('fast', work('fast'));
    const ids: number[] = [];
    for (let index = 0; index < 6; index++) {
      ids.push((await jobs.enqueue('slow', index)).job.id);
      ids.push((await jobs.enqueue('fast', index)).job.id);
    }
    jobs.start();
    for (const id of ids) await waitFor(jobs, id, ['succeeded']);
    assert.equal(current.maxAll, 3);
    assert.equal(current.maxSlow, 1);
  });

  it('retries a failing job with growing delays until it succeeds', async () => {
    const jobs = jobService({ retryBaseMs: 40, retryMaxMs: 1000 });
    const times: number[] = [];
    jobs.register('flaky', async (_payload, { attempt }) => {
      times.push(Date.now());
      if (attempt < 3) throw new Error(`flaked on attempt ${attempt}`);
    });
    jobs.start();
    const { job } = await jobs.enqueue('flaky', null, { maxAttempts: 5 });
    const done = await waitFor(jobs, job.id, ['succeeded']);
    assert.equal(done.attempts, 3);
    assert.equal(times.length, 3);
    // Equal jitter: at least half of 40 ms, then half of 80 ms.
    assert.ok(times[1]! - times[0]! >= 20, `first delay ${times[1]! - times[0]!}`);
    assert.ok(times[2]! - times[1]! >= 40, `second delay ${times[2]! - times[1]!}`);
    assert.equal(done.last_error, 'flaked on attempt 2');
    const text = formatJobLog(await jobs.logs(job.id));
    assert.match(text, /\[WARN\] attempt 1 failed: flaked on attempt 1; next attempt in \d+ ms/);
  });

  it('ends in error with the last error once the attempts are used up', async () => {
    const jobs = jobService();
    let calls = 0;
    jobs.register('doomed', async (_payload, { attempt }) => {
      calls++;
      throw new Error(`broken ${attempt}`);
    });
    jobs.start();
    const { job } = await jobs.enqueue('doomed', null, { maxAttempts: 2 });
    const done = await waitFor(jobs, job.id, ['error']);
    assert.equal(calls, 2);
    assert.equal(done.attempts, 2);
    assert.equal(done.last_error, 'broken 2');
    assert.match(
      formatJobLog(await jobs.logs(job.id)),
      /\[ERROR\] attempt 2 failed: broken 2; no attempts left/,
    );
  });

  it('cancels a waiting job at once and aborts a running one', async () => {
    const jobs = jobService({ workers: 1 });
    const started = gate();
    let abortReason: unknown;
    let ran = 0;
    jobs.register('hold', async (payload, { signal }) => {
      ran++;
      if (payload !== 'first') return;
      started.open();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      abortReason = signal.reason;
      throw new Error('aborted by the signal');
    });
    const first = (await jobs.enqueue('hold', 'first')).job;
    const second = (await jobs.enqueue('hold', 'second')).job;
    jobs.start();
    await started.opened;
    assert.equal(await jobs.cancel(second.id), true);
    assert.equal((await jobs.job(second.id))?.status, 'cancelled');
    assert.equal(await jobs.cancel(first.id), true);
    assert.equal((await jobs.job(first.id))?.status, 'cancelled');
    await sleep(50);
    assert.match(String(abortReason), /cancelled/);
    assert.equal(ran, 1, 'the cancelled waiting job never ran');
    const after = await jobs.job(first.id);
    assert.equal(after?.status, 'cancelled', 'the handler ending does not overwrite the cancellation');
    assert.equal(await jobs.cancel(first.id), false, 'a finished job cannot be cancelled');
  });

  it('keeps one unfinished job per dedupe key', async () => {
    const jobs = jobService();
    const release = gate();
    jobs.register('scan', async () => release.opened);
    const first = await jobs.enqueue('scan', { n: 1 }, { dedupeKey: 'scan:sha256:aa' });
    const again = await jobs.enqueue('scan', { n: 2 }, { dedupeKey: 'scan:sha256:aa' });
    const other = await jobs.enqueue('scan', { n: 3 }, { dedupeKey: 'scan:sha256:bb' });
    assert.equal(again.created, false);
    assert.equal(again.job.id, first.job.id);
    assert.notEqual(other.job.id, first.job.id);
    jobs.start();
    await waitFor(jobs, first.job.id, ['running']);
    assert.equal((await jobs.enqueue('scan', {}, { dedupeKey: 'scan:sha256:aa' })).job.id, first.job.id);
    release.open();
    await waitFor(jobs, first.job.id, ['succeeded']);
    const later = await jobs.enqueue('scan', {}, { dedupeKey: 'scan:sha256:aa' });
    assert.equal(later.created, true, 'a finished job does not hold its key');
  });

  it('gives a job whose process died to another worker once its lease passes', async () => {
    const { job } = await jobService().enqueue('orphan', { image: 'x' });
    services = [];
    const child = spawn(process.execPath, ['--import', 'tsx', workerScript, dbPath, 'orphan', '150'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const claimed = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => resolve(chunk.toString()));
      child.once('exit', (code) => reject(new Error(`the worker exited with ${code}`)));
    });
    assert.equal(claimed.trim(), `claimed ${job.id}`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const orphaned = await db.jobs.findById(job.id);
    assert.equal(orphaned?.status, 'running');

    const second = jobService({ workerId: 'second' });
    const attempts: number[] = [];
    second.register('orphan', async (_payload, { attempt, log }) => {
      attempts.push(attempt);
      log.info('second worker finished it');
    });
    second.start();
    const done = await waitFor(second, job.id, ['succeeded']);
    assert.deepEqual(attempts, [2], 'the dead attempt counts');
    assert.equal(done.worker, 'second');
    const text = formatJobLog(await second.logs(job.id));
    assert.match(text, /first worker started[\s\S]*attempt 2 of 3 started[\s\S]*second worker finished it/);
  });

  it('fails a dead worker’s job that has no attempt left instead of running it again', async () => {
    const first = jobService({ leaseMs: 50, workerId: 'first' });
    first.register('last', async () => new Promise(() => {}));
    const { job } = await first.enqueue('last', null, { maxAttempts: 1 });
    const now = Date.now();
    // What a worker that claimed it and died leaves behind, written by the claim itself.
    await db.jobs.claim({ worker: 'dead', now, leaseUntil: now + 30, types: ['last'] });
    await sleep(40);
    first.start();
    const done = await waitFor(first, job.id, ['error']);
    assert.equal(done.last_error, 'the worker running the last attempt stopped');
  });

  it('stops gracefully: waits for running jobs, gives back those that outlast the timeout', async () => {
    const jobs = jobService({ workers: 2 });
    const quickStarted = gate();
    const slowStarted = gate();
    let quickFinished = false;
    jobs.register('quick', async () => {
      quickStarted.open();
      await sleep(50);
      quickFinished = true;
    });
    jobs.register('endless', async (_payload, { signal }) => {
      slowStarted.open();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    });
    const quick = (await jobs.enqueue('quick', null)).job;
    const endless = (await jobs.enqueue('endless', null)).job;
    jobs.start();
    await Promise.all([quickStarted.opened, slowStarted.opened]);
    const stopping = Date.now();
    await jobs.stop(150);
    const took = Date.now() - stopping;
    assert.ok(took >= 140 && took < 1000, `stop took ${took} ms`);
    assert.equal(quickFinished, true);
    assert.equal((await jobs.job(quick.id))?.status, 'succeeded');
    const left = await jobs.job(endless.id);
    assert.equal(left?.status, 'running');
    assert.ok(left.lease_until! < Date.now(), 'its lease ended so the next worker claims it now');

    const next = jobService({ workerId: 'next' });
    next.register('endless', async () => {});
    next.start();
    const done = await waitFor(next, endless.id, ['succeeded']);
    assert.equal(done.attempts, 2);
  });

  it('enqueues scheduled jobs at their cron times, after a restart too', async () => {
    let now = Date.UTC(2026, 0, 1, 0, 0, 0);
    const clock: Clock = { now: () => now };
    const ran: unknown[] = [];
    const handler = async (payload: unknown) => {
      ran.push(payload);
    };
    const first = jobService({ clock, pollIntervalMs: 60_000 });
    first.register('scan-all', handler);
    first.start();
    await first.schedule('nightly-scan', { type: 'scan-all', cron: '0 30 2 * * *', payload: { all: true } });
    assert.equal((await first.findSchedule('nightly-scan'))?.next_run_at, Date.UTC(2026, 0, 1, 2, 30));

    const settle = async (service: JobService) => {
      service.kick();
      await sleep(60);
    };
    now = Date.UTC(2026, 0, 1, 2, 29, 59);
    await settle(first);
    assert.deepEqual(ran, []);
    now = Date.UTC(2026, 0, 1, 2, 30, 0);
    await settle(first);
    assert.deepEqual(ran, [{ all: true }]);
    assert.equal((await first.findSchedule('nightly-scan'))?.next_run_at, Date.UTC(2026, 0, 2, 2, 30));
    await settle(first);
    assert.equal(ran.length, 1, 'one run per time');
    await first.stop();

    // Down for three days: the missed times become one run, and the next is tomorrow's.
    now = Date.UTC(2026, 0, 5, 12, 0, 0);
    const second = jobService({ clock, pollIntervalMs: 60_000 });
    second.register('scan-all', handler);
    second.start();
    await settle(second);
    assert.equal(ran.length, 2);
    assert.equal((await second.findSchedule('nightly-scan'))?.next_run_at, Date.UTC(2026, 0, 6, 2, 30));

    assert.equal(await second.unschedule('nightly-scan'), true);
    now = Date.UTC(2026, 0, 7);
    await settle(second);
    assert.equal(ran.length, 2);
    await assert.rejects(second.schedule('broken', { type: 'scan-all', cron: 'not a cron' }));
  });

  it('pauses, resumes and stops a queue', async () => {
    const jobs = jobService();
    const ran: unknown[] = [];
    jobs.register('gc', async (payload) => {
      ran.push(payload);
    });
    jobs.start();
    await jobs.queueAction('gc', 'pause');
    const first = (await jobs.enqueue('gc', 1)).job;
    await jobs.enqueue('gc', 2);
    await sleep(60);
    assert.deepEqual(ran, []);
    const [queue] = await jobs.queues();
    assert.deepEqual(
      { ...queue, latencySeconds: 0 },
      { type: 'gc', count: 2, latencySeconds: 0, paused: true },
    );
    await jobs.queueAction('gc', 'resume');
    await waitFor(jobs, first.id, ['succeeded']);
    await jobs.queueAction('gc', 'pause');
    const stopped = (await jobs.enqueue('gc', 3)).job;
    await jobs.queueAction(undefined, 'stop');
    assert.equal((await jobs.job(stopped.id))?.status, 'cancelled');
    assert.equal((await jobs.queues())[0]?.count, 0);
  });
});
