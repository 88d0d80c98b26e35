import { compareDigits, InvalidVersionError, isDigit, sign } from './comparator.ts';

/**
 * Alpine package versions, ordered as current apk-tools (2.14 / 3.x) orders them:
 * `digit{.digit}…{letter}{_suffix{number}}…{~hash}{-rN}`. Tokens must come in that order; the
 * suffixes rank alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p. When two versions
 * agree on all their common tokens, the longer one is newer unless what it adds is a pre-release
 * suffix. A number with a leading zero compares as a string (1.01 < 1.1), as apk does.
 * Used for Alpine (and Wolfi/Chainguard, which use the same tool).
 */
enum Kind {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNumber = 4,
  CommitHash = 5,
  Revision = 6,
  End = 7,
}

interface Token {
  kind: Kind;
  text: string;
  /** Rank of a suffix; 0 for other kinds. */
  suffix: number;
}

const SUFFIXES = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
const NO_SUFFIX = SUFFIXES.indexOf('');

const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isHex = (c: string | undefined): boolean => isDigit(c) || (c !== undefined && /^[a-fA-F]$/.test(c));

function run(text: string, from: number, accept: (c: string | undefined) => boolean): number {
  let end = from;
  while (end < text.length && accept(text[end])) end++;
  return end;
}

/** Splits a version into tokens, or returns undefined when apk would call it invalid. */
export function tokenize(version: string): Token[] | undefined {
  const tokens: Token[] = [];
  let pos = run(version, 0, isDigit);
  if (pos === 0) return undefined;
  tokens.push({ kind: Kind.InitialDigit, text: version.slice(0, pos), suffix: 0 });
  let previous = Kind.InitialDigit;
  while (pos < version.length) {
    const c = version[pos];
    let kind: Kind;
    let start = pos;
    let end: number;
    let suffix = 0;
    if (isLower(c) && previous <= Kind.Digit) {
      kind = Kind.Letter;
      end = pos + 1;
    } else if (c === '.' && previous <= Kind.Digit) {
      kind = Kind.Digit;
      start = pos + 1;
      end = run(version, start, isDigit);
    } else if (isDigit(c) && previous === Kind.Suffix) {
      kind = Kind.SuffixNumber;
      end = run(version, start, isDigit);
    } else if (c === '_' && previous <= Kind.SuffixNumber) {
      kind = Kind.Suffix;
      start = pos + 1;
      end = run(version, start, isLower);
      suffix = SUFFIXES.indexOf(version.slice(start, end));
      if (suffix < 0 || suffix === NO_SUFFIX) return undefined;
    } else if (c === '~' && previous < Kind.CommitHash) {
      kind = Kind.CommitHash;
      start = pos + 1;
      end = run(version, start, isHex);
    } else if (c === '-' && version[pos + 1] === 'r' && previous < Kind.Revision) {
      kind = Kind.Revision;
      start = pos + 2;
      end = run(version, start, isDigit);
    } else {
      return undefined;
    }
    if (end === start && kind !== Kind.Suffix) return undefined;
    tokens.push({ kind, text: version.slice(start, end), suffix });
    previous = kind;
    pos = end;
  }
  tokens.push({ kind: Kind.End, text: '', suffix: 0 });
  return tokens;
}

export function isValid(version: string): boolean {
  return tokenize(version) !== undefined;
}

export function parse(version: string): Token[] {
  const tokens = tokenize(version);
  if (!tokens) throw new InvalidVersionError('apk', version);
  return tokens;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case Kind.Digit:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return compareText(a.text, b.text);
      return sign(compareDigits(a.text, b.text));
    case Kind.InitialDigit:
    case Kind.SuffixNumber:
    case Kind.Revision:
      return sign(compareDigits(a.text, b.text));
    case Kind.Suffix:
      return sign(a.suffix - b.suffix);
    default:
      return compareText(a.text, b.text);
  }
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  let index = 0;
  while ((x[index] as Token).kind === (y[index] as Token).kind && (x[index] as Token).kind !== Kind.End) {
    const result = compareTokens(x[index] as Token, y[index] as Token);
    if (result !== 0) return result;
    index++;
  }
  const ta = x[index] as Token;
  const tb = y[index] as Token;
  if (ta.kind === tb.kind) return 0;
  // Equal so far: the longer version is newer, unless what it adds is a pre-release suffix.
  if (ta.kind === Kind.Suffix && ta.suffix < NO_SUFFIX) return -1;
  if (tb.kind === Kind.Suffix && tb.suffix < NO_SUFFIX) return 1;
  return ta.kind > tb.kind ? -1 : 1;
}

export const apk = { scheme: 'apk', compare, isValid };
