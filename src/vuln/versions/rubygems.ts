import { InvalidVersionError } from './comparator.ts';

/**
 * RubyGems versions (Gem::Version): dot-separated segments, split further into number and letter
 * runs; a version with any letter is a pre-release. `-` means `.pre.`. Trailing zeros of the
 * release part and of the pre-release part are ignored; a letter segment sorts below a number.
 */
const PATTERN = /^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function isValid(version: string): boolean {
  const text = version.trim();
  return text === '' || PATTERN.test(text);
}

/** Numbers are bigints so that date-like segments (20240101000000) compare exactly. */
type Segment = string | bigint;

/** The segments of a version: numbers and letter runs. */
export function parse(version: string): Segment[] {
  if (!isValid(version)) throw new InvalidVersionError('rubygems', version);
  const text = version.trim() === '' ? '0' : version.trim().replaceAll('-', '.pre.');
  return (text.match(/[0-9]+|[a-z]+/gi) ?? []).map((part) => (/^\d/.test(part) ? BigInt(part) : part));
}

export function isPrerelease(version: string): boolean {
  return /[a-zA-Z]/.test(version);
}

/** Release part and pre-release part, each without trailing zeros, joined. */
function canonicalSegments(version: string): Segment[] {
  const all = parse(version);
  const firstLetter = all.findIndex((s) => typeof s === 'string');
  const parts = firstLetter < 0 ? [all] : [all.slice(0, firstLetter), all.slice(firstLetter)];
  return parts.flatMap((part) => {
    let end = part.length;
    while (end > 0 && part[end - 1] === 0n) end--;
    return part.slice(0, end);
  });
}

export function compare(a: string, b: string): number {
  const x = canonicalSegments(a);
  const y = canonicalSegments(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const left = x[i] ?? 0n;
    const right = y[i] ?? 0n;
    if (left === right) continue;
    if (typeof left === 'string' && typeof right === 'bigint') return -1;
    if (typeof left === 'bigint' && typeof right === 'string') return 1;
    if (typeof left === 'bigint' && typeof right === 'bigint') return left < right ? -1 : 1;
    return left < right ? -1 : 1;
  }
  return 0;
}

export const rubygems = { scheme: 'rubygems', compare, isValid };
