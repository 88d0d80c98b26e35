import { apk } from './apk.ts';
import type { VersionComparator } from './comparator.ts';
import { composer } from './composer.ts';
import { dpkg } from './dpkg.ts';
import { go } from './go.ts';
import { maven } from './maven.ts';
import { nuget } from './nuget.ts';
import { pep440 } from './pep440.ts';
import { rpm } from './rpm.ts';
import { rubygems } from './rubygems.ts';
import { semver } from './semver.ts';

export type { VersionComparator } from './comparator.ts';
export { InvalidVersionError } from './comparator.ts';
export { apk, composer, dpkg, go, maven, nuget, pep440, rpm, rubygems, semver };

/** OSV ecosystem names (the part before any `:release` suffix) and the scheme each one uses. */
const BY_ECOSYSTEM: Record<string, VersionComparator> = {
  Debian: dpkg,
  Ubuntu: dpkg,
  Alpine: apk,
  Wolfi: apk,
  Chainguard: apk,
  'Red Hat': rpm,
  'Rocky Linux': rpm,
  AlmaLinux: rpm,
  'Amazon Linux': rpm,
  SUSE: rpm,
  openSUSE: rpm,
  'Photon OS': rpm,
  openEuler: rpm,
  Mageia: rpm,
  npm: semver,
  'crates.io': semver,
  NuGet: nuget,
  PyPI: pep440,
  Go: go,
  Maven: maven,
  RubyGems: rubygems,
  Packagist: composer,
};

/** The base ecosystem of an OSV ecosystem string: `Debian:12` → `Debian`, `Ubuntu:Pro:18.04:LTS` → `Ubuntu`. */
export function baseEcosystem(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon >= 0 ? ecosystem.slice(0, colon) : ecosystem;
}

/** The comparator for an OSV ecosystem, or undefined when Berth cannot order its versions. */
export function comparatorFor(ecosystem: string): VersionComparator | undefined {
  return BY_ECOSYSTEM[baseEcosystem(ecosystem)];
}

export const supportedEcosystems = (): string[] => Object.keys(BY_ECOSYSTEM);
