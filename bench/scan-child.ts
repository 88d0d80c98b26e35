/**
 * Runs Berth's image analysis alone (layer walk, OS detection, package databases; no advisory
 * lookups, no HTTP) over an OCI layout's image in this fresh process, and prints on stdout as
 * JSON how long it took and the process's peak RSS before and after.
 * Usage: node --import tsx bench/scan-child.ts <layout> <manifest digest>
 */
import { createReadStream } from 'node:fs';
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
// maxRSS is in KiB: the peak so far, so this is what node, tsx and the loaded modules cost.
const baselineMaxRssKiB = process.resourceUsage().maxRSS;
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
    maxRssKiB: process.resourceUsage().maxRSS,
  })}\n`,
);
