import SqliteDriver from 'better-sqlite3';
import pg from 'pg';
import {
  openPostgresDatabase,
  type PostgresOptions,
  postgresTlsSettings,
  redactDatabaseUrl,
} from './postgres.ts';
import { openSqliteDatabase } from './sqlite.ts';

export interface CopiedTable {
  table: string;
  rows: number;
}

/** PostgreSQL accepts at most 65,535 bound parameters per statement. */
const maxParameters = 60_000;

/**
 * Copies an embedded SQLite deployment's metadata into an empty PostgreSQL database: both are
 * first migrated to the same schema, then every table is copied parents before children (by
 * their foreign keys) in one PostgreSQL transaction, so a failure leaves the target empty.
 * Identity sequences are then moved past the copied ids, so new rows never collide.
 */
export async function copySqliteToPostgres(
  sqlitePath: string,
  postgresUrl: string,
  options: PostgresOptions = {},
): Promise<CopiedTable[]> {
  const source = openSqliteDatabase({ path: sqlitePath });
  try {
    await source.migrate();
  } finally {
    await source.close();
  }
  const target = openPostgresDatabase(postgresUrl, options);
  try {
    await target.migrate();
  } finally {
    await target.close();
  }

  const sqlite = new SqliteDriver(sqlitePath, { readonly: true, fileMustExist: true });
  const client = new pg.Client({
    connectionString: postgresUrl,
    ...(options.tls ? { ssl: postgresTlsSettings(options.tls) } : {}),
  });
  try {
    await client.connect();
  } catch (error) {
    sqlite.close();
    throw new Error(`cannot connect to ${redactDatabaseUrl(postgresUrl)}: ${(error as Error).message}`);
  }
  try {
    const tables = tablesParentsFirst(sqlite);
    // One read transaction: every table from the same snapshot, even if a Berth still writes.
    sqlite.exec('begin');
    await client.query('begin');
    try {
      await refuseNonEmpty(client, tables);
      const copied: CopiedTable[] = [];
      for (const table of tables) copied.push({ table, rows: await copyTable(sqlite, client, table) });
      await resetIdentitySequences(client);
      await client.query('commit');
      return copied;
    } catch (error) {
      await client.query('rollback');
      throw error;
    }
  } finally {
    if (sqlite.inTransaction) sqlite.exec('rollback');
    sqlite.close();
    await client.end();
  }
}

/** Berth's tables (not SQLite's own or the migrator's) ordered so referenced tables come first. */
function tablesParentsFirst(sqlite: SqliteDriver.Database): string[] {
  const names = (
    sqlite
      .prepare(
        `select name from sqlite_master where type = 'table'
           and name not like 'sqlite\\_%' escape '\\' and name not like 'kysely\\_%' escape '\\'
         order by name`,
      )
      .all() as { name: string }[]
  ).map((row) => row.name);
  const parents = new Map<string, string[]>();
  for (const name of names) {
    const keys = sqlite.prepare('select "table" from pragma_foreign_key_list(?)').all(name) as {
      table: string;
    }[];
    parents.set(
      name,
      keys.map((key) => key.table).filter((parent) => parent !== name),
    );
  }
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    if (visiting.has(name)) throw new Error(`foreign keys form a cycle through table ${name}`);
    visiting.add(name);
    for (const parent of parents.get(name) ?? []) visit(parent);
    visiting.delete(name);
    ordered.push(name);
  };
  for (const name of names) visit(name);
  return ordered;
}

async function refuseNonEmpty(client: pg.Client, tables: string[]): Promise<void> {
  for (const table of tables) {
    const { rowCount } = await client.query(`select 1 from ${quote(table)} limit 1`);
    if (rowCount)
      throw new Error(
        `the PostgreSQL database already holds data (table ${table}); copy only into an empty one`,
      );
  }
}

async function copyTable(sqlite: SqliteDriver.Database, client: pg.Client, table: string): Promise<number> {
  const columns = (
    sqlite.prepare('select name from pragma_table_info(?) order by cid').all(table) as { name: string }[]
  ).map((row) => row.name);
  const perStatement = Math.max(1, Math.floor(maxParameters / columns.length));
  const columnList = columns.map(quote).join(', ');
  let batch: unknown[][] = [];
  let total = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const values: unknown[] = [];
    const tuples = batch.map((row) => {
      const placeholders = row.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await client.query(`insert into ${quote(table)} (${columnList}) values ${tuples.join(', ')}`, values);
    total += batch.length;
    batch = [];
  };
  // `iterate` streams rows, so a large table is never held in memory whole.
  const rows = sqlite
    .prepare(`select ${columnList} from ${quote(table)}`)
    .raw(true)
    .iterate() as IterableIterator<unknown[]>;
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= perStatement) await flush();
  }
  await flush();
  return total;
}

/** Moves each identity column's sequence past the largest copied id. */
async function resetIdentitySequences(client: pg.Client): Promise<void> {
  const identities = await client.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and is_identity = 'YES'`,
  );
  for (const { table_name: table, column_name: column } of identities.rows) {
    await client.query(
      `select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${quote(column)}) from ${quote(table)}), 0) + 1, false)`,
      [quote(table), column],
    );
  }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
