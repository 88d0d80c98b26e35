import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyDatabase } from './database.ts';
import { SqliteLikeDdlPlugin } from './postgres-ddl.ts';
import type { Schema } from './schema.ts';

export interface PostgresTlsOptions {
  /** PEM CA bundle the server's certificate must chain to; without it, the system CAs. */
  caFile?: string;
  /** PEM client certificate and key, for servers that require client certificates. */
  certFile?: string;
  keyFile?: string;
}

export interface PostgresOptions {
  /** Connections kept open at most (default 10). */
  poolSize?: number;
  /** TLS to the server; `sslmode=` in the URL also turns it on. */
  tls?: PostgresTlsOptions;
  /** Told when the server ends an idle pooled connection (the pool replaces it). */
  onIdleConnectionError?: (error: Error) => void;
}

const int8Oid = 20;
const numericOid = 1700;

/**
 * Sizes and times are `bigint` columns, and `count`/`sum` return `bigint`/`numeric`: pg hands
 * those over as strings, SQLite as numbers. Every such value Berth stores (bytes, epoch ms)
 * is far below 2^53, so both backends give the query classes plain numbers.
 */
const numberTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === int8Oid || oid === numericOid) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

/** Opens a pool to the PostgreSQL database at `url` (`postgres://…`). Call `migrate()` next. */
export function openPostgresDatabase(url: string, options: PostgresOptions = {}): KyselyDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types: numberTypes,
    ...(options.tls ? { ssl: postgresTlsSettings(options.tls) } : {}),
  });
  // An idle pooled connection the server ends (restart, failover, an administrator) is
  // dropped by the pool and replaced on next use; without a listener it would crash the process.
  pool.on('error', (error) => options.onIdleConnectionError?.(error));
  const kysely = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new SqliteLikeDdlPlugin()],
  });
  return new KyselyDatabase(kysely);
}

export function postgresTlsSettings(tls: PostgresTlsOptions): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
  };
}

/** A URL with its password replaced, for logs and errors. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
