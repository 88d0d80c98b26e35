import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inCi } from './tools.ts';

/**
 * `BERTH_TEST_DATABASE=postgres` runs the suite's in-process Berths on PostgreSQL. Read once and
 * removed from the environment: Berth refuses unknown BERTH_* variables, and Berths the tests
 * spawn as processes (which keep their SQLite file in their data directory across restarts)
 * must not see it.
 */
export const testDatabaseBackend: 'sqlite' | 'postgres' =
  process.env.BERTH_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
delete process.env.BERTH_TEST_DATABASE;

/** The machine's PostgreSQL (trust auth on loopback); `scripts/ensure-services.sh` starts it. */
export const postgresAdminUrl =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the test server. */
export function postgresUrl(name: string): string {
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * For `describe(name, { skip: await postgresUnavailable() }, …)`: false when the server
 * answers, else the reason to skip. Under CI=true an unreachable server is an error.
 */
export async function postgresUnavailable(): Promise<string | false> {
  try {
    await withAdmin((client) => client.query('select 1'));
    return false;
  } catch (error) {
    const reason = `PostgreSQL unreachable at ${postgresAdminUrl}: ${(error as Error).message} (npm test starts it)`;
    if (inCi) throw new Error(`${reason}; CI=true forbids skipping`);
    return reason;
  }
}

/** Databases made and not yet dropped; whatever a test leaves is dropped before the process exits. */
const undropped = new Set<string>();
process.once('beforeExit', () => {
  if (undropped.size === 0) return;
  void withAdmin(async (client) => {
    for (const name of undropped) await client.query(`drop database if exists ${name} with (force)`);
  }).catch(() => {});
});

export interface TestPostgresDatabase {
  name: string;
  url: string;
  /** Drops the database, ending any session still connected to it. */
  drop(): Promise<void>;
}

/**
 * A new, empty database for one test or one Berth. `locale` makes one whose default
 * collation is linguistic (ICU), to prove byte-order comparisons do not depend on it.
 */
export async function createTestPostgresDatabase(
  options: { icuLocale?: string } = {},
): Promise<TestPostgresDatabase> {
  const name = `berth_test_${randomBytes(6).toString('hex')}`;
  const locale = options.icuLocale
    ? ` template template0 locale_provider icu icu_locale '${options.icuLocale.replace(/[^a-zA-Z-]/g, '')}' locale 'C.UTF-8'`
    : '';
  await withAdmin((client) => client.query(`create database ${name}${locale}`));
  undropped.add(name);
  return {
    name,
    url: postgresUrl(name),
    async drop() {
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
      undropped.delete(name);
    },
  };
}
