/**
 * Only the scale-out rows of the bench (2 nodes vs 1, S3 vs filesystem) (`npm run bench` runs them after the registry rows):
 * `npm run build && node --import tsx bench/run-scale-out.ts`. Writes bench/results/scale-out-latest.json.
 */
import { fileURLToPath } from 'node:url';
import { wrkTool } from './load.ts';
import { elapsedSeconds, progress } from './measure.ts';
import { formatTable, type Row, writeJson } from './report.ts';
import { measureScaleOut } from './scale-out.ts';
import { Resources } from './servers.ts';
import { settings } from './settings.ts';
import { measureStorageBackends } from './storage-backends.ts';

const resultsPath = fileURLToPath(new URL('./results/scale-out-latest.json', import.meta.url));

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
  const work = await resources.tempDir('berth-bench-');
  await measureScaleOut(rows, resources, wrkTool(resources, 1, work));
  await measureStorageBackends(rows, resources);
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
