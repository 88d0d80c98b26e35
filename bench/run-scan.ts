/**
 * Only the scan rows of the bench (`npm run bench` runs them after the registry rows):
 * `npm run build && node --import tsx bench/run-scan.ts`. Writes bench/results/scan-latest.json.
 */
import { fileURLToPath } from 'node:url';
import { elapsedSeconds, progress } from './measure.ts';
import { formatTable, type Row, writeJson } from './report.ts';
import { measureScans } from './scan.ts';
import { Resources } from './servers.ts';
import { settings } from './settings.ts';

const resultsPath = fileURLToPath(new URL('./results/scan-latest.json', import.meta.url));

async function main(): Promise<void> {
  const resources = new Resources();
  process.once('exit', () => resources.disposeSync());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      resources.disposeSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  const rows: Row[] = [];
  await measureScans(rows, resources);
  process.stdout.write(`\n${formatTable(rows)}\n`);
  await writeJson(
    resultsPath,
    { date: new Date().toISOString(), elapsedSeconds: elapsedSeconds(), settings },
    rows,
  );
  process.stdout.write(`results: ${resultsPath}\n`);
  progress('removing temp data');
  await resources.dispose();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
