import { compareDigits, InvalidVersionError, isDigit, sign } from './comparator.ts';

/**
 * Packagist (Composer) versions. Composer normalizes a version (strip `v`, pad the release to
 * four numbers, `-beta1` style stability suffixes) and orders normalized versions with PHP's
 * `version_compare`. This module implements `version_compare` exactly and approximates Composer's
 * normalization by stripping a leading `v` and padding the leading release numbers to four,
 * so that `1.0` == `1.0.0` == `v1.0.0.0` as in Composer. Branch names (`dev-main`) are not ordered.
 */

/** PHP's canonical form: `-`, `_`, `+` become `.`, and a `.` is put between digits and letters. */
function canonicalize(version: string): string {
  let out = '';
  for (let i = 0; i < version.length; i++) {
    const c = version[i] as string;
    const previous = out[out.length - 1];
    if (c === '-' || c === '_' || c === '+' || c === '.') {
      if (previous !== '.' && out !== '') out += '.';
    } else if (previous !== undefined && previous !== '.' && isDigit(c) !== isDigit(previous)) {
      out += `.${c}`;
    } else {
      out += c;
    }
  }
  return out;
}

// Special forms match by prefix, as PHP's strncmp does; "#" stands for any number.
const SPECIAL_FORMS: [string, number][] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];

function specialFormRank(part: string): number {
  for (const [form, rank] of SPECIAL_FORMS) if (part.startsWith(form)) return rank;
  return -6;
}

function compareParts(a: string, b: string): number {
  const aNumber = isDigit(a[0]);
  const bNumber = isDigit(b[0]);
  if (aNumber && bNumber) return sign(compareDigits(a, b));
  return sign(specialFormRank(aNumber ? '#' : a) - specialFormRank(bNumber ? '#' : b));
}

/** PHP's version_compare(a, b), as -1/0/1. */
export function versionCompare(a: string, b: string): number {
  const x = canonicalize(a)
    .split('.')
    .filter((p) => p !== '');
  const y = canonicalize(b)
    .split('.')
    .filter((p) => p !== '');
  const length = Math.min(x.length, y.length);
  for (let i = 0; i < length; i++) {
    const result = compareParts(x[i] as string, y[i] as string);
    if (result !== 0) return result;
  }
  // The longer one wins if it goes on with a number; otherwise its next part decides against "#".
  if (x.length > length) return isDigit(x[length]?.[0]) ? 1 : compareParts(x[length] as string, '#');
  if (y.length > length) return isDigit(y[length]?.[0]) ? -1 : compareParts('#', y[length] as string);
  return 0;
}

const VERSION = /^v?(\d+(?:\.\d+){0,3})((?:[-_.+]?[a-zA-Z0-9]+)*)$/i;

export function isValid(version: string): boolean {
  return VERSION.test(version.trim());
}

/** Composer-like normalization: no `v`, four release numbers, the rest unchanged. */
export function normalize(version: string): string {
  const match = VERSION.exec(version.trim());
  if (!match) throw new InvalidVersionError('composer', version);
  const release = (match[1] as string).split('.');
  while (release.length < 4) release.push('0');
  return release.join('.') + (match[2] ?? '');
}

export function compare(a: string, b: string): number {
  return versionCompare(normalize(a), normalize(b));
}

export const composer = { scheme: 'composer', compare, isValid };
