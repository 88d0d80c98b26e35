import { baseName } from '../image-paths.ts';
import type { FileDetector, LanguagePackage } from '../language-package.ts';
import {
  absolute,
  dedupePackages,
  isObject,
  isPlausibleToken,
  languagePackage,
  mib,
  parseJson,
  purlOf,
  stringField,
  textOf,
} from './common.ts';

/** Composer package names: `vendor/project`, each part alphanumeric with `._-` inside. */
const composerName = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The purl spec lowercases Composer vendor and name. */
export function composerPurl(name: string, version: string): string {
  return purlOf('composer', name.toLowerCase().split('/'), version);
}

/**
 * composer.lock keeps the tag as released (`v0.11.13`), while OSV's Packagist records (from the
 * GitHub advisory database) spell versions without the `v`, as Composer's own normalisation
 * does; the `v` is dropped so the version reads like the advisories' fixed versions.
 * Branch versions (`dev-main`) are kept as they are.
 */
export function composerVersion(version: string): string {
  return /^v\d/i.test(version) ? version.slice(1) : version;
}

/** The `packages` and `packages-dev` of a composer.lock; copies inside `vendor/` belong to dependencies. */
export function parseComposerLock(text: string, imagePath: string): LanguagePackage[] {
  const lock = parseJson(text);
  if (!isObject(lock)) return [];
  const packages: LanguagePackage[] = [];
  for (const section of ['packages', 'packages-dev']) {
    const entries = lock[section];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const name = stringField(entry, 'name');
      const released = stringField(entry, 'version');
      if (!name || !composerName.test(name) || !isPlausibleToken(released, 128)) continue;
      const version = composerVersion(released);
      packages.push(
        languagePackage('Packagist', name, version, composerPurl(name, version), absolute(imagePath)),
      );
    }
  }
  return dedupePackages(packages);
}

export const composerLockDetector: FileDetector = {
  name: 'composer-lock',
  matches: (path) => baseName(path) === 'composer.lock' && !path.split('/').includes('vendor'),
  maxBytes: 16 * mib,
  parse: (content, imagePath) => parseComposerLock(textOf(content), imagePath),
};
