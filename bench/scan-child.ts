/**
 * Runs Berth's image analysis alone (layer walk, OS detection, package databases; no advisory
 * lookups, no HTTP) over an OCI layout's image in this fresh process, and prints on stdout as
 * JSON how long it took and the process's peak RSS before and after.
 * Usage: node --import tsx bench/scan-child.ts <layout> <manifest digest>
 */
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest } from '../src/oci/manifest.ts';
import { analyzeImage } from '../src/scan/analyze.ts';

const [layout, digest] = process.argv.slice(2);
if (!layout || !digest) throw new Error('usage: scan-child.ts <layout> <manifest digest>');
const blobPath = (blob: string): string => join(layout, 'blobs', ...blob.split(':'));

const manifest = parseManifest(
  await readFile(blobPath(digest)),
  'application/vnd.oci.image.manifest.v1+json',
);
/**
 * The process's peak RSS in KiB (VmHWM). Not getrusage's maxRSS: Linux keeps that across
 * fork and exec, so a child would report its parent's peak.
 */
const peakRssKiB = (): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
// Writing 5 to clear_refs resets VmHWM to the current RSS: what node, tsx and the modules cost.
writeFileSync('/proc/self/clear_refs', '5');
const baselineMaxRssKiB = peakRssKiB();
const started = performance.now();
const analysis = await analyzeImage(manifest, (blob) => createReadStream(blobPath(blob)));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({
    seconds,
    packages: analysis.packages.length,
    os: analysis.os ? `${analysis.os.id} ${analysis.os.versionId}` : null,
    notes: analysis.notes,
    baselineMaxRssKiB,
    maxRssKiB: peakRssKiB(),
  })}\n`,
);
