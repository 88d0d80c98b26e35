import type { AdvisoryWrite, NewAffectedPackage } from '../db/advisories.ts';
import type { AdvisorySeverity } from '../db/schema.ts';
import { cvss3BaseScore, cvss4Score, normalizeSeverityWord, severityOfScore } from './cvss.ts';
import { normalizePackageName } from './package-names.ts';
import { baseEcosystem } from './versions/index.ts';

/** Longer `details` are cut: scan reports show a summary; the full text stays in `raw`. */
const MAX_DETAILS = 8000;

export class InvalidRecordError extends Error {}

export interface SeverityOutcome {
  severity: AdvisorySeverity;
  /** The CVSS v3 vector and its base score. */
  vector: string | null;
  score: number | null;
  v4Vector: string | null;
  v4Score: number | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/**
 * The record's severity: from the CVSS v3 score when there is a scorable v3 vector; else from the
 * CVSS v4 score; else the database's own word (GHSA's `database_specific.severity`). Both vectors
 * are kept, each with its score when it could be computed.
 */
export function resolveSeverity(record: Record<string, unknown>): SeverityOutcome {
  const entries = Array.isArray(record.severity) ? record.severity.filter(isObject) : [];
  const vectorOf = (type: string) => {
    const found = entries.find((entry) => entry.type === type && typeof entry.score === 'string');
    return found ? (found.score as string) : null;
  };
  const v3 = vectorOf('CVSS_V3');
  const v3Score = v3 === null ? undefined : cvss3BaseScore(v3);
  const v4 = vectorOf('CVSS_V4');
  const v4Score = v4 === null ? undefined : cvss4Score(v4);
  const scored = v3Score ?? v4Score;
  const databaseSpecific = isObject(record.database_specific) ? record.database_specific : {};
  return {
    severity:
      scored !== undefined
        ? severityOfScore(scored)
        : (normalizeSeverityWord(databaseSpecific.severity) ?? 'unknown'),
    vector: v3,
    score: v3Score ?? null,
    v4Vector: v4,
    v4Score: v4Score ?? null,
  };
}

/** `database_specific.cwe_ids` (GHSA, and others that follow it), deduplicated, in record order. */
export function cweIdsOf(record: Record<string, unknown>): string[] {
  const databaseSpecific = isObject(record.database_specific) ? record.database_specific : {};
  return [...new Set(strings(databaseSpecific.cwe_ids).map((id) => id.trim()))].filter((id) =>
    /^CWE-\d+$/.test(id),
  );
}

function affectedRows(affected: unknown[]): NewAffectedPackage[] {
  const rows: NewAffectedPackage[] = [];
  for (const entry of affected) {
    if (!isObject(entry) || !isObject(entry.package)) continue;
    const { ecosystem, name, purl } = entry.package;
    // Entries without a package (GIT-only) cannot be matched against an image's packages.
    if (typeof ecosystem !== 'string' || typeof name !== 'string' || !ecosystem || !name) continue;
    const base = baseEcosystem(ecosystem);
    rows.push({
      ecosystem,
      base_ecosystem: base,
      package_name: normalizePackageName(base, name),
      purl: stringOrNull(purl),
      ranges: JSON.stringify(Array.isArray(entry.ranges) ? entry.ranges : []),
      versions: JSON.stringify(strings(entry.versions)),
    });
  }
  return rows;
}

/** Checks the little Berth relies on (`id`, `modified`, `affected[]`) and turns a record into rows. */
export function advisoryFromOsv(record: unknown): AdvisoryWrite {
  if (!isObject(record)) throw new InvalidRecordError('not a JSON object');
  const { id, modified, affected } = record;
  if (typeof id !== 'string' || id.trim() === '') throw new InvalidRecordError('missing "id"');
  if (typeof modified !== 'string' || Number.isNaN(Date.parse(modified))) {
    throw new InvalidRecordError(`${id}: missing or invalid "modified"`);
  }
  if (!Array.isArray(affected)) throw new InvalidRecordError(`${id}: "affected" is not an array`);
  const severity = resolveSeverity(record);
  const aliases = strings(record.aliases);
  const details = stringOrNull(record.details)?.trim() ?? null;
  return {
    advisory: {
      id,
      modified,
      published: stringOrNull(record.published),
      withdrawn: stringOrNull(record.withdrawn),
      summary: stringOrNull(record.summary)?.trim() ?? null,
      details: details && details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}…` : details,
      severity: severity.severity,
      cvss_vector: severity.vector,
      cvss_score: severity.score,
      aliases: JSON.stringify(aliases),
      references: JSON.stringify(Array.isArray(record.references) ? record.references.filter(isObject) : []),
      raw: JSON.stringify(record),
      source: 'osv',
      vulnerability_id: null,
      cwe_ids: JSON.stringify(cweIdsOf(record)),
      cvss_v4_vector: severity.v4Vector,
      cvss_v4_score: severity.v4Score,
    },
    aliases,
    affected: affectedRows(affected),
  };
}
