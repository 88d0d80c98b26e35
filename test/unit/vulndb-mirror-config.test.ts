import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { redactUrl } from '../../src/vuln/mirror-download.ts';
import { mirrorUrls } from '../../src/vuln/vulndb-sync.ts';

const problems = (file: Record<string, unknown>, env: Record<string, string> = {}): string[] => {
  try {
    loadConfig({ env, flags: file });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('vulndb.mirror settings', () => {
  it('take one URL or a list, and a five- or six-field cron', () => {
    const one = loadConfig({ env: { BERTH_VULNDB_MIRROR_URL: 'https://mirror.example/npm/all.zip' } });
    assert.deepEqual(mirrorUrls(one.vulndb.mirror), ['https://mirror.example/npm/all.zip']);
    assert.equal(one.vulndb.rescanOnUpdate, true);
    const list = loadConfig({
      env: {},
      flags: {
        'vulndb.mirror.url': ['https://a.example/npm/all.zip', ' ', 'http://b.example/PyPI/all.zip'],
        'vulndb.mirror.schedule': '0 30 3 * * *',
      },
    });
    assert.deepEqual(mirrorUrls(list.vulndb.mirror), [
      'https://a.example/npm/all.zip',
      'http://b.example/PyPI/all.zip',
    ]);
    assert.deepEqual(problems({ 'vulndb.mirror.schedule': '*/15 * * * *' }), []);
  });

  it('refuse a URL that is not http(s), without echoing it, and a cron that does not parse', () => {
    assert.deepEqual(
      problems({ 'vulndb.mirror.url': ['https://ok.example/a.zip', 'file:///etc/secret?token=x'] }),
      [
        'vulndb.mirror.url (from --vulndb.mirror.url): must be an absolute http:// or https:// URL (or a list of them)',
      ],
    );
    assert.match(
      problems({}, { BERTH_VULNDB_MIRROR_SCHEDULE: 'every day' })[0] ?? '',
      /^vulndb\.mirror\.schedule \(from BERTH_VULNDB_MIRROR_SCHEDULE\): not a cron expression/,
    );
    assert.match(problems({ 'vulndb.mirror.timeoutSeconds': 0 })[0] ?? '', /^vulndb\.mirror\.timeoutSeconds/);
  });

  it('are shown without credentials or query strings', () => {
    assert.equal(
      redactUrl('https://user:pass@mirror.example/npm/all.zip?X-Goog-Signature=abc'),
      'https://mirror.example/npm/all.zip?…',
    );
    assert.equal(redactUrl('https://mirror.example/npm/all.zip'), 'https://mirror.example/npm/all.zip');
    assert.equal(redactUrl('not a url'), '(not a URL)');
  });
});
