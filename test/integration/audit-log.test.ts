import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DatabaseAuditLog } from '../../src/audit/audit-log.ts';
import type { Database } from '../../src/db/database.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { makeTempDir } from '../helpers/berth.ts';
import { testDatabaseBackend } from '../helpers/postgres.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

describe(`the batching audit log on ${testDatabaseBackend}`, () => {
  let dir: string;
  let testDb: TestDatabase;
  let db: Database;
  let now = 1_700_000_000_000;
  let audit: DatabaseAuditLog;

  before(async () => {
    dir = await makeTempDir('berth-audit-');
    testDb = await openTestDatabase(dir);
    db = testDb.db;
    audit = new DatabaseAuditLog(db, { now: () => now }, createLogger('silent'));
  });
  after(async () => {
    await testDb.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('writes nothing until flushed, then everything in order', async () => {
    audit.record({
      username: 'admin',
      clientIp: '127.0.0.1',
      userAgent: 'test',
      resourceType: 'project',
      resource: 'library',
      operation: 'create',
      result: 'success',
      projectId: 1,
    });
    assert.equal((await db.auditLogs.find({}, 10, 0)).total, 0);
    await audit.flush();
    const { rows } = await db.auditLogs.find({}, 10, 0);
    assert.deepEqual(
      rows.map((row) => [
        row.username,
        row.resource_type,
        row.resource,
        row.operation,
        row.result,
        row.project_id,
      ]),
      [['admin', 'project', 'library', 'create', 'success', 1]],
    );
  });

  test('repeated pulls by one client in one window are one entry with a count', async () => {
    now += 1000;
    for (let i = 0; i < 1000; i++)
      audit.recordArtifact('anonymous', '10.0.0.1', 'wrk', 'library/app:v1', 'pull');
    audit.recordArtifact('anonymous', '10.0.0.2', 'wrk', 'library/app:v1', 'pull');
    audit.recordArtifact('anonymous', '10.0.0.1', 'wrk', 'library/app:v2', 'pull');
    await audit.flush();
    const { rows } = await db.auditLogs.find({ operation: { exact: 'pull' } }, 10, 0);
    const byIpAndResource = rows.map((row) => [row.client_ip, row.resource, row.detail]).sort();
    assert.deepEqual(byIpAndResource, [
      ['10.0.0.1', 'library/app:v1', '{"count":1000}'],
      ['10.0.0.1', 'library/app:v2', null],
      ['10.0.0.2', 'library/app:v1', null],
    ]);
    // The next window starts counting afresh.
    audit.recordArtifact('anonymous', '10.0.0.1', 'wrk', 'library/app:v1', 'pull');
    await audit.flush();
    assert.equal((await db.auditLogs.find({ operation: { exact: 'pull' } }, 10, 0)).total, 4);
  });

  test('flushes by itself shortly after an event', async () => {
    audit.record({
      username: 'bob',
      clientIp: '127.0.0.1',
      userAgent: 'test',
      resourceType: 'login',
      resource: 'bob',
      operation: 'login',
      result: 'failure',
      detail: 'invalid',
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const { rows } = await db.auditLogs.find({ username: { exact: 'bob' } }, 10, 0);
    assert.equal(rows[0]?.detail, 'invalid');
  });
});
