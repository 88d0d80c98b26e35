import { baseName } from '../image-paths.ts';
import type { FileDetector, LanguagePackage } from '../language-package.ts';
import {
  absolute,
  dedupePackages,
  isPlausibleToken,
  languagePackage,
  mib,
  purlOf,
  textOf,
} from './common.ts';
import { readPackageTables } from './toml-packages.ts';

const crateName = /^[A-Za-z0-9_-]+$/;

/**
 * Where crates.io packages come from, in the git and sparse index protocols. A mirror set up by
 * source replacement still records these, so only packages from elsewhere are left out:
 * workspace members and path dependencies (no `source`), git checkouts and other registries,
 * none of which RustSec's crates.io advisories describe.
 */
const cratesIoSources = new Set([
  'registry+https://github.com/rust-lang/crates.io-index',
  'sparse+https://index.crates.io/',
]);

export const cargoPurl = (name: string, version: string): string => purlOf('cargo', [name], version);

export function parseCargoLock(text: string, imagePath: string): LanguagePackage[] {
  const packages: LanguagePackage[] = [];
  for (const table of readPackageTables(text)) {
    const { name, version, source } = table;
    if (!source || !cratesIoSources.has(source)) continue;
    if (!name || !crateName.test(name) || !isPlausibleToken(version, 128)) continue;
    packages.push(languagePackage('crates.io', name, version, cargoPurl(name, version), absolute(imagePath)));
  }
  return dedupePackages(packages);
}

/** Crate sources unpacked by Cargo (`registry/src/…`, `git/checkouts/…`) carry their authors' lockfiles. */
function insideCargoHome(path: string): boolean {
  const parts = path.split('/');
  return parts.some(
    (part, i) =>
      (part === 'registry' && parts[i + 1] === 'src') || (part === 'git' && parts[i + 1] === 'checkouts'),
  );
}

export const cargoLockDetector: FileDetector = {
  name: 'cargo-lock',
  matches: (path) => baseName(path) === 'Cargo.lock' && !insideCargoHome(path),
  maxBytes: 16 * mib,
  parse: (content, imagePath) => parseCargoLock(textOf(content), imagePath),
};
