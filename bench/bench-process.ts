import { fileURLToPath } from 'node:url';
import { elapsedSeconds, progress } from './measure.ts';
import { formatTable, type Row, writeJson } from './report.ts';
import { Resources } from './servers.ts';
import { settings } from './settings.ts';

/**
 * Runs a bench entry point: its registries, nodes and temp data are removed however it ends
 * (done, failed, SIGINT/SIGTERM), and the process exits 0 only when `body` succeeded.
 */
export function runBench(body: (resources: Resources) => Promise<void>): void {
  const resources = new Resources();
  process.once('exit', () => resources.disposeSync());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping registries and removing temp data\n`);
      resources.disposeSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  body(resources)
    .then(async () => {
      progress('removing temp data');
      await resources.dispose();
      progress('done');
    })
    .then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
}

/** Prints the rows of a partial run and writes them to `bench/results/<name>`. */
export async function reportRows(name: string, rows: Row[]): Promise<void> {
  const resultsPath = fileURLToPath(new URL(`./results/${name}`, import.meta.url));
  process.stdout.write(`\n${formatTable(rows)}\n`);
  await writeJson(
    resultsPath,
    { date: new Date().toISOString(), elapsedSeconds: elapsedSeconds(), settings },
    rows,
  );
  process.stdout.write(`results: ${resultsPath}\n`);
}
