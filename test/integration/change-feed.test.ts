import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { LocalChangeFeed, PostgresChangeFeed } from '../../src/cluster/change-feed.ts';
import { openPostgresDatabase } from '../../src/db/postgres.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import {
  createTestPostgresDatabase,
  postgresAdminUrl,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';

const log = createLogger('silent');

async function eventually(ms: number, probe: () => boolean): Promise<void> {
  const start = Date.now();
  while (!probe()) {
    if (Date.now() - start > ms) assert.fail(`not true within ${ms} ms`);
    await sleep(10);
  }
}

describe('in-process change feed', () => {
  it('delivers each topic to its subscribers only', () => {
    const feed = new LocalChangeFeed();
    const seen: string[] = [];
    feed.subscribe('a', (payload) => seen.push(`a:${payload}`));
    feed.subscribe('b', (payload) => seen.push(`b:${payload}`));
    feed.publish('a', '1');
    feed.publish('c', '2');
    assert.deepEqual(seen, ['a:1']);
  });
});

describe('PostgreSQL change feed and schedules', { skip: await postgresUnavailable() }, () => {
  let database: TestPostgresDatabase;

  before(async () => {
    database = await createTestPostgresDatabase();
  });
  after(async () => {
    await database?.drop();
  });

  it('carries messages to the other nodes, not back to the sender', async () => {
    const one = new PostgresChangeFeed({ url: database.url, log });
    const two = new PostgresChangeFeed({ url: database.url, log });
    await one.start();
    await two.start();
    try {
      const atOne: string[] = [];
      const atTwo: string[] = [];
      one.subscribe('projects', (payload) => atOne.push(payload));
      two.subscribe('projects', (payload) => atTwo.push(payload));
      one.publish('projects', 'library');
      await eventually(1000, () => atTwo.length === 1);
      assert.deepEqual(atTwo, ['library']);
      await sleep(100);
      assert.deepEqual(atOne, []);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('reconnects after its connection is killed, asks for a resync, and listens again', async () => {
    const listener = new PostgresChangeFeed({ url: database.url, log, retryMs: 50 });
    const sender = new PostgresChangeFeed({ url: database.url, log, retryMs: 50 });
    await listener.start();
    await sender.start();
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    try {
      let resyncs = 0;
      let senderResyncs = 0;
      const received: string[] = [];
      listener.onResync(() => {
        resyncs += 1;
      });
      sender.onResync(() => {
        senderResyncs += 1;
      });
      listener.subscribe('credentials', (payload) => received.push(payload));
      // The server ends both feeds' sessions, as a restart or failover would.
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = $1 and application_name = 'berth-change-feed'`,
        [database.name],
      );
      assert.equal(killed.rowCount, 2);
      await eventually(5000, () => resyncs === 1 && senderResyncs === 1);
      sender.publish('credentials', 'after');
      await eventually(1000, () => received.includes('after'));
    } finally {
      await admin.end();
      await listener.close();
      await sender.close();
    }
  });

  it('a due schedule enqueues one job however many job services poll it', async () => {
    const db = openPostgresDatabase(database.url, { poolSize: 8 });
    await db.migrate();
    let now = Date.UTC(2026, 0, 1, 0, 0, 0);
    const clock: Clock = { now: () => now };
    const services = [0, 1, 2].map(
      (index) =>
        new JobService({
          db,
          clock,
          log,
          workers: 2,
          pollIntervalMs: 5,
          leaseMs: 30_000,
          workerId: `node-${index}`,
        }),
    );
    const runs: number[] = [];
    for (const service of services)
      service.register('cluster-tick', async () => {
        runs.push(now);
      });
    try {
      await services[0]!.schedule('tick', { type: 'cluster-tick', cron: '0 * * * *' });
      for (const service of services) service.start();
      // Ten due times; every node polls each one every 5 ms.
      for (let hour = 1; hour <= 10; hour++) {
        now = Date.UTC(2026, 0, 1, hour, 0, 30);
        await eventually(5000, () => runs.length >= hour);
        await sleep(100);
      }
      assert.equal(runs.length, 10);
      // The guard underneath: of nodes advancing the same due time at once, exactly one wins.
      for (const service of services) await service.stop();
      const schedule = (await db.jobs.findSchedule('tick'))!;
      const winners = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          db.jobs.advanceSchedule(
            'tick',
            schedule.next_run_at,
            schedule.next_run_at + 3_600_000 + index,
            now,
          ),
        ),
      );
      assert.equal(winners.filter(Boolean).length, 1);
    } finally {
      for (const service of services) await service.stop();
      await db.close();
    }
  });
});
