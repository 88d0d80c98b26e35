import { compareDigits, InvalidVersionError, isAsciiLetter, isDigit, sign } from './comparator.ts';

/**
 * RPM versions `[epoch:]version[-release]` ordered as rpm ≥ 4.15's rpmvercmp: alphanumeric segments,
 * separators ignored, numeric segments newer than alphabetic ones, `~` sorts before everything
 * (even the end) and `^` after the end but before any further segment.
 * Used for Red Hat, Rocky Linux, AlmaLinux, Amazon Linux, SUSE and openSUSE.
 */
export interface RpmVersion {
  epoch: number;
  version: string;
  /** Absent when the string has no `-release`: then releases are not compared, as rpm does. */
  release: string | undefined;
}

export function parse(text: string): RpmVersion {
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidVersionError('rpm', text);
  const colon = trimmed.indexOf(':');
  let epoch = 0;
  let rest = trimmed;
  if (colon >= 0) {
    const epochText = trimmed.slice(0, colon);
    if (!/^\d*$/.test(epochText)) throw new InvalidVersionError('rpm', text);
    epoch = Number(epochText || '0');
    rest = trimmed.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const version = dash >= 0 ? rest.slice(0, dash) : rest;
  const release = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (version === '') throw new InvalidVersionError('rpm', text);
  return { epoch, version, release };
}

export function isValid(version: string): boolean {
  try {
    parse(version);
    return true;
  } catch {
    return false;
  }
}

const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAsciiLetter(c);
const isSeparator = (c: string | undefined): boolean =>
  c !== undefined && !isAlnum(c) && c !== '~' && c !== '^';

/** rpmvercmp: compares one version or release field. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (isSeparator(a[i])) i++;
    while (isSeparator(b[j])) j++;

    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;

    const numeric = isDigit(a[i]);
    const inSegment = numeric ? isDigit : isAsciiLetter;
    let endA = i;
    while (inSegment(a[endA])) endA++;
    let endB = j;
    while (inSegment(b[endB])) endB++;
    // b has a segment of the other kind here: a numeric segment is the newer one.
    if (endB === j) return numeric ? 1 : -1;

    const segA = a.slice(i, endA);
    const segB = b.slice(j, endB);
    const diff = numeric ? compareDigits(segA, segB) : segA < segB ? -1 : segA > segB ? 1 : 0;
    if (diff !== 0) return sign(diff);
    i = endA;
    j = endB;
  }
  const aDone = i >= a.length;
  const bDone = j >= b.length;
  if (aDone && bDone) return 0;
  return aDone ? -1 : 1;
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (x.epoch !== y.epoch) return sign(x.epoch - y.epoch);
  const byVersion = rpmvercmp(x.version, y.version);
  if (byVersion !== 0 || x.release === undefined || y.release === undefined) return byVersion;
  return rpmvercmp(x.release, y.release);
}

export const rpm = { scheme: 'rpm', compare, isValid };
