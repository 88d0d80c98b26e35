import { normalizePackageName } from '../../vuln/package-names.ts';
import { baseName, parentOf } from '../image-paths.ts';
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
import { readPackageTables } from './toml-packages.ts';

/** PEP 508 project names: letters, digits and `._-`, starting and ending alphanumeric. */
const projectName = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** The purl spec wants PyPI names lowercased with `_` as `-`; PEP 503 folds `.` too, as OSV lookups do. */
export function pypiPurl(name: string, version: string): string {
  return purlOf('pypi', [normalizePackageName('PyPI', name)], version);
}

function pypiPackage(name: string | undefined, version: string | undefined, path: string) {
  if (!name || !projectName.test(name) || !isPlausibleToken(version, 128)) return undefined;
  // distutils writes UNKNOWN for a field setup.py left out.
  if (name === 'UNKNOWN' || version === 'UNKNOWN') return undefined;
  return languagePackage('PyPI', name, version, pypiPurl(name, version), path);
}

/** A lockfile copy shipped inside an installed distribution is that project's, not the image's. */
const insideSitePackages = (path: string): boolean =>
  path.split('/').some((part) => part === 'site-packages' || part === 'dist-packages');

/**
 * RFC 822 style header fields (core metadata in METADATA and PKG-INFO), keys lowercased, up to the
 * blank line before the description; the first occurrence of a field wins.
 */
export function readMetadataHeaders(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line)) {
      // A folded continuation of the previous field.
      if (lastKey && fields.has(lastKey)) fields.set(lastKey, `${fields.get(lastKey)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    lastKey = fields.has(key) ? undefined : key;
    if (lastKey) fields.set(key, line.slice(colon + 1).trim());
  }
  return fields;
}

/** `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, or an `*.egg-info` file (distutils writes one file). */
export function isInstalledPythonMetadata(path: string): boolean {
  // Called for every entry of every layer: the cheap suffix test first.
  if (!path.endsWith('/METADATA') && !path.endsWith('/PKG-INFO') && !path.endsWith('.egg-info')) return false;
  const parts = path.split('/');
  const file = parts.at(-1) ?? '';
  const dir = parts.at(-2) ?? '';
  if (file === 'METADATA') return dir.endsWith('.dist-info');
  if (file === 'PKG-INFO') return dir.endsWith('.egg-info');
  return file.endsWith('.egg-info') && file.length > '.egg-info'.length;
}

/** An installed distribution; its path is the directory it is installed in (site-packages). */
export const pythonMetadataDetector: FileDetector = {
  name: 'python-metadata',
  matches: isInstalledPythonMetadata,
  // The long description follows the headers, and some projects put their whole manual there.
  maxBytes: 2 * mib,
  parse(content: Buffer, imagePath: string): LanguagePackage[] {
    const headers = readMetadataHeaders(textOf(content));
    const metadataDir = imagePath.endsWith('.egg-info') ? imagePath : parentOf(imagePath);
    const pkg = pypiPackage(headers.get('name'), headers.get('version'), absolute(parentOf(metadataDir)));
    return pkg ? [pkg] : [];
  },
};

/** poetry.lock: `[[package]]` tables; git, directory, file and URL sources are not PyPI releases. */
export const poetryLockDetector: FileDetector = {
  name: 'poetry-lock',
  matches: (path) => baseName(path) === 'poetry.lock' && !insideSitePackages(path),
  maxBytes: 16 * mib,
  parse(content: Buffer, imagePath: string): LanguagePackage[] {
    const packages: LanguagePackage[] = [];
    for (const table of readPackageTables(textOf(content))) {
      const sourceType = table['source.type'];
      // `legacy` is another package index (a mirror or a private one) serving PyPI-style releases.
      if (sourceType !== undefined && sourceType !== 'legacy') continue;
      const pkg = pypiPackage(table.name, table.version, absolute(imagePath));
      if (pkg) packages.push(pkg);
    }
    return dedupePackages(packages);
  },
};

/** Pipfile.lock: `default` and `develop` map names to `{"version": "==x.y"}`; VCS and path entries have none. */
export const pipfileLockDetector: FileDetector = {
  name: 'pipfile-lock',
  matches: (path) => baseName(path) === 'Pipfile.lock' && !insideSitePackages(path),
  maxBytes: 16 * mib,
  parse(content: Buffer, imagePath: string): LanguagePackage[] {
    const lock = parseJson(textOf(content));
    if (!isObject(lock)) return [];
    const packages: LanguagePackage[] = [];
    for (const section of ['default', 'develop']) {
      const entries = lock[section];
      if (!isObject(entries)) continue;
      for (const [name, entry] of Object.entries(entries)) {
        const pin = stringField(entry, 'version');
        if (!pin?.startsWith('==')) continue;
        const pkg = pypiPackage(name, pin.replace(/^===?/, ''), absolute(imagePath));
        if (pkg) packages.push(pkg);
      }
    }
    return dedupePackages(packages);
  },
};
