import type { AdvisoryWrite, NewAffectedPackage } from '../db/advisories.ts';
import type { AdvisorySeverity } from '../db/schema.ts';
import { normalizeSeverityWord } from './cvss.ts';

/**
 * The Debian security tracker's JSON (security-tracker.debian.org/tracker/data/json): per source
 * package, per issue (CVE or TEMP id), per release codename, a `status` and, once resolved, the
 * `fixed_version`. Read per release:
 * - `resolved` with fixed_version `0`: the release was never affected;
 * - `resolved` with a version: affected before it;
 * - `open`: affected, no fix yet;
 * - `undetermined`: not known to be affected, so not recorded.
 * `urgency` is the severity: unimportant/low/medium/high (a trailing `*` marks a guess);
 * `not yet assigned` and `end-of-life` say nothing about it.
 */
export type TrackerDocument = Record<string, Record<string, TrackerIssue>>;

interface TrackerIssue {
  description?: string;
  releases?: Record<string, TrackerRelease>;
}

interface TrackerRelease {
  status?: string;
  fixed_version?: string;
  urgency?: string;
}

export const debianTrackerSource = 'debian-tracker';

/** Release codenames the tracker uses, and OSV's `Debian:<major>` for them. */
export const debianReleases: Readonly<Record<string, string>> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Whether a parsed JSON document has the tracker's shape: an object of source packages whose
 * first issue has a `releases` object. Only the first package is looked at; the dump is large.
 */
export function isTrackerDocument(value: unknown): value is TrackerDocument {
  if (!isObject(value)) return false;
  for (const issues of Object.values(value)) {
    if (!isObject(issues)) return false;
    for (const issue of Object.values(issues)) return isObject(issue) && isObject(issue.releases);
  }
  return false;
}

const severityRank: AdvisorySeverity[] = ['unknown', 'low', 'medium', 'high', 'critical'];

function urgencySeverity(urgency: unknown): AdvisorySeverity {
  if (typeof urgency !== 'string') return 'unknown';
  return normalizeSeverityWord(urgency.replace(/\*+$/, '')) ?? 'unknown';
}

interface PendingRecord {
  id: string;
  release: string;
  description: string | null;
  severity: AdvisorySeverity;
  affected: NewAffectedPackage[];
  raw: Record<string, unknown>;
}

/**
 * The advisories of a tracker dump, one per issue and release: the key is
 * `debian-tracker:Debian:<major>:<id>`, and the affected entries are the release's source packages
 * the issue affects. The severity is the highest urgency among them.
 */
export function advisoriesFromTracker(document: TrackerDocument, modified: string): AdvisoryWrite[] {
  const records = new Map<string, PendingRecord>();
  for (const [sourcePackage, issues] of Object.entries(document)) {
    if (!isObject(issues)) continue;
    for (const [id, issue] of Object.entries(issues)) {
      if (!isObject(issue) || !isObject(issue.releases)) continue;
      for (const [codename, release] of Object.entries(issue.releases as Record<string, unknown>)) {
        const major = debianReleases[codename];
        if (!major || !isObject(release)) continue;
        const { status, fixed_version: fixed } = release as TrackerRelease;
        let events: Record<string, string>[];
        if (status === 'open') events = [{ introduced: '0' }];
        else if (status === 'resolved' && typeof fixed === 'string' && fixed !== '' && fixed !== '0')
          events = [{ introduced: '0' }, { fixed }];
        else continue;
        const ecosystem = `Debian:${major}`;
        const key = `${debianTrackerSource}:${ecosystem}:${id}`;
        const record = records.get(key) ?? {
          id,
          release: ecosystem,
          description: typeof issue.description === 'string' ? issue.description.trim() || null : null,
          severity: 'unknown',
          affected: [],
          raw: {},
        };
        records.set(key, record);
        const severity = urgencySeverity((release as TrackerRelease).urgency);
        if (severityRank.indexOf(severity) > severityRank.indexOf(record.severity))
          record.severity = severity;
        record.affected.push({
          ecosystem,
          base_ecosystem: 'Debian',
          package_name: sourcePackage,
          purl: null,
          ranges: JSON.stringify([{ type: 'ECOSYSTEM', events }]),
          versions: '[]',
        });
        record.raw[sourcePackage] = { ...issue, releases: { [codename]: release } };
      }
    }
  }
  return [...records].map(([key, record]) => ({
    advisory: {
      id: key,
      modified,
      published: null,
      withdrawn: null,
      summary: record.description,
      details: null,
      severity: record.severity,
      cvss_vector: null,
      cvss_score: null,
      aliases: '[]',
      references: JSON.stringify([
        { type: 'ADVISORY', url: `https://security-tracker.debian.org/tracker/${record.id}` },
      ]),
      raw: JSON.stringify(record.raw),
      source: debianTrackerSource,
      vulnerability_id: record.id,
      cwe_ids: '[]',
      cvss_v4_vector: null,
      cvss_v4_score: null,
    },
    aliases: [record.id],
    affected: record.affected,
  }));
}
