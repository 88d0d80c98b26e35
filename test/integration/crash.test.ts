import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { makeTempDir, testAdmin } from '../helpers/berth.ts';
import { basicAuth, RegistryClient, sha256 } from '../helpers/http.ts';
import { type BerthProcess, spawnBerth } from '../helpers/process.ts';
import { auditBlobFiles } from '../helpers/store-check.ts';
import { createTestDatabaseLocation, type TestDatabaseLocation } from '../helpers/test-database.ts';

const started: BerthProcess[] = [];
const dirs: string[] = [];
const databases: TestDatabaseLocation[] = [];
after(async () => {
  for (const berth of started) await berth.kill();
  for (const database of databases) await database.drop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The processes' database: their SQLite file, or with BERTH_TEST_DATABASE=postgres a fresh PostgreSQL one. */
async function processDatabase(): Promise<TestDatabaseLocation> {
  const database = await createTestDatabaseLocation();
  databases.push(database);
  return database;
}

/** Starts sending `total` bytes and resolves once `sent` of them are on the wire; the request never finishes. */
function startHangingUpload(
  url: string,
  method: string,
  headers: Record<string, string | number>,
  sent: number,
) {
  return new Promise<void>((resolve) => {
    const req = httpRequest(url, { method, headers: { authorization: basicAuth(testAdmin), ...headers } });
    req.on('error', () => {});
    req.write(randomBytes(sent), () => setTimeout(resolve, 200));
  });
}

describe('kill -9 mid-upload', () => {
  it('restarts consistent: no partial blob visible, chunked uploads resume, the database intact', async () => {
    const dataDir = await makeTempDir('berth-crash-');
    dirs.push(dataDir);
    const database = await processDatabase();
    const first = await spawnBerth(dataDir, { env: database.env });
    started.push(first);
    const client = new RegistryClient(first.url);

    const blob = randomBytes(3 * 1024 * 1024);
    const digest = sha256(blob);
    const start = await client.request('POST', '/v2/crash/app/blobs/uploads/');
    const location = start.header('location')!;
    const half = blob.length / 2;
    const chunk = await client.request('PATCH', location, {
      headers: { 'content-range': `0-${half - 1}`, 'content-length': half },
      body: blob.subarray(0, half),
    });
    assert.equal(chunk.status, 202);

    // A second chunk and a monolithic push are half-way through when the server dies.
    const monolithic = randomBytes(4 * 1024 * 1024);
    await Promise.all([
      startHangingUpload(
        `${first.url}${location}`,
        'PATCH',
        { 'content-range': `${half}-${blob.length - 1}`, 'content-length': half },
        512 * 1024,
      ),
      startHangingUpload(
        `${first.url}/v2/crash/app/blobs/uploads/?digest=${sha256(monolithic)}`,
        'POST',
        { 'content-length': monolithic.length },
        1024 * 1024,
      ),
    ]);
    await first.kill();

    const second = await spawnBerth(dataDir, { env: database.env });
    started.push(second);
    const after = new RegistryClient(second.url);
    assert.equal((await after.request('HEAD', `/v2/crash/app/blobs/${sha256(monolithic)}`)).status, 404);
    assert.equal((await after.request('HEAD', `/v2/crash/app/blobs/${digest}`)).status, 404);

    const status = await after.request('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.header('range'), `0-${half - 1}`, 'only acknowledged bytes count');
    const resumed = await after.request('PATCH', location, {
      headers: { 'content-range': `${half}-${blob.length - 1}`, 'content-length': half },
      body: blob.subarray(half),
    });
    assert.equal(resumed.status, 202);
    const done = await after.request('PUT', `${location}?digest=${digest}`, {
      headers: { 'content-length': 0 },
    });
    assert.equal(done.status, 201);
    assert.deepEqual((await after.request('GET', `/v2/crash/app/blobs/${digest}`)).body, blob);

    // The client that lost its monolithic push simply retries it.
    const retried = await after.request('POST', `/v2/crash/app/blobs/uploads/?digest=${sha256(monolithic)}`, {
      headers: { 'content-length': monolithic.length },
      body: monolithic,
    });
    assert.equal(retried.status, 201);
    await second.stop();

    const files = await auditBlobFiles(join(dataDir, 'storage'));
    assert.ok(
      files.every((file) => file.intact),
      JSON.stringify(files),
    );
    assert.deepEqual(files.map((file) => file.digest).sort(), [digest, sha256(monolithic)].sort());
    const db = database.open(dataDir);
    try {
      for (const stored of [digest, sha256(monolithic)])
        assert.ok(await db.blobs.findInRepository('crash/app', stored), `${stored} recorded`);
    } finally {
      await db.close();
    }
    assert.equal(
      existsSync(join(dataDir, 'berth.db')),
      database.url === '',
      'the backend under test was used',
    );
    if (database.url === '') {
      const sqlite = new Database(join(dataDir, 'berth.db'), { readonly: true });
      try {
        assert.deepEqual(sqlite.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
        assert.deepEqual(sqlite.pragma('foreign_key_check'), []);
      } finally {
        sqlite.close();
      }
    }
  });
});

describe('a full disk', () => {
  it('answers 507 and logs the cause, leaves nothing visible, and takes the next push that fits', async () => {
    const dataDir = await makeTempDir('berth-full-');
    dirs.push(dataDir);
    const database = await processDatabase();
    const server = await spawnBerth(dataDir, {
      fileSizeLimitKiB: 2048,
      env: { ...database.env, BERTH_LOG_LEVEL: 'error' },
    });
    started.push(server);
    const client = new RegistryClient(server.url);
    const big = randomBytes(3 * 1024 * 1024);
    const refused = await client.request('POST', `/v2/full/app/blobs/uploads/?digest=${sha256(big)}`, {
      headers: { 'content-length': big.length },
      body: big,
    });
    assert.equal(refused.status, 507);
    assert.equal(refused.errorCode(), 'UNAVAILABLE');
    assert.equal((await client.request('HEAD', `/v2/full/app/blobs/${sha256(big)}`)).status, 404);
    assert.match(server.output(), /storage is full/);
    const small = Buffer.from('fits');
    assert.equal(await client.pushBlob('full/app', small), sha256(small));
  });
});
