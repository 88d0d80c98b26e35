import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { KyselyDatabase } from '../../src/db/database.ts';
import { openSqliteDatabase } from '../../src/db/sqlite.ts';
import { readinessCheck, readinessRoute } from '../../src/http/readiness.ts';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.ts';
import { makeTempDir } from '../helpers/berth.ts';

describe('GET /readyz', () => {
  let dir: string;
  let db: KyselyDatabase;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    dir = await makeTempDir('berth-readiness-');
    db = openSqliteDatabase({ path: join(dir, 'berth.db') });
    await db.migrate();
    const store = new FilesystemBlobStore(join(dir, 'storage'));
    await store.init();
    app = Fastify();
    app.decorateRequest('routeName', '');
    readinessRoute(app, readinessCheck(db, store));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is 200 while the database and the blob store answer', async () => {
    const response = await fetch(`${url}/readyz`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await response.json(), { status: 'ready' });
  });

  it('is 503 with the reason once the database is gone', async () => {
    await db.close();
    const response = await fetch(`${url}/readyz`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as { status: string; reason: string };
    assert.equal(body.status, 'not ready');
    assert.match(body.reason, /^database: /);
  });
});
