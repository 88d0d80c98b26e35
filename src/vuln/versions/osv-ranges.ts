import type { VersionComparator } from './comparator.ts';
import { comparatorFor } from './index.ts';
import { semver } from './semver.ts';

/**
 * Whether a package version is affected by one OSV `affected[]` entry, following the evaluation
 * algorithm of the OSV schema (docs/schema.md, "Evaluation"): the version is affected when it is
 * listed in `versions` or falls in a range. A range is walked in version order; `introduced` turns
 * the state on (`"0"` is before everything), `fixed` turns it off at and after it, `last_affected`
 * off after it; `limit` events cap the range (`*` is infinity, none means no cap).
 * SEMVER ranges use SemVer precedence whatever the ecosystem (with npm's loose forms accepted);
 * ECOSYSTEM ranges use the ecosystem's own order; GIT ranges are reported as unsupported.
 */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  repo?: string;
  events: OsvEvent[];
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  ranges?: OsvRange[];
  versions?: string[];
}

export interface AffectedResult {
  affected: boolean;
  /** The fixed versions that end the affected stretch(es) the version is in; empty when none is known. */
  fixed: string[];
  /** `last_affected` bounds of the stretch(es) the version is in, for records that name no fix. */
  lastAffected: string[];
  /** Why part of the entry could not be evaluated (GIT ranges, unknown ecosystem, unorderable versions). */
  unsupported: string[];
}

type EventKind = keyof OsvEvent;
interface Event {
  kind: EventKind;
  version: string;
}

function toEvent(event: OsvEvent): Event | undefined {
  for (const kind of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
    const version = event[kind];
    if (typeof version === 'string') return { kind, version };
  }
  return undefined;
}

/** `introduced: "0"` sorts before every version. */
const isFloor = (e: Event): boolean => e.kind === 'introduced' && e.version === '0';
/** A `limit` containing `*` sorts after every version. */
const isInfinity = (e: Event): boolean => e.kind === 'limit' && e.version.includes('*');
const isSpecial = (e: Event): boolean => isFloor(e) || isInfinity(e);

/** Where an event sorts: special values at the ends, the rest in the scheme's order. */
function eventOrder(compare: (a: string, b: string) => number, a: Event, b: Event): number {
  const rank = (e: Event) => (isFloor(e) ? -1 : isInfinity(e) ? 1 : 0);
  if (isSpecial(a) || isSpecial(b)) return rank(a) - rank(b);
  return compare(a.version, b.version);
}

function evaluateRange(range: OsvRange, version: string, comparator: VersionComparator): AffectedResult {
  const result: AffectedResult = { affected: false, fixed: [], lastAffected: [], unsupported: [] };
  const events = range.events.map(toEvent).filter((e): e is Event => e !== undefined);
  const invalid = events.find((e) => !isSpecial(e) && !comparator.isValid(e.version));
  if (invalid) {
    result.unsupported.push(
      `${range.type} range: "${invalid.version}" is not a valid ${comparator.scheme} version`,
    );
    return result;
  }
  /** The version in question against an event's version. */
  const cmp = (e: Event) => (isFloor(e) ? 1 : isInfinity(e) ? -1 : comparator.compare(version, e.version));

  const limits = events.filter((e) => e.kind === 'limit');
  if (limits.length > 0 && !limits.some((limit) => cmp(limit) < 0)) return result;

  const sorted = [...events].sort((a, b) => eventOrder(comparator.compare, a, b));
  let vulnerable = false;
  let closing: Event | undefined;
  for (const event of sorted) {
    if (event.kind === 'introduced' && cmp(event) >= 0) {
      vulnerable = true;
      closing = undefined;
    } else if (event.kind === 'fixed' && cmp(event) >= 0) {
      vulnerable = false;
    } else if (event.kind === 'last_affected' && cmp(event) > 0) {
      vulnerable = false;
    } else if (
      vulnerable &&
      closing === undefined &&
      (event.kind === 'fixed' || event.kind === 'last_affected')
    ) {
      // The first bound above the version while it is affected is the one that ends its stretch.
      closing = event;
    }
  }
  result.affected = vulnerable;
  if (vulnerable && closing?.kind === 'fixed') result.fixed.push(closing.version);
  if (vulnerable && closing?.kind === 'last_affected') result.lastAffected.push(closing.version);
  return result;
}

/** Evaluates one `affected[]` entry for `version` of a package in `ecosystem` (as OSV spells it). */
export function evaluateAffected(
  entry: OsvAffected,
  version: string,
  ecosystem = entry.package?.ecosystem ?? '',
): AffectedResult {
  const result: AffectedResult = { affected: false, fixed: [], lastAffected: [], unsupported: [] };
  const ecosystemComparator = comparatorFor(ecosystem);

  const listed = (entry.versions ?? []).some(
    (listedVersion) =>
      listedVersion === version ||
      (ecosystemComparator?.isValid(listedVersion) &&
        ecosystemComparator.isValid(version) &&
        ecosystemComparator.compare(listedVersion, version) === 0),
  );
  if (listed) result.affected = true;

  for (const range of entry.ranges ?? []) {
    let comparator: VersionComparator | undefined;
    if (range.type === 'SEMVER') comparator = semver;
    else if (range.type === 'ECOSYSTEM') comparator = ecosystemComparator;
    else {
      result.unsupported.push(
        `${range.type} range${range.repo ? ` of ${range.repo}` : ''}: not supported (needs the repository's commit graph)`,
      );
      continue;
    }
    if (comparator === undefined) {
      result.unsupported.push(`ECOSYSTEM range: no version ordering for ecosystem "${ecosystem}"`);
      continue;
    }
    if (!comparator.isValid(version)) {
      result.unsupported.push(
        `${range.type} range: "${version}" is not a valid ${comparator.scheme} version`,
      );
      continue;
    }
    const outcome = evaluateRange(range, version, comparator);
    result.affected ||= outcome.affected;
    result.fixed.push(...outcome.fixed.filter((v) => !result.fixed.includes(v)));
    result.lastAffected.push(...outcome.lastAffected.filter((v) => !result.lastAffected.includes(v)));
    result.unsupported.push(...outcome.unsupported);
  }
  return result;
}

/** Every `fixed` version named in an entry, whatever the version in question. */
export function allFixedVersions(entry: OsvAffected): string[] {
  const fixed = (entry.ranges ?? []).flatMap((range) =>
    range.events.flatMap((e) => (typeof e.fixed === 'string' ? [e.fixed] : [])),
  );
  return [...new Set(fixed)];
}
