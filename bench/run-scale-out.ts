/**
 * Only the scale-out rows of the bench (2 nodes vs 1, S3 vs filesystem; `npm run bench` runs them
 * after the registry rows): `npm run build && node --import tsx bench/run-scale-out.ts`. Writes
 * bench/results/scale-out-latest.json.
 */
import { reportRows, runBench } from './bench-process.ts';
import { wrkTool } from './load.ts';
import type { Row } from './report.ts';
import { measureScaleOut } from './scale-out.ts';
import { measureStorageBackends } from './storage-backends.ts';

runBench(async (resources) => {
  const rows: Row[] = [];
  const work = await resources.tempDir('berth-bench-');
  await measureScaleOut(rows, resources, wrkTool(resources, 1, work));
  await measureStorageBackends(rows, resources);
  await reportRows('scale-out-latest.json', rows);
});
