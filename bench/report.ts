import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What a row is judged by: a minimum ratio (Berth against distribution, oriented so that higher
 * is better for Berth), a ceiling on Berth's own value, or nothing (reported for information).
 */
export type Target =
  | { kind: 'ratio'; min: number }
  | { kind: 'max'; value: number }
  | { kind: 'info' }
  /** Berth against Berth: this row's value over `baseline` (another way of doing the same); no `min`: reported only. */
  | { kind: 'fraction'; of: string; min?: number };

export interface Row {
  id: string;
  metric: string;
  unit: string;
  /** `higher`: bigger values are better (throughput); `lower`: smaller are (latency, memory). */
  better: 'higher' | 'lower';
  berth?: number;
  distribution?: number;
  target: Target;
  /** The individual measurements behind each value, or any detail worth keeping. */
  samples?: Record<string, unknown>;
  error?: string;
  /** For `fraction` targets: the value this row is compared with. */
  baseline?: number;
}

export type Verdict = 'PASS' | 'FAIL' | 'ERROR' | '-';

/** Berth against distribution, > 1 when Berth is better: b/d for throughput, d/b for latency. */
export function ratioOf(row: Row): number | undefined {
  if (row.target.kind === 'fraction') {
    if (row.berth === undefined || row.baseline === undefined) return undefined;
    return row.better === 'higher' ? row.berth / row.baseline : row.baseline / row.berth;
  }
  if (row.berth === undefined || row.distribution === undefined) return undefined;
  return row.better === 'higher' ? row.berth / row.distribution : row.distribution / row.berth;
}

export function verdictOf(row: Row): Verdict {
  if (row.error !== undefined) return 'ERROR';
  const target = row.target;
  if (target.kind === 'info') return '-';
  if (target.kind === 'max') {
    if (row.berth === undefined) return 'ERROR';
    return row.berth <= target.value ? 'PASS' : 'FAIL';
  }
  const ratio = ratioOf(row);
  if (ratio === undefined) return 'ERROR';
  if (target.min === undefined) return '-';
  return ratio >= target.min ? 'PASS' : 'FAIL';
}

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return 'n/a';
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function formatTarget(row: Row): string {
  const target = row.target;
  if (target.kind === 'info') return '(info)';
  if (target.kind === 'max') return `Berth <= ${formatValue(target.value, row.unit)}`;
  if (target.kind === 'fraction')
    return target.min === undefined
      ? `(info) of ${target.of}`
      : `>= ${target.min.toFixed(1)} of ${target.of}`;
  return `ratio >= ${target.min.toFixed(1)}`;
}

/** The results as a plain-text table, one line per row, errors listed underneath. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['metric', 'Berth', 'distribution', 'ratio', 'target', 'result'];
  const lines = rows.map((row) => {
    const ratio = ratioOf(row);
    return [
      row.metric,
      formatValue(row.berth, row.unit),
      (row.target.kind === 'max' || row.target.kind === 'fraction') && row.distribution === undefined
        ? '-'
        : formatValue(row.distribution, row.unit),
      ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
      formatTarget(row),
      verdictOf(row),
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]!.length)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  const out = [render(header), rule, ...lines.map(render), rule];
  const verdicts = rows.map(verdictOf);
  const count = (verdict: Verdict) => verdicts.filter((each) => each === verdict).length;
  out.push(`${count('PASS')} pass, ${count('FAIL')} fail, ${count('ERROR')} error`);
  for (const row of rows) if (row.error !== undefined) out.push(`error in "${row.metric}": ${row.error}`);
  return out.join('\n');
}

/** Writes the run's rows, with ratio and verdict, and its context as JSON. */
export async function writeJson(path: string, context: Record<string, unknown>, rows: readonly Row[]) {
  const results = rows.map((row) => ({ ...row, ratio: ratioOf(row), verdict: verdictOf(row) }));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify({ ...context, results }, null, 2)}\n`);
}
