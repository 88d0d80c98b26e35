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

const gemName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const gemPurl = (name: string, version: string): string => purlOf('gem', [name], version);

function gemPackage(name: string | undefined, version: string | undefined, path: string) {
  if (!name || !gemName.test(name) || !isPlausibleToken(version, 128)) return undefined;
  return languagePackage('RubyGems', name, version, gemPurl(name, version), path);
}

/** A resolved spec line of a lockfile section: exactly four spaces, then `name (version)`. */
const specLine = /^ {4}([^ (]+) \(([^)\s]+)\)$/;

/**
 * The gems a `Gemfile.lock` resolves from gem servers: the `specs:` of its `GEM` sections. `GIT`
 * and `PATH` sections hold checkouts and the application's own gems, which are not rubygems.org
 * releases. Bundler writes a gem built for one platform as `1.16.7-x86_64-linux`: its lockfile
 * parser ends the version at the first `-`, and so does this one, so the platform variants of a
 * gem collapse into one package.
 */
export function parseGemfileLock(text: string, imagePath: string): LanguagePackage[] {
  const packages: LanguagePackage[] = [];
  let section = '';
  let inSpecs = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\S/.test(line)) {
      section = line.trim();
      inSpecs = false;
      continue;
    }
    if (section !== 'GEM') continue;
    if (/^ {2}\S/.test(line)) {
      inSpecs = line.trim() === 'specs:';
      continue;
    }
    if (!inSpecs) continue;
    const spec = specLine.exec(line);
    const pkg = gemPackage(spec?.[1], spec?.[2]?.split('-')[0], absolute(imagePath));
    if (pkg) packages.push(pkg);
  }
  return dedupePackages(packages);
}

/** `Gemfile.lock` or Bundler's other name `gems.locked`; copies inside installed gems are their authors'. */
export function isGemLockfile(path: string): boolean {
  const name = baseName(path);
  return (name === 'Gemfile.lock' || name === 'gems.locked') && !path.split('/').includes('gems');
}

export const gemfileLockDetector: FileDetector = {
  name: 'gemfile-lock',
  matches: isGemLockfile,
  maxBytes: 16 * mib,
  parse: (content, imagePath) => parseGemfileLock(textOf(content), imagePath),
};

/** RubyGems writes an installed gem's spec as `…/specifications/<name>-<version>.gemspec` (`default/` for default gems). */
export function isInstalledGemspec(path: string): boolean {
  if (!path.endsWith('.gemspec')) return false;
  const parts = path.split('/');
  return (
    parts.at(-2) === 'specifications' || (parts.at(-2) === 'default' && parts.at(-3) === 'specifications')
  );
}

/** A Ruby string literal as RubyGems writes one: `"x"`, `'x'` or `%q{x}`, maybe `.freeze`d. */
function rubyString(expression: string): string | undefined {
  const literal =
    /^"([^"\\#]*)"/.exec(expression) ??
    /^'([^'\\]*)'/.exec(expression) ??
    /^%q[{<([]([^}>)\]]*)[}>)\]]/.exec(expression);
  return literal?.[1];
}

function assignment(text: string, attribute: string): string | undefined {
  const match = new RegExp(`^\\s*\\w+\\.${attribute}\\s*=\\s*(.+)$`, 'm').exec(text);
  if (!match) return undefined;
  const value = (match[1] ?? '').trim();
  // Older specs wrap the version: `Gem::Version.new("1.2.3")`.
  const wrapped = /^Gem::Version\.new\((.*)\)/.exec(value);
  return rubyString(wrapped ? (wrapped[1] ?? '') : value);
}

/**
 * An installed gem's specification, read without running Ruby: the `s.name = "…"` and
 * `s.version = "…"` lines RubyGems generates, else its `# stub: <name> <version> <platform>` line.
 * The package's path is the specification file.
 */
export function parseInstalledGemspec(text: string, imagePath: string): LanguagePackage[] {
  const stub = /^# stub: (\S+) (\S+)/m.exec(text);
  const name = assignment(text, 'name') ?? stub?.[1];
  const version = assignment(text, 'version') ?? stub?.[2];
  const pkg = gemPackage(name, version, absolute(imagePath));
  return pkg ? [pkg] : [];
}

export const installedGemspecDetector: FileDetector = {
  name: 'gemspec',
  matches: isInstalledGemspec,
  // `s.files` lists every file of the gem; big gems make this run to a few hundred KiB.
  maxBytes: 2 * mib,
  parse: (content, imagePath) => parseInstalledGemspec(textOf(content), imagePath),
};
