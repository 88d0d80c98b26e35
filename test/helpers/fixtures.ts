import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's shared, read-only test data: `../shared/fixtures` beside the checkout, or
 * wherever SHARED_FIXTURES points. Tests read it in place.
 */
export const sharedFixtures = resolve(
  process.env.SHARED_FIXTURES ?? fileURLToPath(new URL('../../../shared/fixtures', import.meta.url)),
);

export function sharedFixture(...path: string[]): string {
  const location = join(sharedFixtures, ...path);
  if (!existsSync(location)) {
    throw new Error(`shared fixture missing: ${location} (clone beside ../shared, or set SHARED_FIXTURES)`);
  }
  return location;
}

/** The real alpine:3.17.2 linux/amd64 image as an OCI layout (tag `v2`); see its README. */
export const alpineLayout = (): string => sharedFixture('oci', 'alpine-3.17.2');
export const alpineManifestDigest = 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0';
