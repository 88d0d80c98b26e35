import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { databaseConformance } from '../../src/db/conformance.ts';
import { openPostgresDatabase } from '../../src/db/postgres.ts';
import {
  createTestPostgresDatabase,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';

const skip = await postgresUnavailable();
const databases: TestPostgresDatabase[] = [];
after(async () => {
  for (const database of databases) await database.drop();
});

async function freshDatabase(options: { icuLocale?: string } = {}): Promise<TestPostgresDatabase> {
  const database = await createTestPostgresDatabase(options);
  databases.push(database);
  return database;
}

if (!skip) {
  databaseConformance('postgres', async () => {
    const db = openPostgresDatabase((await freshDatabase()).url, { poolSize: 4 });
    await db.migrate();
    return db;
  });

  // A linguistic default collation sorts '_x' before 'V2' and ignores '/'; Berth's text columns
  // are created COLLATE "C", so the byte-order paging tests hold on it too.
  databaseConformance('postgres (en-US ICU database collation)', async () => {
    const db = openPostgresDatabase((await freshDatabase({ icuLocale: 'en-US' })).url, { poolSize: 2 });
    await db.migrate();
    return db;
  });
}

describe('postgres database', { skip }, () => {
  it('migrates once when several nodes start together (advisory lock)', async () => {
    const { url } = await freshDatabase();
    const nodes = Array.from({ length: 4 }, () => openPostgresDatabase(url, { poolSize: 2 }));
    try {
      const applied = await Promise.all(nodes.map((node) => node.migrate()));
      const total = applied.flat();
      const first = applied.find((names) => names.length > 0) ?? [];
      assert.ok(first.length >= 13, `all migrations applied by one node: ${first.join(', ')}`);
      assert.deepEqual(total.sort(), [...first].sort(), 'no migration ran twice');
      assert.deepEqual(await nodes[0]!.migrate(), []);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  it('creates text columns in byte order, sizes as bigint, reals as double precision', async () => {
    const { url } = await freshDatabase();
    const db = openPostgresDatabase(url);
    await db.migrate();
    await db.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const columns = await client.query<{
        table_name: string;
        column_name: string;
        data_type: string;
        collation_name: string | null;
      }>(
        `select table_name, column_name, data_type, collation_name from information_schema.columns
          where table_schema = 'public' and table_name not like 'kysely_%'`,
      );
      const text = columns.rows.filter((row) => row.data_type === 'text');
      assert.ok(text.length > 50);
      assert.deepEqual(
        text.filter((row) => row.collation_name !== 'C').map((row) => `${row.table_name}.${row.column_name}`),
        [],
      );
      const size = columns.rows.find((row) => row.table_name === 'blobs' && row.column_name === 'size');
      assert.equal(size?.data_type, 'bigint');
      const score = columns.rows.find(
        (row) => row.table_name === 'advisories' && row.column_name === 'cvss_score',
      );
      assert.equal(score?.data_type, 'double precision', 'as wide as SQLite REAL');
    } finally {
      await client.end();
    }
  });

  it('returns bigint columns and counts as numbers', async () => {
    const db = openPostgresDatabase((await freshDatabase()).url);
    try {
      await db.migrate();
      await db.blobs.insert(`sha256:${'a'.repeat(64)}`, 2 ** 40, 7);
      await db.repositories.ensure('r', 7);
      await db.blobs.link('r', `sha256:${'a'.repeat(64)}`, 7);
      const found = await db.blobs.findInRepository('r', `sha256:${'a'.repeat(64)}`);
      assert.equal(found?.size, 2 ** 40);
    } finally {
      await db.close();
    }
  });
});
