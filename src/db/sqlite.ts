import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDriver from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyDatabase } from './database.ts';
import type { Schema } from './schema.ts';
import { StatementCachingDatabase } from './statement-cache.ts';

export interface SqliteOptions {
  path: string;
  /**
   * `normal` (default): WAL, no fsync per commit; a process crash loses nothing, a power loss
   * may lose the last commits but never corrupts. `full`: fsync every commit.
   */
  synchronous?: 'normal' | 'full';
}

/** Opens (creating if needed) the embedded SQLite metadata database. Call `migrate()` next. */
export function openSqliteDatabase(options: SqliteOptions): KyselyDatabase {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const driver = new SqliteDriver(options.path);
  driver.pragma('journal_mode = WAL');
  driver.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  driver.pragma('foreign_keys = ON');
  driver.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Schema>({
    dialect: new SqliteDialect({ database: new StatementCachingDatabase(driver) }),
  });
  return new KyselyDatabase(kysely);
}
