import type { AdvisoryWrite, NewAffectedPackage } from '../db/advisories.ts';
import type { AdvisorySeverity } from '../db/schema.ts';
import { cvss3BaseScore, normalizeSeverityWord, severityOfScore } from './cvss.ts';
import { normalizePackageName } from './package-names.ts';
import { baseEcosystem } from './versions/index.ts';

/** Longer `details` are cut: scan reports show a summary; the full text stays in `raw`. */
const MAX_DETAILS = 8000;

export class InvalidRecordError extends Error {}

interface SeverityOutcome {
  severity: AdvisorySeverity;
  vector: string | null;
  score: number | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/**
 * The record's severity: a CVSS v3 vector scored per the specification; else the database's own
 * word (GHSA's `database_specific.severity`); a CVSS v4 vector is kept but not scored.
 */
export function resolveSeverity(record: Record<string, unknown>): SeverityOutcome {
  const entries = Array.isArray(record.severity) ? record.severity.filter(isObject) : [];
  const vectorOf = (type: string) => {
    const found = entries.find((entry) => entry.type === type && typeof entry.score === 'string');
    return found ? (found.score as string) : undefined;
  };
  const v3 = vectorOf('CVSS_V3');
  const v3Score = v3 === undefined ? undefined : cvss3BaseScore(v3);
  if (v3 !== undefined && v3Score !== undefined) {
    return { severity: severityOfScore(v3Score), vector: v3, score: v3Score };
  }
  const databaseSpecific = isObject(record.database_specific) ? record.database_specific : {};
  const word = normalizeSeverityWord(databaseSpecific.severity) ?? 'unknown';
  return { severity: word, vector: vectorOf('CVSS_V4') ?? v3 ?? null, score: null };
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
    },
    aliases,
    affected: affectedRows(affected),
  };
}
