import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

/**
 * What a scan should report, worked out without Berth's matcher: OSV ranges read as
 * introduced/fixed (or last_affected) pairs, versions compared by dpkg itself or the npm
 * `semver` package.
 */

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRecord {
  id: string;
  withdrawn?: string;
  affected?: {
    package?: { ecosystem: string; name: string };
    ranges?: { type: string; events: OsvEvent[] }[];
    versions?: string[];
  }[];
}

/** -1, 0 or 1, like a sort comparator. */
export type VersionCompare = (a: string, b: string) => number;

/** Debian version order as `dpkg --compare-versions` decides it. */
export const dpkgCompare: VersionCompare = (a, b) => {
  if (a === b) return 0;
  const lower = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]);
  if (lower.error) throw lower.error;
  if (lower.status === 0) return -1;
  return spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0 ? 0 : 1;
};

export const semverCompare: VersionCompare = (a, b) => semver.compare(a, b);

/**
 * Whether `version` is in one affected entry, and the fixed version of the stretch it is in.
 * `"0"` introduces from the very first version.
 */
export function entryContains(
  entry: NonNullable<OsvRecord['affected']>[number],
  version: string,
  compare: VersionCompare,
): { affected: boolean; fixed: string[] } {
  const fixed: string[] = [];
  let affected = (entry.versions ?? []).includes(version);
  for (const range of entry.ranges ?? []) {
    if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
    let introduced: string | undefined;
    for (const event of range.events) {
      if (event.introduced !== undefined) {
        introduced = event.introduced;
        continue;
      }
      if (introduced === undefined) continue;
      const end = event.fixed ?? event.last_affected;
      if (end === undefined) continue;
      const started = introduced === '0' || compare(version, introduced) >= 0;
      const before = event.fixed !== undefined ? compare(version, end) < 0 : compare(version, end) <= 0;
      if (started && before) {
        affected = true;
        if (event.fixed !== undefined) fixed.push(event.fixed);
      }
      introduced = undefined;
    }
    // A stretch introduced and never closed: every later version is affected.
    if (introduced !== undefined && (introduced === '0' || compare(version, introduced) >= 0))
      affected = true;
  }
  return { affected, fixed };
}

/** Every OSV record under `path`: a JSON file, or a directory of them (recursively). */
export function readOsvRecords(path: string): OsvRecord[] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .sort()
      .flatMap((name) => readOsvRecords(join(path, name)));
  }
  if (!path.endsWith('.json')) return [];
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as OsvRecord | OsvRecord[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

export interface InstalledPackage {
  /** The name the report shows (binary package, or npm package). */
  name: string;
  version: string;
  /** The name and version advisories are about (Debian: the source package). */
  advisoryName: string;
  advisoryVersion: string;
}

export interface ExpectedFinding {
  id: string;
  package: string;
  version: string;
  fixed: string[];
}

/** The findings `records` call for in `installed`, for affected entries of `ecosystem`. */
export function expectedFindings(
  records: readonly OsvRecord[],
  installed: readonly InstalledPackage[],
  ecosystem: string,
  compare: VersionCompare,
): ExpectedFinding[] {
  const findings: ExpectedFinding[] = [];
  for (const record of records) {
    if (record.withdrawn) continue;
    for (const pkg of installed) {
      const entries = (record.affected ?? []).filter(
        (entry) => entry.package?.ecosystem === ecosystem && entry.package.name === pkg.advisoryName,
      );
      const outcomes = entries.map((entry) => entryContains(entry, pkg.advisoryVersion, compare));
      if (!outcomes.some((outcome) => outcome.affected)) continue;
      const fixed = [...new Set(outcomes.flatMap((outcome) => outcome.fixed))];
      findings.push({ id: record.id, package: pkg.name, version: pkg.version, fixed });
    }
  }
  return findings.sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
}

/** The Debian security tracker's JSON: source package → issue → release codename → status. */
export type TrackerDocument = Record<
  string,
  Record<string, { releases?: Record<string, { status?: string; fixed_version?: string }> }>
>;

/**
 * The findings a tracker dump calls for in one release, read as the tracker documents its
 * statuses: `open` affects every version; `resolved` affects versions before `fixed_version`
 * (`0`: never affected); anything else (`undetermined`) is not a known vulnerability.
 */
export function expectedTrackerFindings(
  document: TrackerDocument,
  codename: string,
  installed: readonly InstalledPackage[],
  compare: VersionCompare,
): ExpectedFinding[] {
  const findings: ExpectedFinding[] = [];
  for (const pkg of installed) {
    for (const [id, issue] of Object.entries(document[pkg.advisoryName] ?? {})) {
      const release = issue.releases?.[codename];
      if (release?.status === 'open') {
        findings.push({ id, package: pkg.name, version: pkg.version, fixed: [] });
        continue;
      }
      const fixed = release?.fixed_version;
      if (release?.status !== 'resolved' || !fixed || fixed === '0') continue;
      if (compare(pkg.advisoryVersion, fixed) < 0)
        findings.push({ id, package: pkg.name, version: pkg.version, fixed: [fixed] });
    }
  }
  return findings.sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
}
