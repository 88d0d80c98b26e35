import { loadConfig } from '../../src/config/load.ts';
import type { KyselyDatabase } from '../../src/db/database.ts';
import { openDatabase } from '../../src/db/open.ts';
import { createTestPostgresDatabase, testDatabaseBackend } from './postgres.ts';

export interface TestDatabaseLocation {
  /** `database.url` to hand to Berth (flag or BERTH_DATABASE_URL): '' for the SQLite file in its data directory. */
  url: string;
  /** The environment a spawned Berth (process or CLI) needs to use this database. */
  env: Record<string, string>;
  /** Opens it as Berth with data directory `dir` would (`openDatabase`); not migrated. */
  open(dir: string): KyselyDatabase;
  /** Drops the PostgreSQL database; nothing for SQLite (its file goes with the test's directory). */
  drop(): Promise<void>;
}

export interface TestDatabase {
  db: KyselyDatabase;
  /** Closes the database, then drops it on PostgreSQL. */
  close(): Promise<void>;
}

/**
 * Where a test's metadata database lives: `<data>/berth.db`, or with BERTH_TEST_DATABASE=postgres
 * a new, empty PostgreSQL database. For tests that run Berth's CLI or processes on it.
 */
export async function createTestDatabaseLocation(): Promise<TestDatabaseLocation> {
  const postgres = testDatabaseBackend === 'postgres' ? await createTestPostgresDatabase() : undefined;
  const url = postgres?.url ?? '';
  return {
    url,
    env: postgres ? { BERTH_DATABASE_URL: url } : {},
    open(dir) {
      const config = loadConfig({
        env: {},
        flags: { data: dir, 'database.url': url, 'database.poolSize': 4 },
      });
      return openDatabase(config.database);
    },
    drop: async () => postgres?.drop(),
  };
}

/**
 * A fresh, migrated metadata database for tests that use the query classes directly, opened the
 * way Berth opens it: a SQLite file in `dir` or, with BERTH_TEST_DATABASE=postgres, a new
 * PostgreSQL database.
 */
export async function openTestDatabase(dir: string): Promise<TestDatabase> {
  const location = await createTestDatabaseLocation();
  const db = location.open(dir);
  try {
    await db.migrate();
  } catch (error) {
    await db.close();
    await location.drop();
    throw error;
  }
  return {
    db,
    async close() {
      await db.close();
      await location.drop();
    },
  };
}
