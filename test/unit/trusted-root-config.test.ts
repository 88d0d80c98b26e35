import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTrustedRoot } from '../../src/policy/pull-policies.ts';
import { SigstoreTrustedRoot } from '../../src/trust/cosign/keyless-signature.ts';

const fixture = fileURLToPath(new URL('../fixtures/cosign/trusted_root.json', import.meta.url));

describe('policy.sigstoreTrustedRoot', () => {
  it("loads Sigstore's public trusted root for offline keyless verification", async () => {
    assert.ok((await loadTrustedRoot(fixture)) instanceof SigstoreTrustedRoot);
  });

  it('names the file when it is missing or not a trusted root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-trusted-root-'));
    try {
      const missing = join(dir, 'absent.json');
      await assert.rejects(loadTrustedRoot(missing), new RegExp(`policy.sigstoreTrustedRoot ${missing}`));
      const garbage = join(dir, 'garbage.json');
      writeFileSync(garbage, '{not json');
      await assert.rejects(loadTrustedRoot(garbage), new RegExp(`policy.sigstoreTrustedRoot ${garbage}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
