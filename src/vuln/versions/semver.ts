import { compareDigits, InvalidVersionError, sign } from './comparator.ts';

/**
 * SemVer 2.0.0 precedence (semver.org §11): major.minor.patch, pre-release identifiers compared
 * one by one (numeric ones numerically and below alphanumeric ones), build metadata ignored.
 * `parseLoose` also accepts what npm's loose parser and OSV records written by hand contain:
 * a leading `v` or `=`, and missing minor/patch (`1.0` is `1.0.0`). Used for npm and crates.io,
 * and for every OSV range of type SEMVER.
 */
export interface SemVer {
  release: [string, string, string];
  prerelease: string[];
}

const NUMBER = '0|[1-9]\\d*';
const IDENTIFIER = `(?:${NUMBER}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const STRICT = new RegExp(
  `^(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`,
);
const LOOSE =
  /^[v=\s]*(\d+)(?:\.(\d+)(?:\.(\d+))?)?(?:-?((?:\d+|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:\d+|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function build(match: RegExpExecArray): SemVer {
  return {
    release: [match[1] ?? '0', match[2] ?? '0', match[3] ?? '0'],
    prerelease: match[4] ? match[4].split('.') : [],
  };
}

export function parse(version: string): SemVer {
  const match = STRICT.exec(version);
  if (!match) throw new InvalidVersionError('semver', version);
  return build(match);
}

export function parseLoose(version: string): SemVer {
  const match = STRICT.exec(version) ?? LOOSE.exec(version.trim());
  if (!match) throw new InvalidVersionError('semver', version);
  return build(match);
}

const isNumeric = (identifier: string): boolean => /^\d+$/.test(identifier);

/** Compares pre-release identifier lists; `caseInsensitive` is NuGet's rule. */
export function comparePrerelease(a: string[], b: string[], caseInsensitive = false): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length === 0 ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xNumeric = isNumeric(x);
    const yNumeric = isNumeric(y);
    if (xNumeric && yNumeric) {
      const diff = compareDigits(x, y);
      if (diff !== 0) return sign(diff);
    } else if (xNumeric !== yNumeric) {
      return xNumeric ? -1 : 1;
    } else {
      const left = caseInsensitive ? x.toLowerCase() : x;
      const right = caseInsensitive ? y.toLowerCase() : y;
      if (left !== right) return left < right ? -1 : 1;
    }
  }
  return 0;
}

export function compareParsed(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) {
    const diff = compareDigits(a.release[i] as string, b.release[i] as string);
    if (diff !== 0) return sign(diff);
  }
  return comparePrerelease(a.prerelease, b.prerelease);
}

export function isValid(version: string): boolean {
  return STRICT.test(version);
}

/** Strict SemVer 2.0.0. */
export function compare(a: string, b: string): number {
  return compareParsed(parse(a), parse(b));
}

/** SemVer order over npm's loose forms. */
export function compareLoose(a: string, b: string): number {
  return compareParsed(parseLoose(a), parseLoose(b));
}

export function isValidLoose(version: string): boolean {
  return STRICT.test(version) || LOOSE.test(version.trim());
}

export const semver = { scheme: 'semver', compare: compareLoose, isValid: isValidLoose };
export const strictSemver = { scheme: 'semver-strict', compare, isValid };
