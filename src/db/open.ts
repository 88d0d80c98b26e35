import type { BerthConfig } from '../config/schema.ts';
import type { KyselyDatabase } from './database.ts';
import { openPostgresDatabase, type PostgresOptions } from './postgres.ts';
import { openSqliteDatabase } from './sqlite.ts';

/** Whether the settings name a PostgreSQL server rather than the embedded SQLite file. */
export function usesPostgres(settings: BerthConfig['database']): boolean {
  return /^postgres(ql)?:\/\//i.test(settings.url);
}

/** Opens the configured metadata database: PostgreSQL when `database.url` is set, else SQLite. */
export function openDatabase(
  settings: BerthConfig['database'],
  events: Pick<PostgresOptions, 'onIdleConnectionError'> = {},
): KyselyDatabase {
  if (settings.url === '') return openSqliteDatabase(settings.sqlite);
  if (!usesPostgres(settings))
    throw new Error('database.url must start with postgres:// or postgresql:// (or be empty for SQLite)');
  return openPostgresDatabase(settings.url, { ...postgresOptions(settings), ...events });
}

/** The pool and TLS settings for PostgreSQL from `database.*`. */
export function postgresOptions(settings: BerthConfig['database']): PostgresOptions {
  const tls = settings.tls;
  return {
    poolSize: settings.poolSize,
    ...(tls.enabled
      ? {
          tls: {
            ...(tls.caFile ? { caFile: tls.caFile } : {}),
            ...(tls.certFile ? { certFile: tls.certFile } : {}),
            ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
          },
        }
      : {}),
  };
}
