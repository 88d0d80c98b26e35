import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, configLeaves, loadConfig, parseListen } from '../../src/config/load.ts';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function yamlFile(text: string): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  it('has defaults and derives paths from the data directory', () => {
    const config = loadConfig({ env: {}, flags: { data: '/srv/berth' } });
    assert.equal(config.listen, '127.0.0.1:5000');
    assert.equal(config.registry.manifestMaxBytes, 4 * 1024 * 1024);
    assert.equal(config.database.sqlite.path, '/srv/berth/berth.db');
    assert.equal(config.storage.filesystem.root, '/srv/berth/storage');
  });

  it('layers file, environment and flags in that order', () => {
    const file = yamlFile('listen: 0.0.0.0:6000\nregistry:\n  manifestMaxBytes: 8192\nlog:\n  level: warn\n');
    const config = loadConfig({
      file,
      env: { BERTH_REGISTRY_MANIFEST_MAX_BYTES: '16384', BERTH_LOG_REQUESTS: 'false' },
      flags: { listen: '127.0.0.1:7000' },
    });
    assert.equal(config.listen, '127.0.0.1:7000');
    assert.equal(config.registry.manifestMaxBytes, 16384);
    assert.equal(config.log.level, 'warn');
    assert.equal(config.log.requests, false);
  });

  it('names every bad value and where it came from', () => {
    const file = yamlFile('listen: nowhere\nregistry:\n  manifestMaxBytes: 12\n  bogus: 1\n');
    const found = problems(() =>
      loadConfig({ file, env: { BERTH_LOG_LEVEL: 'loud', BERTH_METRICS_ENABLED: 'maybe' } }),
    );
    assert.ok(
      found.some((p) => p.startsWith('listen') && p.includes(file)),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('registry.manifestMaxBytes') && p.includes('12')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.includes('bogus')),
      found.join('\n'),
    );
    assert.ok(
      found.some(
        (p) =>
          p.startsWith('log.level (from BERTH_LOG_LEVEL): must be one of fatal, error') &&
          p.includes('"loud"'),
      ),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('metrics.enabled (from BERTH_METRICS_ENABLED)')),
      found.join('\n'),
    );
  });

  it('rejects ports past 65535', () => {
    assert.match(
      problems(() => loadConfig({ env: {}, flags: { listen: '127.0.0.1:70000' } }))[0]!,
      /at most 65535/,
    );
  });

  it('rejects unknown BERTH_ variables, unreadable files and broken YAML', () => {
    assert.match(
      problems(() => loadConfig({ env: { BERTH_LISTN: 'x' } }))[0]!,
      /unknown environment variable BERTH_LISTN/,
    );
    assert.match(
      problems(() => loadConfig({ file: '/nonexistent/berth.yaml', env: {} }))[0]!,
      /cannot read config file/,
    );
    assert.match(
      problems(() => loadConfig({ file: yamlFile('listen: [unclosed'), env: {} }))[0]!,
      /config file/,
    );
    assert.match(
      problems(() => loadConfig({ file: yamlFile('- a list'), env: {} }))[0]!,
      /must be a YAML mapping/,
    );
  });

  it('names environment variables after setting paths', () => {
    const names = configLeaves().map((leaf) => leaf.env);
    assert.ok(names.includes('BERTH_REGISTRY_MANIFEST_MAX_BYTES'));
    assert.ok(names.includes('BERTH_DATABASE_SQLITE_PATH'));
    assert.ok(names.includes('BERTH_LISTEN'));
  });

  it('splits listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  });
});

describe('berth config output', () => {
  it('never prints a secret: passwords, tokens, keys and URL passwords are redacted', async () => {
    const { redactSecrets } = await import('../../src/config/redact.ts');
    const config = {
      adminPassword: 'Admin-Secret-1',
      scannerAdapter: { enabled: true, authToken: 'adapter-token' },
      storage: { driver: 's3', s3: { accessKeyId: 'AKID', secretAccessKey: 'aws-secret' } },
      database: { url: 'postgres://berth:db-secret@db.example:5432/berth' },
    };
    const printed = JSON.stringify(redactSecrets(config));
    for (const secret of ['Admin-Secret-1', 'adapter-token', 'aws-secret', 'db-secret'])
      assert.ok(!printed.includes(secret), `${secret} is not printed`);
    assert.ok(printed.includes('AKID'), 'what is not secret stays');
    assert.ok(printed.includes('postgres://berth:%3Credacted%3E@db.example:5432/berth'));
    assert.equal(config.adminPassword, 'Admin-Secret-1', 'the configuration itself is untouched');
  });
});
