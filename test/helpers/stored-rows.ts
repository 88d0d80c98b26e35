import Sqlite from 'better-sqlite3';
import pg from 'pg';
import type { TestBerth } from './berth.ts';

/**
 * Rows as a Berth stored them, read straight from its database (SQLite file or PostgreSQL) with
 * plain SQL and `?` parameters, for assertions the API does not expose. Numbers come back as
 * numbers on both backends.
 */
export async function storedRows<Row = Record<string, unknown>>(
  berth: Pick<TestBerth, 'config'>,
  query: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const { url, sqlite } = berth.config.database;
  if (url === '') {
    const db = new Sqlite(sqlite.path, { readonly: true });
    try {
      return db.prepare(query).all(...params) as Row[];
    } finally {
      db.close();
    }
  }
  let position = 0;
  const client = new pg.Client({
    connectionString: url,
    types: {
      getTypeParser: (oid: number, format?: string) =>
        oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'),
    } as pg.CustomTypesConfig,
  });
  await client.connect();
  try {
    return (
      await client.query(
        query.replace(/\?/g, () => `$${++position}`),
        params,
      )
    ).rows as Row[];
  } finally {
    await client.end();
  }
}
