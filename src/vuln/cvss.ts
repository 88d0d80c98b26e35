import cvssCalculator from 'ae-cvss-calculator';
import type { AdvisorySeverity } from '../db/schema.ts';

// A CommonJS bundle: its classes come off the default export.
const { Cvss4P0 } = cvssCalculator;

/**
 * CVSS v3.x base scores, computed from the vector with the formulas of the CVSS 3.1
 * specification (section 7.1 and Appendix A's Roundup). 3.0 vectors use the same weights; the
 * 3.1 Roundup only fixes floating-point artefacts, so it is used for both.
 */
const WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
} as const;
/** Privileges Required weighs more when the scope changes. */
const PRIVILEGES = {
  U: { N: 0.85, L: 0.62, H: 0.27 },
  C: { N: 0.85, L: 0.68, H: 0.5 },
} as const;

const BASE_METRICS = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;

/** The spec's Roundup: the smallest number with one decimal that is >= the input, free of float noise. */
export function roundUp(value: number): number {
  const integer = Math.round(value * 100000);
  if (integer % 10000 === 0) return integer / 100000;
  return (Math.floor(integer / 10000) + 1) / 10;
}

/** The base score of a CVSS v3.0/v3.1 vector (with or without the `CVSS:3.x/` prefix), or undefined if it is not one. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.trim().split('/');
  if (parts[0]?.startsWith('CVSS:')) {
    if (!/^CVSS:3\.[01]$/.test(parts[0])) return undefined;
    parts.shift();
  }
  const metrics = new Map<string, string>();
  for (const part of parts) {
    const [name, value, extra] = part.split(':');
    if (!name || !value || extra !== undefined || metrics.has(name)) return undefined;
    metrics.set(name, value);
  }
  const pick = <T extends Record<string, number>>(table: T, name: string): number | undefined =>
    table[metrics.get(name) as keyof T];
  if (BASE_METRICS.some((name) => !metrics.has(name))) return undefined;
  const scope = metrics.get('S');
  if (scope !== 'U' && scope !== 'C') return undefined;
  const av = pick(WEIGHTS.AV, 'AV');
  const ac = pick(WEIGHTS.AC, 'AC');
  const pr = pick(PRIVILEGES[scope], 'PR');
  const ui = pick(WEIGHTS.UI, 'UI');
  const c = pick(WEIGHTS.C, 'C');
  const i = pick(WEIGHTS.I, 'I');
  const a = pick(WEIGHTS.A, 'A');
  if ([av, ac, pr, ui, c, i, a].some((w) => w === undefined)) return undefined;

  const iss = 1 - (1 - (c as number)) * (1 - (i as number)) * (1 - (a as number));
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * (av as number) * (ac as number) * (pr as number) * (ui as number);
  if (impact <= 0) return 0;
  return scope === 'U'
    ? roundUp(Math.min(impact + exploitability, 10))
    : roundUp(Math.min(1.08 * (impact + exploitability), 10));
}

const V4_BASE_METRICS = ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA'] as const;

/**
 * The score of a CVSS v4.0 vector (`CVSS:4.0/...`), or undefined if it is not a complete one.
 * v4 has one score, named after the metric groups the vector sets (CVSS-B, CVSS-BT, CVSS-BE,
 * CVSS-BTE); this is the one FIRST's calculator shows for the vector as written. Scored by
 * ae-cvss-calculator (MacroVector lookup and interpolation of the v4.0 specification); the library
 * fills metrics a vector leaves out with "not defined", so completeness is checked here first.
 */
export function cvss4Score(vector: string): number | undefined {
  const parts = vector.trim().split('/');
  if (parts.shift() !== 'CVSS:4.0') return undefined;
  const metrics = new Set<string>();
  for (const part of parts) {
    const [name, value, extra] = part.split(':');
    if (!name || !value || extra !== undefined || metrics.has(name)) return undefined;
    metrics.add(name);
  }
  if (V4_BASE_METRICS.some((name) => !metrics.has(name))) return undefined;
  try {
    const parsed = new Cvss4P0(vector.trim());
    if (!parsed.isBaseFullyDefined()) return undefined;
    const score = parsed.calculateScores().overall;
    return Number.isFinite(score) ? score : undefined;
  } catch {
    // Unknown metric names or values.
    return undefined;
  }
}

/** The qualitative rating of a CVSS score (the same bands in v3 and v4). */
export function severityOfScore(score: number): AdvisorySeverity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  // "None" has no level of its own in Berth's scale.
  return 'unknown';
}

/** A severity word as databases write it (`HIGH`, `Moderate`, `important`...) in Berth's scale. */
export function normalizeSeverityWord(word: unknown): AdvisorySeverity | undefined {
  if (typeof word !== 'string') return undefined;
  switch (word.trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
    case 'important':
      return 'high';
    case 'medium':
    case 'moderate':
      return 'medium';
    case 'low':
    case 'negligible':
    case 'unimportant':
      return 'low';
    default:
      return undefined;
  }
}
