import { compareDigits, InvalidVersionError, sign } from './comparator.ts';

/**
 * Python versions per PEP 440: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with the spec's
 * normalizations (case, `alpha`/`beta`/`c`/`pre`/`preview`, `-`/`_`/`.` separators, implicit
 * numbers, `1.0-1` as a post-release, a leading `v`). Release numbers compare with trailing
 * zeros ignored (1.0 == 1.0.0). Used for PyPI.
 */
export interface Pep440Version {
  epoch: string;
  release: string[];
  pre: { kind: 'a' | 'b' | 'rc'; number: string } | undefined;
  post: string | undefined;
  dev: string | undefined;
  local: string[];
}

// The grammar of PEP 440's appendix "Parsing version strings with regular expressions".
const PATTERN = new RegExp(
  [
    '^\\s*v?',
    '(?:(?<epoch>[0-9]+)!)?',
    '(?<release>[0-9]+(?:\\.[0-9]+)*)',
    '(?<pre>[-_.]?(?<preL>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<preN>[0-9]+)?)?',
    '(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?',
    '(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?',
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?',
    '\\s*$',
  ].join(''),
  'i',
);

const PRE_KINDS: Record<string, 'a' | 'b' | 'rc'> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

export function parse(version: string): Pep440Version {
  const groups = PATTERN.exec(version)?.groups;
  if (!groups) throw new InvalidVersionError('pep440', version);
  const preLabel = groups.preL?.toLowerCase();
  return {
    epoch: groups.epoch ?? '0',
    release: (groups.release as string).split('.'),
    pre: preLabel ? { kind: PRE_KINDS[preLabel] as 'a' | 'b' | 'rc', number: groups.preN ?? '0' } : undefined,
    post: groups.post ? (groups.postN1 ?? groups.postN2 ?? '0') : undefined,
    dev: groups.dev ? (groups.devN ?? '0') : undefined,
    local: groups.local ? groups.local.toLowerCase().split(/[-_.]/) : [],
  };
}

export function isValid(version: string): boolean {
  return PATTERN.test(version);
}

/** The canonical spelling, e.g. `1.0RC1` → `1.0rc1`, `1.0-1` → `1.0.post1`. */
export function normalize(version: string): string {
  const v = parse(version);
  let text = v.epoch !== '0' ? `${v.epoch.replace(/^0+(?=\d)/, '')}!` : '';
  text += v.release.map((n) => n.replace(/^0+(?=\d)/, '')).join('.');
  if (v.pre) text += `${v.pre.kind}${v.pre.number.replace(/^0+(?=\d)/, '')}`;
  if (v.post !== undefined) text += `.post${v.post.replace(/^0+(?=\d)/, '')}`;
  if (v.dev !== undefined) text += `.dev${v.dev.replace(/^0+(?=\d)/, '')}`;
  if (v.local.length > 0) text += `+${v.local.join('.')}`;
  return text;
}

function compareRelease(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (diff !== 0) return sign(diff);
  }
  return 0;
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 };

/** Pre-release rank: a bare dev release sorts before every pre-release of its release, a final after. */
function comparePre(a: Pep440Version, b: Pep440Version): number {
  const rank = (v: Pep440Version): number =>
    v.pre ? 0 : v.post === undefined && v.dev !== undefined ? -1 : 1;
  const byRank = rank(a) - rank(b);
  if (byRank !== 0 || !a.pre || !b.pre) return sign(byRank);
  return (
    sign(PRE_ORDER[a.pre.kind] - PRE_ORDER[b.pre.kind]) || sign(compareDigits(a.pre.number, b.pre.number))
  );
}

/** `absent` is where a missing part sorts: before (-1) or after (+1) every present one. */
function compareOptional(a: string | undefined, b: string | undefined, absent: -1 | 1): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? absent : -absent;
  return sign(compareDigits(a, b));
}

function compareLocal(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric !== yNumeric) return xNumeric ? 1 : -1;
    const diff = xNumeric ? compareDigits(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (diff !== 0) return sign(diff);
  }
  return 0;
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  return (
    sign(compareDigits(x.epoch, y.epoch)) ||
    compareRelease(x.release, y.release) ||
    comparePre(x, y) ||
    compareOptional(x.post, y.post, -1) ||
    compareOptional(x.dev, y.dev, 1) ||
    compareLocal(x.local, y.local)
  );
}

export const pep440 = { scheme: 'pep440', compare, isValid };
