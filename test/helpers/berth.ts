import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { BerthConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { type Berth, type StartOverrides, startBerth } from '../../src/main.ts';

/** The administrator every test instance starts with. */
export const testAdmin = { username: 'admin', password: 'Berth-Test-Admin-1' } as const;

export interface TestBerth extends Berth {
  dataDir: string;
  config: BerthConfig;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/** A real Berth on 127.0.0.1 and a random port, with its own temp data directory. */
export async function startTestBerth(
  overrides: Record<string, unknown> = {},
  parts: StartOverrides = {},
): Promise<TestBerth> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const config = loadConfig({
    env: {},
    flags: {
      listen: '127.0.0.1:0',
      data: dataDir,
      'log.level': 'silent',
      adminPassword: testAdmin.password,
      'registry.autoCreateProjects': true,
      ...overrides,
    },
  });
  const berth = await startBerth(
    config,
    createLogger(process.env.TEST_LOG === '1' ? 'debug' : 'silent'),
    parts,
  );
  return {
    ...berth,
    dataDir,
    config,
    async destroy() {
      await berth.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function makeTempDir(prefix = 'berth-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
