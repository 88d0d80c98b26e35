import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { apiRequest } from '../helpers/api.ts';
import { startTestBerth, testAdmin } from '../helpers/berth.ts';
import { RegistryClient } from '../helpers/http.ts';
import {
  createTestPostgresDatabase,
  postgresUnavailable,
  type TestPostgresDatabase,
} from '../helpers/postgres.ts';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const skip = await postgresUnavailable();
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** `berth migrate …` from the sources, as an operator runs it. */
function berthMigrate(args: string[]) {
  return execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'migrate', ...args], {
    cwd: repoRoot,
    env: { ...process.env, BERTH_DATABASE_URL: '' },
  });
}

function rowCounts(counts: (table: string) => number, tables: string[]): Record<string, number> {
  return Object.fromEntries(tables.map((table) => [table, counts(table)]));
}

describe('berth migrate --to postgres://', { skip }, () => {
  it('copies an embedded SQLite deployment to PostgreSQL, which then serves it', async () => {
    // A SQLite deployment with content, users, a project and tags.
    const before = await startTestBerth({ 'database.url': '' });
    cleanups.push(() => rm(before.dataDir, { recursive: true, force: true }));
    const client = new RegistryClient(before.url);
    const image = await client.pushImage('lib/app', 'v1');
    await client.putManifest('lib/app', 'latest', image.bytes);
    const created = await apiRequest(before, testAdmin, 'POST', '/projects', {
      project_name: 'team',
      metadata: {},
    });
    assert.equal(created.status, 201, created.body.toString());
    const user = await apiRequest(before, testAdmin, 'POST', '/users', {
      username: 'dev',
      email: 'dev@example.com',
      realname: 'Dev',
      password: 'Dev-Password-1',
    });
    assert.equal(user.status, 201, user.body.toString());
    await before.close();

    const target: TestPostgresDatabase = await createTestPostgresDatabase();
    cleanups.push(() => target.drop());
    const { stdout } = await berthMigrate(['--data', before.dataDir, '--to', target.url]);
    assert.match(stdout, /^manifests: 1 rows$/m);
    assert.match(stdout, /set database\.url to use it/);

    // Every table holds the same number of rows on both sides.
    const sqlite = new Sqlite(before.config.database.sqlite.path, { readonly: true });
    const tables = (
      sqlite
        .prepare(
          `select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'`,
        )
        .all() as { name: string }[]
    ).map((row) => row.name);
    const sqliteCounts = rowCounts(
      (table) => (sqlite.prepare(`select count(*) as n from "${table}"`).get() as { n: number }).n,
      tables,
    );
    sqlite.close();
    const postgres = new pg.Client({ connectionString: target.url });
    await postgres.connect();
    const postgresCounts: Record<string, number> = {};
    for (const table of tables)
      postgresCounts[table] = Number(
        (await postgres.query(`select count(*) as n from "${table}"`)).rows[0].n,
      );
    await postgres.end();
    assert.deepEqual(postgresCounts, sqliteCounts);
    assert.ok(sqliteCounts.users! >= 2 && sqliteCounts.projects! >= 2 && sqliteCounts.tags === 2);

    // A second copy is refused: the target is no longer empty.
    await assert.rejects(berthMigrate(['--data', before.dataDir, '--to', target.url]), /already holds data/);

    // Berth on PostgreSQL (same blob directory and secret key) serves the copied deployment.
    const afterwards = await startTestBerth({ data: before.dataDir, 'database.url': target.url });
    cleanups.push(() => afterwards.destroy());
    const pulled = await new RegistryClient(afterwards.url).request('GET', '/v2/lib/app/manifests/latest', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);
    assert.equal(pulled.header('docker-content-digest'), image.digest);
    const dev = new RegistryClient(afterwards.url, { username: 'dev', password: 'Dev-Password-1' });
    assert.equal((await dev.request('GET', '/v2/')).status, 200, 'a copied user logs in');
    // Sequences moved past the copied ids: new rows get fresh ids.
    const another = await apiRequest(afterwards, testAdmin, 'POST', '/projects', {
      project_name: 'later',
      metadata: {},
    });
    assert.equal(another.status, 201, another.body.toString());
    const projects = (await apiRequest(afterwards, testAdmin, 'GET', '/projects?page_size=100')).json<
      { project_id: number; name: string }[]
    >();
    const ids = projects.map((project) => project.project_id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(projects.some((project) => project.name === 'team'));
  });
});
