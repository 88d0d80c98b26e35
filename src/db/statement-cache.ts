import type { Database as SqliteDriver } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { LruCache } from '../lib/lru-cache.ts';

/**
 * better-sqlite3 behind Kysely, with prepared statements kept and reused by their SQL text:
 * preparing took twice as long as running the registry's point lookups. Safe because Kysely
 * runs one statement at a time on its single SQLite connection.
 */
export class StatementCachingDatabase implements SqliteDatabase {
  private readonly statements = new LruCache<string, SqliteStatement>(256, () => 1);

  constructor(private readonly driver: SqliteDriver) {}

  prepare(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.driver.prepare(sql) as unknown as SqliteStatement;
      this.statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    this.driver.close();
  }
}
