import type { LanguageEcosystem, LanguagePackage } from '../language-package.ts';

/** Shared pieces of the language file detectors: text decoding, JSON access, purls, dedupe. */

export const kib = 1024;
export const mib = 1024 * 1024;

/** UTF-8 text of a captured file, without a byte-order mark. */
export function textOf(content: Buffer): string {
  const text = content.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(value: unknown, key: string): string | undefined {
  if (!isObject(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/**
 * Names and versions are short, printable and free of spaces in every ecosystem here; anything
 * else is a damaged or hostile file and is left out rather than reported.
 */
export function isPlausibleToken(value: string | undefined, maxLength = 256): value is string {
  return value !== undefined && value.length > 0 && value.length <= maxLength && /^[\x21-\x7e]+$/.test(value);
}

/**
 * `pkg:<type>/<namespace…>/<name>@<version>`, each segment percent-encoded as the purl spec asks
 * (so `/` inside a segment and `+` in a version are escaped).
 */
export function purlOf(type: string, segments: readonly string[], version: string): string {
  return `pkg:${type}/${segments.map(encodeURIComponent).join('/')}@${encodeURIComponent(version)}`;
}

/** The image path of a file as the report shows it: `/` + the path. */
export const absolute = (imagePath: string): string => `/${imagePath}`;

export function languagePackage(
  ecosystem: LanguageEcosystem,
  name: string,
  version: string,
  purl: string,
  path: string,
): LanguagePackage {
  return { ecosystem, name, version, purl, path };
}

/** Keeps the first of each (ecosystem, name, version, path), in order. */
export function dedupePackages(packages: readonly LanguagePackage[]): LanguagePackage[] {
  const seen = new Map<string, LanguagePackage>();
  for (const pkg of packages) {
    const key = [pkg.ecosystem, pkg.name, pkg.version, pkg.path].join('\u0000');
    if (!seen.has(key)) seen.set(key, pkg);
  }
  return [...seen.values()];
}
