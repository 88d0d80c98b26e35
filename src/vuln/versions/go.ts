import { InvalidVersionError } from './comparator.ts';
import { compareParsed, type SemVer } from './semver.ts';

/**
 * Go module versions (golang.org/x/mod/semver): SemVer with a `v` prefix, where `v1` and `v1.2`
 * stand for `v1.0.0` and `v1.2.0` and build metadata such as `+incompatible` is ignored.
 * Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.2019…`) are pre-releases and
 * so sort by SemVer precedence. The `v` is optional here because OSV's Go records omit it.
 */
const NUMBER = '0|[1-9]\\d*';
const IDENTIFIER = `(?:${NUMBER}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const GO_VERSION = new RegExp(
  `^v?(${NUMBER})(?:\\.(${NUMBER})(?:\\.(${NUMBER})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?)?)?$`,
);

export function parse(version: string): SemVer {
  const match = GO_VERSION.exec(version);
  if (!match) throw new InvalidVersionError('go', version);
  return {
    release: [match[1] ?? '0', match[2] ?? '0', match[3] ?? '0'],
    prerelease: match[4] ? match[4].split('.') : [],
  };
}

export function isValid(version: string): boolean {
  return GO_VERSION.test(version);
}

const PSEUDO_VERSION = /^v?\d+\.\d+\.\d+-(?:.*\.)?(?:0\.)?\d{14}-[0-9a-f]{12}(?:\+incompatible)?$/;

/** Whether a version is a pseudo-version (a commit, not a tag). */
export function isPseudoVersion(version: string): boolean {
  return isValid(version) && PSEUDO_VERSION.test(version);
}

export function compare(a: string, b: string): number {
  return compareParsed(parse(a), parse(b));
}

export const go = { scheme: 'go', compare, isValid };
