import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { BerthConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { type Berth, type StartOverrides, startBerth } from '../../src/main.ts';
import { createTestPostgresDatabase, testDatabaseBackend } from './postgres.ts';
import { forgetOrigin, testTlsProtocol, trustOrigin } from './tls.ts';

/** The administrator every test instance starts with. */
export const testAdmin = { username: 'admin', password: 'Berth-Test-Admin-1' } as const;

export interface TestBerth extends Berth {
  dataDir: string;
  config: BerthConfig;
  /** The CA that signed the server's certificate, when it serves HTTPS with a self-signed one. */
  caFile?: string;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * A real Berth on 127.0.0.1 and a random port, with its own temp data directory. With
 * `TEST_TLS=h2` (or `http1.1`) it serves HTTPS with a self-signed CA that `send()` trusts.
 */
export async function startTestBerth(
  overrides: Record<string, unknown> = {},
  parts: StartOverrides & {
    /** Collects every log line (JSON, level debug) for assertions about what is logged. */
    logLines?: string[];
  } = {},
): Promise<TestBerth> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  // BERTH_TEST_DATABASE=postgres: every Berth gets a fresh PostgreSQL database, dropped on destroy.
  const postgres =
    testDatabaseBackend === 'postgres' && !('database.url' in overrides)
      ? await createTestPostgresDatabase()
      : undefined;
  const config = loadConfig({
    env: {},
    flags: {
      listen: '127.0.0.1:0',
      data: dataDir,
      'log.level': 'silent',
      adminPassword: testAdmin.password,
      'registry.autoCreateProjects': true,
      ...(testTlsProtocol() && !('tls.certFile' in overrides) ? { 'tls.selfSigned': true } : {}),
      ...(postgres ? { 'database.url': postgres.url, 'database.poolSize': 4 } : {}),
      ...overrides,
    },
  });
  const berth = await startBerth(
    config,
    parts.logLines
      ? createLogger('debug', { write: (line: string) => void parts.logLines!.push(line) })
      : createLogger(process.env.TEST_LOG === '1' ? 'debug' : 'silent'),
    parts,
  );
  const caFile = config.tls.selfSigned ? join(dataDir, 'tls', 'ca.crt') : undefined;
  if (caFile) trustOrigin(berth.url, await readFile(caFile), testTlsProtocol() ?? 'h2');
  return {
    ...berth,
    dataDir,
    config,
    caFile,
    async destroy() {
      forgetOrigin(berth.url);
      await berth.close();
      await postgres?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function makeTempDir(prefix = 'berth-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
