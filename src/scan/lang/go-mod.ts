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

/** A module at a version, as go.mod writes it (`v1.2.3`, `v0.0.0-2019…-abcdef123456`, `v3.3.25+incompatible`). */
export interface ModuleVersion {
  path: string;
  version: string;
}

export interface Replacement {
  old: { path: string; version?: string };
  /** No version: a directory on disk, not a published module. */
  new: { path: string; version?: string };
}

export interface GoModFile {
  module?: string;
  requires: ModuleVersion[];
  replaces: Replacement[];
}

const modulePath = /^[A-Za-z0-9._~+\-/!]+$/;
const moduleVersion = /^v\d[0-9A-Za-z.+-]*$/;

/** A go.mod token: bare, or a Go string literal (`"…"` or a back-quoted one). */
function unquote(token: string): string {
  if (/^".*"$/.test(token)) {
    try {
      const value: unknown = JSON.parse(token);
      return typeof value === 'string' ? value : token;
    } catch {
      return token;
    }
  }
  return /^`.*`$/.test(token) ? token.slice(1, -1) : token;
}

function fields(text: string): string[] {
  return text
    .split(/\s+/)
    .filter((field) => field !== '')
    .map(unquote);
}

function requirement(args: string): ModuleVersion | undefined {
  const [path, version] = fields(args);
  if (!path || !version || !modulePath.test(path) || !moduleVersion.test(version)) return undefined;
  return { path, version };
}

function replacement(args: string): Replacement | undefined {
  const arrow = args.indexOf('=>');
  if (arrow < 0) return undefined;
  const [oldPath, oldVersion] = fields(args.slice(0, arrow));
  const [newPath, newVersion] = fields(args.slice(arrow + 2));
  if (!oldPath || !newPath) return undefined;
  return { old: { path: oldPath, version: oldVersion }, new: { path: newPath, version: newVersion } };
}

/**
 * The directives of a go.mod (golang.org/ref/mod#go-mod-file) this detector needs: `module`,
 * `require` and `replace`, in their one-line and block forms. Comments and other directives
 * (`go`, `toolchain`, `exclude`, `retract`, `tool`, `godebug`) are skipped.
 */
export function parseGoMod(text: string): GoModFile {
  const file: GoModFile = { requires: [], replaces: [] };
  let block: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const comment = rawLine.indexOf('//');
    const line = (comment >= 0 ? rawLine.slice(0, comment) : rawLine).trim();
    if (line === '') continue;
    let verb: string | undefined;
    let args: string;
    if (block !== undefined) {
      if (line === ')') {
        block = undefined;
        continue;
      }
      verb = block;
      args = line;
    } else {
      const directive = /^([a-z]+)\s*(.*)$/.exec(line);
      if (!directive) continue;
      verb = directive[1];
      args = directive[2] ?? '';
      if (args === '(') {
        block = verb;
        continue;
      }
    }
    if (verb === 'module') file.module = fields(args)[0];
    else if (verb === 'require') {
      const required = requirement(args);
      if (required) file.requires.push(required);
    } else if (verb === 'replace') {
      const replaced = replacement(args);
      if (replaced) file.replaces.push(replaced);
    }
  }
  return file;
}

/**
 * What the build uses for a requirement: a replacement naming its version wins over one for
 * every version; a replacement by a directory means local code, which no advisory describes.
 */
export function resolveRequirement(
  required: ModuleVersion,
  replaces: readonly Replacement[],
): ModuleVersion | undefined {
  const forPath = replaces.filter((r) => r.old.path === required.path);
  const chosen =
    forPath.find((r) => r.old.version === required.version) ??
    forPath.find((r) => r.old.version === undefined);
  if (!chosen) return required;
  const { path, version } = chosen.new;
  if (version === undefined || !modulePath.test(path) || !moduleVersion.test(version)) return undefined;
  return { path, version };
}

/** `pkg:golang/<module path>@<version>`: the purl spec lowercases golang names and keeps Go's `v`. */
export function golangPurl(path: string, version: string): string {
  return purlOf('golang', path.toLowerCase().split('/'), version);
}

/**
 * The modules a go.mod requires (direct and `// indirect` alike), after its replacements. The
 * reported version drops Go's `v` because OSV's Go records spell versions without it (the Go
 * comparator accepts both); the purl keeps the `v`. The main module itself is not a dependency.
 */
export function parseGoModPackages(text: string, imagePath: string): LanguagePackage[] {
  const mod = parseGoMod(text);
  const packages: LanguagePackage[] = [];
  for (const required of mod.requires) {
    const used = resolveRequirement(required, mod.replaces);
    if (!used || !isPlausibleToken(used.path, 512)) continue;
    const version = used.version.slice(1);
    packages.push(
      languagePackage('Go', used.path, version, golangPurl(used.path, used.version), absolute(imagePath)),
    );
  }
  return dedupePackages(packages);
}

/**
 * An application's go.mod. Copies in the module cache (`pkg/mod`) are dependencies' own, those
 * under `vendor/` are vendored sources, and `testdata/` ones are test inputs: none describe what
 * an image's programs were built from.
 */
export function isApplicationGoMod(path: string): boolean {
  if (baseName(path) !== 'go.mod') return false;
  const parts = path.split('/');
  if (parts.includes('vendor') || parts.includes('testdata')) return false;
  return !parts.some((part, i) => part === 'pkg' && parts[i + 1] === 'mod');
}

export const goModDetector: FileDetector = {
  name: 'go-mod',
  matches: isApplicationGoMod,
  maxBytes: 4 * mib,
  parse: (content, imagePath) => parseGoModPackages(textOf(content), imagePath),
};
