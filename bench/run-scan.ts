/**
 * Only the scan rows of the bench (`npm run bench` runs them after the registry rows):
 * `npm run build && node --import tsx bench/run-scan.ts`. Writes bench/results/scan-latest.json.
 */
import { reportRows, runBench } from './bench-process.ts';
import type { Row } from './report.ts';
import { measureScans } from './scan.ts';

runBench(async (resources) => {
  const rows: Row[] = [];
  await measureScans(rows, resources);
  await reportRows('scan-latest.json', rows);
});
