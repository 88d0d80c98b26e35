import { execFile } from 'node:child_process';
import { RegistryClient } from './client.ts';
import { generatedBlob, MiB } from './data.ts';
import type { LoadResult, LoadSpec, LoadTool } from './load.ts';
import type { Row } from './report.ts';
import { pushStreamed } from './scenarios.ts';
import { memoryOf, type RegistryProcess, type Resources } from './servers.ts';
import { settings } from './settings.ts';

/** One registry under test: its process and the client that drives it. */
export interface Subject {
  name: 'berth' | 'distribution';
  server: RegistryProcess;
  client: RegistryClient;
}
export type PerSubject<T> = Record<Subject['name'], T>;

const began = performance.now();

/** Seconds since the bench started. */
export function elapsedSeconds(): number {
  return (performance.now() - began) / 1000;
}

/** A progress line on stderr, so that stdout holds only the report. */
export function progress(message: string) {
  process.stderr.write(`[${elapsedSeconds().toFixed(0).padStart(3)}s] ${message}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Both subjects, Berth first on even repetitions and distribution first on odd ones. */
export function inTurn(subjects: readonly Subject[], repetition: number): Subject[] {
  return repetition % 2 === 0 ? [...subjects] : [...subjects].reverse();
}

/**
 * Runs one measurement; on failure the rows it would have filled carry the error, and the bench
 * goes on with the next one.
 */
export async function measure(rows: Row[], templates: Row[], run: () => Promise<void>): Promise<void> {
  progress(templates[0]!.metric);
  try {
    await run();
  } catch (error) {
    for (const template of templates) template.error = (error as Error).message.split('\n')[0];
    progress(`  failed: ${(error as Error).message}`);
  }
  rows.push(...templates);
}

/**
 * Writes every dirty page in the machine to disk. Run before each timed sample so one
 * registry's unflushed writes (distribution never fsyncs) are not charged to the next run.
 */
function flushDirtyPages(): Promise<void> {
  return new Promise((resolve, reject) => execFile('sync', (error) => (error ? reject(error) : resolve())));
}

/**
 * `repetitions` runs per subject, interleaved, each after a `sync`; the row gets the median rate
 * in `unit`/s.
 */
export async function rate(
  subjects: Subject[],
  row: Row,
  amount: number,
  run: (subject: Subject) => Promise<number>,
): Promise<void> {
  const samples: PerSubject<number[]> = { berth: [], distribution: [] };
  for (let repetition = 0; repetition < settings.repetitions; repetition++) {
    for (const subject of inTurn(subjects, repetition)) {
      await flushDirtyPages();
      samples[subject.name].push(amount / (await run(subject)));
    }
  }
  row.berth = median(samples.berth);
  row.distribution = median(samples.distribution);
  row.samples = samples;
  progress(`  berth ${row.berth.toFixed(1)}, distribution ${row.distribution.toFixed(1)} ${row.unit}`);
}

/** Closed-loop load on each subject: a warm-up, then interleaved runs; medians of rate and p99. */
export async function load(
  subjects: Subject[],
  tool: LoadTool,
  rpsRow: Row,
  p99Row: Row,
  spec: (subject: Subject) => Omit<LoadSpec, 'connections' | 'seconds'>,
): Promise<void> {
  const { connections, warmupSeconds, runSeconds } = settings.load;
  const runs: PerSubject<LoadResult[]> = { berth: [], distribution: [] };
  for (const subject of subjects) await tool({ ...spec(subject), connections, seconds: warmupSeconds });
  for (let repetition = 0; repetition < settings.repetitions; repetition++) {
    for (const subject of inTurn(subjects, repetition)) {
      const result = await tool({ ...spec(subject), connections, seconds: runSeconds });
      if (result.errors > 0) throw new Error(`${subject.name}: ${result.errors} failed requests`);
      runs[subject.name].push(result);
    }
  }
  for (const name of ['berth', 'distribution'] as const) {
    rpsRow[name] = median(runs[name].map((run) => run.rps));
    p99Row[name] = median(runs[name].map((run) => run.p99Ms));
  }
  rpsRow.samples = { tool: runs.berth[0]?.tool, runs };
  progress(`  berth ${rpsRow.berth?.toFixed(0)}, distribution ${rpsRow.distribution?.toFixed(0)} req/s`);
}

/** One way of calling the same endpoint of Berth (anonymous, Basic, Bearer). */
export interface LoadVariant {
  label: string;
  rpsRow: Row;
  /** The request to load with; asked afresh before every run (tokens expire). */
  spec: () => Promise<Omit<LoadSpec, 'connections' | 'seconds'>>;
}

/**
 * The same endpoint of Berth loaded several ways, interleaved run by run so that drift on a
 * noisy machine hits every variant alike; each row gets the median req/s of its variant.
 */
export async function loadVariants(tool: LoadTool, variants: readonly LoadVariant[]): Promise<void> {
  const { connections, warmupSeconds, runSeconds } = settings.load;
  const runs = new Map<string, LoadResult[]>(variants.map((variant) => [variant.label, []]));
  for (const variant of variants)
    await tool({ ...(await variant.spec()), connections, seconds: warmupSeconds });
  for (let repetition = 0; repetition < settings.variantRepetitions; repetition++) {
    const order = repetition % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      const result = await tool({ ...(await variant.spec()), connections, seconds: runSeconds });
      if (result.errors > 0) throw new Error(`${variant.label}: ${result.errors} failed requests`);
      runs.get(variant.label)!.push(result);
    }
  }
  for (const variant of variants) {
    const results = runs.get(variant.label)!;
    // Every variant's median is over the same interleaved rounds.
    variant.rpsRow.berth = median(results.map((run) => run.rps));
    variant.rpsRow.samples = { tool: results[0]?.tool, runs: results };
  }
  progress(`  ${variants.map((v) => `${v.label} ${v.rpsRow.berth?.toFixed(0)}`).join(', ')} req/s`);
}

/** A fresh registry process pushed one streamed 1 GiB blob; its VmHWM afterwards. */
export async function pushHuge(
  resources: Resources,
  start: (resources: Resources, dir: string) => Promise<RegistryProcess>,
) {
  const server = await start(resources, await resources.tempDir('berth-bench-huge-'));
  const client = new RegistryClient(server.url, server.authorization);
  try {
    const blob = generatedBlob(settings.hugeBlobBytes);
    const before = memoryOf(server.pid);
    const seconds = await pushStreamed(client, 'bench/huge', blob);
    const after = memoryOf(server.pid);
    return {
      peak: after.peak,
      rssBefore: before.current,
      seconds,
      mibPerSecond: settings.hugeBlobBytes / MiB / seconds,
    };
  } finally {
    client.close();
    await server.stop();
  }
}
