import { compareDigits, InvalidVersionError, isAsciiLetter, isDigit, sign } from './comparator.ts';

/**
 * Debian package versions (Debian Policy §5.6.12, as dpkg implements it): `[epoch:]upstream[-revision]`.
 * Used for Debian and Ubuntu.
 */
export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const POLICY_CHARACTERS = /^[A-Za-z0-9.+~-]+$/;

/**
 * Splits a version as dpkg does. Like `dpkg --compare-versions`, only a missing epoch number,
 * upstream version or revision is an error; an odd character or a non-digit start only makes
 * dpkg warn, and it still compares such versions, so this does too (see isPolicyCompliant).
 */
export function parse(version: string): DpkgVersion {
  const text = version.trim();
  if (text === '' || /\s/.test(text)) throw new InvalidVersionError('dpkg', version);
  const colon = text.indexOf(':');
  let epoch = 0;
  let rest = text;
  if (colon >= 0) {
    const epochText = text.slice(0, colon);
    if (!/^\d+$/.test(epochText)) throw new InvalidVersionError('dpkg', version);
    epoch = Number(epochText);
    rest = text.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream === '' || (dash >= 0 && revision === '')) throw new InvalidVersionError('dpkg', version);
  return { epoch, upstream, revision };
}

/** Whether the version follows Debian Policy's syntax, not only what dpkg can compare. */
export function isPolicyCompliant(version: string): boolean {
  if (!isValid(version)) return false;
  const { upstream, revision } = parse(version);
  return (
    isDigit(upstream[0]) &&
    POLICY_CHARACTERS.test(upstream) &&
    (revision === '' || POLICY_CHARACTERS.test(revision))
  );
}

export function isValid(version: string): boolean {
  try {
    parse(version);
    return true;
  } catch {
    return false;
  }
}

/** Sort weight of one character in a non-digit run: `~` before the end, letters before everything else. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  if (isAsciiLetter(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's comparison of an upstream version or a revision: alternating non-digit and digit runs. */
export function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = weight(a[i]) - weight(b[j]);
      if (diff !== 0) return sign(diff);
      i++;
      j++;
    }
    let endA = i;
    while (isDigit(a[endA])) endA++;
    let endB = j;
    while (isDigit(b[endB])) endB++;
    const diff = compareDigits(a.slice(i, endA) || '0', b.slice(j, endB) || '0');
    if (diff !== 0) return sign(diff);
    i = endA;
    j = endB;
  }
  return 0;
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (x.epoch !== y.epoch) return sign(x.epoch - y.epoch);
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

export const dpkg = { scheme: 'dpkg', compare, isValid };
