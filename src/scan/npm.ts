import { baseName } from './image-paths.ts';
import type { FileDetector, LanguagePackage } from './language-package.ts';

/** An npm package found in an image, from a lockfile or an installed `package.json`. */
export interface NpmPackage {
  name: string;
  version: string;
  purl: string;
  /** Where it would be installed, e.g. `/app/node_modules/@babel/core` (`/` + image path). */
  path: string;
}

export const npmLimits = {
  maxPackageJsonBytes: 64 * 1024,
  maxLockfileBytes: 16 * 1024 * 1024,
  /** npm files captured per image; a bigger tree is listed only in part, with a note. */
  maxFilesPerImage: 100_000,
} as const;

const npmNamePart = /^[a-z0-9._~-][a-z0-9._~-]*$/i;

/** `node_modules/<name>/package.json` or `node_modules/@scope/<name>/package.json`, at any depth. */
export function isInstalledPackageJson(path: string): boolean {
  const parts = path.split('/');
  if (parts.at(-1) !== 'package.json') return false;
  const name = parts.at(-2);
  if (!name || !npmNamePart.test(name)) return false;
  if (parts.at(-3) === 'node_modules') return true;
  const scope = parts.at(-3);
  return parts.at(-4) === 'node_modules' && scope !== undefined && /^@[^@/]+$/.test(scope);
}

/** An application's `package-lock.json`; copies inside node_modules are npm's own and skipped. */
export function isNpmLockfile(path: string): boolean {
  return baseName(path) === 'package-lock.json' && !path.split('/').includes('node_modules');
}

/** `pkg:npm/<name>@<version>`, the scope's `@` percent-encoded as the purl spec requires. */
export function npmPurl(name: string, version: string): string {
  const [scope, bare] = name.startsWith('@') ? name.split('/', 2) : [undefined, name];
  const namespace = scope ? `${encodeURIComponent(scope)}/` : '';
  return `pkg:npm/${namespace}${encodeURIComponent(bare ?? '')}@${encodeURIComponent(version)}`;
}

const toPackage = (name: string, version: string, path: string): NpmPackage => ({
  name,
  version,
  purl: npmPurl(name, version),
  path,
});

/** Reads name and version of an installed package; undefined when it is not one. */
export function parseInstalledPackageJson(text: string, imagePath: string): NpmPackage | undefined {
  const manifest = parseJson(text);
  const name = stringField(manifest, 'name');
  const version = stringField(manifest, 'version');
  if (!name || !version) return undefined;
  return toPackage(name, version, `/${imagePath.slice(0, -'/package.json'.length)}`);
}

/**
 * Lists the packages a `package-lock.json` pins. Version 1 nests `dependencies`; versions 2 and 3
 * key `packages` by install path. The root project and workspace links are not packages.
 */
export function parsePackageLock(text: string, imagePath: string): NpmPackage[] {
  const lock = parseJson(text);
  if (!isObject(lock)) return [];
  const appDir = imagePath.slice(0, -'package-lock.json'.length);
  const packages = isObject(lock.packages)
    ? fromPackagesMap(lock.packages, appDir)
    : fromDependencies(lock.dependencies, `${appDir}node_modules/`);
  return dedupe(packages);
}

function fromPackagesMap(entries: Record<string, unknown>, appDir: string): NpmPackage[] {
  const packages: NpmPackage[] = [];
  for (const [installPath, entry] of Object.entries(entries)) {
    if (installPath === '' || !isObject(entry) || entry.link === true) continue;
    const version = stringField(entry, 'version');
    // Without `name`, the package is named by its path after the last node_modules/.
    const marker = installPath.lastIndexOf('node_modules/');
    const name = stringField(entry, 'name') ?? (marker < 0 ? undefined : installPath.slice(marker + 13));
    if (!name || !version || marker < 0) continue;
    packages.push(toPackage(name, version, `/${appDir}${installPath}`));
  }
  return packages;
}

function fromDependencies(dependencies: unknown, modulesDir: string): NpmPackage[] {
  if (!isObject(dependencies)) return [];
  const packages: NpmPackage[] = [];
  for (const [name, entry] of Object.entries(dependencies)) {
    if (!isObject(entry)) continue;
    const version = stringField(entry, 'version');
    // v1 writes `file:` or `git+…` for links and non-registry sources; only semver-like ones are packages.
    if (version && /^\d/.test(version)) packages.push(toPackage(name, version, `/${modulesDir}${name}`));
    packages.push(...fromDependencies(entry.dependencies, `${modulesDir}${name}/node_modules/`));
  }
  return packages;
}

/** Keeps the first of each (name, version, path). */
export function dedupe(packages: readonly NpmPackage[]): NpmPackage[] {
  const seen = new Map<string, NpmPackage>();
  for (const pkg of packages) {
    const key = `${pkg.name}\u0000${pkg.version}\u0000${pkg.path}`;
    if (!seen.has(key)) seen.set(key, pkg);
  }
  return [...seen.values()];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(value: unknown, key: string): string | undefined {
  if (!isObject(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/**
 * Selects the npm files the walker should capture, up to `maxFilesPerImage` distinct paths per
 * image; one instance per walk, since it counts.
 */
export class NpmFileSelection {
  readonly #paths = new Set<string>();
  #refused = 0;

  constructor(private readonly maxFiles: number = npmLimits.maxFilesPerImage) {}

  readonly wants = (path: string): boolean => {
    if (!isInstalledPackageJson(path) && !isNpmLockfile(path)) return false;
    if (this.#paths.has(path)) return true;
    if (this.#paths.size >= this.maxFiles) {
      this.#refused += 1;
      return false;
    }
    this.#paths.add(path);
    return true;
  };

  /** The report's note when files were left unread. */
  note(): string | undefined {
    if (this.#refused === 0) return undefined;
    return `more than ${this.maxFiles} npm package files: ${this.#refused} were not read, so npm packages are listed in part`;
  }
}

const asLanguagePackage = (pkg: NpmPackage): LanguagePackage => ({ ecosystem: 'npm', ...pkg });

export const npmLockfileDetector: FileDetector = {
  name: 'npm-lockfile',
  matches: isNpmLockfile,
  maxBytes: npmLimits.maxLockfileBytes,
  parse: (content, imagePath) => parsePackageLock(content.toString('utf8'), imagePath).map(asLanguagePackage),
};

export const npmInstalledDetector: FileDetector = {
  name: 'npm-installed',
  matches: isInstalledPackageJson,
  maxBytes: npmLimits.maxPackageJsonBytes,
  parse(content, imagePath) {
    const pkg = parseInstalledPackageJson(content.toString('utf8'), imagePath);
    return pkg ? [asLanguagePackage(pkg)] : [];
  },
};
