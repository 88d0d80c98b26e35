import type { Database } from '../db/database.ts';
import type { AdvisorySeverity } from '../db/schema.ts';
import { normalizePackageName } from './package-names.ts';
import { baseEcosystem } from './versions/index.ts';
import { evaluateAffected, type OsvAffected } from './versions/osv-ranges.ts';

export interface AdvisoryReference {
  type: string;
  url: string;
}

/** An advisory that affects one version of a package. */
export interface AdvisoryMatch {
  /** The vulnerability's id as reports show it: the OSV id, or a distribution feed's CVE id. */
  id: string;
  /** The stored record's key: the OSV id, or `<source>:<scope>:<id>` for a distribution feed. */
  key: string;
  /** The feed the record came from: `osv`, `alpine-secdb`, `debian-tracker`. */
  source: string;
  aliases: string[];
  severity: AdvisorySeverity;
  /** CVSS v3 base score, when the advisory has a scorable v3 vector. */
  score: number | null;
  /** The CVSS v3 vector. */
  cvssVector: string | null;
  scoreV4: number | null;
  cvssV4Vector: string | null;
  cweIds: string[];
  /** Versions that end the affected stretch the version is in; empty when no fix is known. */
  fixedVersions: string[];
  summary: string | null;
  references: AdvisoryReference[];
  /** Parts of the advisory that could not be evaluated (GIT ranges, unorderable versions). */
  unsupported: string[];
}

const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

/** Looks up the advisories of the offline vulnerability database that affect a package version. */
export class AdvisoryStore {
  constructor(private readonly db: Database) {}

  /**
   * Advisories whose `affected[]` entries for the package include `version`, ordered by stored key.
   * Records of different feeds for the same CVE are distinct matches, each with its own fix.
   * `ecosystem` is OSV's string: `npm`, `PyPI`, or with a release, `Debian:12`; an entry for a
   * release matches only that release, an entry without one matches every release.
   */
  async affecting(ecosystem: string, packageName: string, version: string): Promise<AdvisoryMatch[]> {
    const base = baseEcosystem(ecosystem);
    const rows = await this.db.advisories.affectedEntries(base, normalizePackageName(base, packageName));
    const matches = new Map<string, AdvisoryMatch>();
    for (const { entry, advisory } of rows) {
      if (entry.ecosystem !== ecosystem && entry.ecosystem !== base) continue;
      const affected: OsvAffected = {
        package: { ecosystem: entry.ecosystem, name: entry.package_name },
        ranges: parseJson(entry.ranges, []),
        versions: parseJson(entry.versions, []),
      };
      const outcome = evaluateAffected(affected, version, entry.ecosystem);
      const known = matches.get(advisory.id);
      if (!outcome.affected) {
        // Kept only to tell the caller what could not be checked, should another entry match.
        if (known) known.unsupported.push(...outcome.unsupported);
        continue;
      }
      if (known) {
        for (const fixed of outcome.fixed)
          if (!known.fixedVersions.includes(fixed)) known.fixedVersions.push(fixed);
        known.unsupported.push(...outcome.unsupported);
        continue;
      }
      matches.set(advisory.id, {
        id: advisory.vulnerability_id ?? advisory.id,
        key: advisory.id,
        source: advisory.source,
        aliases: parseJson(advisory.aliases, []),
        severity: advisory.severity,
        score: advisory.cvss_score,
        // Before 0008 a lone v4 vector was kept here.
        cvssVector: advisory.cvss_vector?.startsWith('CVSS:4') ? null : advisory.cvss_vector,
        scoreV4: advisory.cvss_v4_score,
        cvssV4Vector: advisory.cvss_v4_vector,
        cweIds: parseJson<string[]>(advisory.cwe_ids, []),
        fixedVersions: [...outcome.fixed],
        summary: advisory.summary,
        references: parseJson<AdvisoryReference[]>(advisory.references, []),
        unsupported: [...outcome.unsupported],
      });
    }
    return [...matches.values()];
  }
}
