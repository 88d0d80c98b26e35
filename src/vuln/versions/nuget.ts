import { compareDigits, InvalidVersionError, sign } from './comparator.ts';
import { comparePrerelease } from './semver.ts';

/**
 * NuGet versions (NuGet.Versioning): SemVer 2 with an optional fourth release number
 * (`1.0.0.1`), missing numbers read as 0 (`1.0` == `1.0.0.0`), pre-release labels compared
 * case-insensitively, metadata ignored. NuGet also accepts leading zeros (`1.01` == `1.1`).
 */
export interface NuGetVersion {
  release: [string, string, string, string];
  prerelease: string[];
}

const PATTERN =
  /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-.]+)?$/;

export function parse(version: string): NuGetVersion {
  const match = PATTERN.exec(version.trim());
  if (!match) throw new InvalidVersionError('nuget', version);
  return {
    release: [match[1] ?? '0', match[2] ?? '0', match[3] ?? '0', match[4] ?? '0'],
    prerelease: match[5] ? match[5].split('.') : [],
  };
}

export function isValid(version: string): boolean {
  return PATTERN.test(version.trim());
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 4; i++) {
    const diff = compareDigits(x.release[i] as string, y.release[i] as string);
    if (diff !== 0) return sign(diff);
  }
  return comparePrerelease(x.prerelease, y.prerelease, true);
}

export const nuget = { scheme: 'nuget', compare, isValid };
