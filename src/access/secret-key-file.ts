import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SecretBox } from './secret-box.ts';

/**
 * The key that encrypts secrets at rest: read from `path`, or created there (owner-only) on
 * first start. Every node of a cluster must be given the same file.
 */
export function loadSecretBox(path: string): SecretBox {
  let encoded: string;
  try {
    encoded = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    encoded = randomBytes(32).toString('base64');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) throw new Error(`${path} must hold 32 bytes, base64-encoded`);
  return new SecretBox(key);
}
