import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { loadConfig } from '../src/config/load.ts';
import { openSqliteDatabase } from '../src/db/sqlite.ts';
import { importAdvisories } from '../src/vuln/feed-import.ts';
import { debianAdvisoryFeeds, debianBookwormImage, debianImageTag } from '../test/helpers/debian-image.ts';
import { sharedFixtures } from '../test/helpers/fixtures.ts';
import { ociManifestType, RegistryClient } from './client.ts';
import { MiB } from './data.ts';
import { measure, median, progress } from './measure.ts';
import type { Row } from './report.ts';
import { memoryOf, type Resources, startBerth } from './servers.ts';
import { settings } from './settings.ts';

const childScript = fileURLToPath(new URL('./scan-child.ts', import.meta.url));
const reportMime = 'application/vnd.security.vulnerability.report; version=1.1';

/** An image in an OCI layout, as the scan rows push and analyse it. */
interface ScanImage {
  label: string;
  layout: string;
  manifestDigest: string;
  /** Manifest, config and layers, compressed as pushed. */
  bytes: number;
}

interface ChildResult {
  seconds: number;
  packages: number;
  baselineMaxRssKiB: number;
  maxRssKiB: number;
}

/**
 * Scan rows: a real Debian bookworm image (debootstrap minbase, about 95 MB compressed) and the
 * same image with a layer of random bytes on top. For each, on a fresh Berth with the
 * advisories imported and the image pushed: the time from the scan request to the finished
 * report through the Harbor API, the server's peak RSS while scanning, and the analysis alone
 * (no database, no HTTP) in a fresh process with that process's peak RSS.
 */
export async function measureScans(rows: Row[], resources: Resources): Promise<void> {
  const { timeLimitSeconds, rssLimitBytes, randomLayerBytes } = settings.scan;
  let debian: ScanImage | undefined;
  const rowsFor = (id: string, what: string, timeTarget: Row['target']): Row[] => [
    {
      id: `${id}-seconds`,
      metric: `scan ${what}: request to report, warm DB`,
      unit: 's',
      better: 'lower',
      target: timeTarget,
    },
    {
      id: `${id}-rss`,
      metric: `scan ${what}: server peak RSS while scanning`,
      unit: 'MiB',
      better: 'lower',
      target: { kind: 'max', value: rssLimitBytes / MiB },
    },
    {
      id: `${id}-analysis-seconds`,
      metric: `scan ${what}: analysis alone, fresh process`,
      unit: 's',
      better: 'lower',
      target: { kind: 'info' },
    },
    {
      id: `${id}-analysis-rss`,
      metric: `scan ${what}: analysis alone, process peak RSS`,
      unit: 'MiB',
      better: 'lower',
      target: { kind: 'max', value: rssLimitBytes / MiB },
    },
  ];

  const debianRows = rowsFor('scan-debian', 'Debian 12 image', { kind: 'max', value: timeLimitSeconds });
  await measure(rows, debianRows, async () => {
    progress('  building or reusing the Debian bookworm image (debootstrap, cached)');
    const built = await debianBookwormImage();
    debian = {
      label: 'debian',
      layout: built.layout,
      manifestDigest: built.manifestDigest,
      bytes: built.imageBytes,
    };
    for (const row of debianRows)
      row.metric = row.metric.replace('image', `image (${mibText(debian.bytes)})`);
    await scanOnFreshBerth(resources, debian, debianRows);
  });

  const bigRows = rowsFor('scan-debian-random', `Debian 12 + ${randomLayerBytes / MiB} MiB random layer`, {
    kind: 'info',
  });
  await measure(rows, bigRows, async () => {
    if (!debian) throw new Error('no Debian image: its own row failed');
    progress(`  writing a ${randomLayerBytes / MiB} MiB layer of random bytes on top of it`);
    const big = await withRandomLayer(debian, await resources.tempDir('berth-bench-scan-'), randomLayerBytes);
    for (const row of bigRows) row.metric = row.metric.replace('layer', `layer (${mibText(big.bytes)})`);
    await scanOnFreshBerth(resources, big, bigRows);
  });
}

const mibText = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;

async function scanOnFreshBerth(resources: Resources, image: ScanImage, rows: Row[]): Promise<void> {
  const [timeRow, rssRow, analysisRow, analysisRssRow] = rows as [Row, Row, Row, Row];
  const dataDir = await resources.tempDir('berth-bench-scan-berth-');
  const server = await startBerth(resources, dataDir);
  const client = new RegistryClient(server.url, server.authorization);
  try {
    const repository = `bench/scan-${image.label}`;
    await pushLayout(client, repository, image);
    const advisories = await importBenchAdvisories(dataDir);
    const scan = () => scanThroughApi(client, repository, image.manifestDigest);
    // Untimed: the first scan reads the blobs into the page cache and warms the database.
    const packages = await scan().then((result) => result.packageCount);
    const rssBefore = memoryOf(server.pid).current;
    // Writing 5 to clear_refs resets VmHWM, so the peak read afterwards is the scans' own.
    writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
    const seconds: number[] = [];
    for (let run = 0; run < settings.scan.repetitions; run++) seconds.push((await scan()).seconds);
    const peak = memoryOf(server.pid).peak;
    timeRow.berth = median(seconds);
    timeRow.samples = { seconds, packages, advisories, imageBytes: image.bytes };
    rssRow.berth = peak / MiB;
    rssRow.samples = { peakBytes: peak, rssBeforeScansBytes: rssBefore, method: 'VmHWM after clear_refs' };
    progress(
      `  ${image.label}: ${packages} packages, ${timeRow.berth.toFixed(2)} s, server VmHWM ${mibText(peak)} ` +
        `(RSS ${mibText(rssBefore)} before)`,
    );
  } finally {
    client.close();
    await server.stop();
  }

  const runs: ChildResult[] = [];
  for (let run = 0; run < settings.scan.repetitions; run++)
    runs.push(await analyseInChild(image.layout, image.manifestDigest));
  analysisRow.berth = median(runs.map((run) => run.seconds));
  analysisRow.samples = { runs };
  analysisRssRow.berth = Math.max(...runs.map((run) => run.maxRssKiB)) / 1024;
  analysisRssRow.samples = {
    baselineMiB: median(runs.map((run) => run.baselineMaxRssKiB)) / 1024,
    method: 'VmHWM of a fresh node process, reset after start-up (node + tsx + modules included)',
  };
  progress(
    `  ${image.label}: analysis alone ${analysisRow.berth.toFixed(2)} s, peak RSS ` +
      `${analysisRssRow.berth.toFixed(0)} MiB (${(analysisRssRow.samples.baselineMiB as number).toFixed(0)} MiB before)`,
  );
}

/** Pushes the layout's image (config and layers streamed from disk) under `v1`. */
async function pushLayout(client: RegistryClient, repository: string, image: ScanImage): Promise<void> {
  const blobPath = (digest: string) => join(image.layout, 'blobs', ...digest.split(':'));
  const manifestBytes = await readFile(blobPath(image.manifestDigest));
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest)]) {
    const { size } = await stat(blobPath(digest));
    await client.pushMonolithic(repository, digest, {
      length: size,
      chunks: () => createReadStream(blobPath(digest), { highWaterMark: MiB }),
    });
  }
  await client.putManifest(repository, 'v1', manifestBytes, ociManifestType);
}

/**
 * Imports the real advisory feeds the repository has: the shared OSV fixtures and the Debian
 * bookworm feed of test/fixtures/advisories/debian*. Returns how many records the database holds.
 */
async function importBenchAdvisories(dataDir: string): Promise<number> {
  const config = loadConfig({ env: {}, flags: { data: dataDir } });
  const db = openSqliteDatabase(config.database.sqlite);
  try {
    const feeds = [
      join(sharedFixtures, 'advisories', 'npm'),
      join(sharedFixtures, 'advisories', 'debian'),
      ...debianAdvisoryFeeds(),
    ];
    for (const feed of feeds) {
      const imported = await importAdvisories(db, feed);
      if (imported.failed > 0) throw new Error(`${feed}: ${imported.errors[0]?.message}`);
    }
    return (await db.advisories.status()).advisories;
  } finally {
    await db.close();
  }
}

/** One scan through the Harbor API: POST scan, then the overview until it is done. */
async function scanThroughApi(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<{ seconds: number; packageCount: number }> {
  const [project, name] = repository.split('/') as [string, string];
  const artifact = `/api/v2.0/projects/${project}/repositories/${name}/artifacts/${digest}`;
  const started = performance.now();
  const requested = await client.request('POST', `${artifact}/scan`);
  if (requested.status !== 202) throw new Error(`scan request: ${requested.status} ${requested.body}`);
  for (;;) {
    const reply = await client.request('GET', `${artifact}?with_scan_overview=true`);
    const overview = (
      JSON.parse(reply.body.toString('utf8')) as { scan_overview?: Record<string, { scan_status: string }> }
    ).scan_overview?.[reportMime];
    if (overview?.scan_status === 'Success') break;
    if (overview && overview.scan_status !== 'Pending' && overview.scan_status !== 'Running')
      throw new Error(`the scan ended ${overview.scan_status}`);
    if (performance.now() - started > 120_000) throw new Error('the scan took over 2 minutes');
    await sleep(10);
  }
  const seconds = (performance.now() - started) / 1000;
  const report = await client.request('GET', `${artifact}/additions/vulnerabilities`);
  const body = JSON.parse(report.body.toString('utf8')) as Record<string, { package_count: number }>;
  return { seconds, packageCount: body[reportMime]!.package_count };
}

function analyseInChild(layout: string, digest: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', childScript, layout, digest],
      { maxBuffer: 16 * MiB },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`analysis child failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as ChildResult);
      },
    );
  });
}

/**
 * The image with one more layer on top: `bytes` of random content in 8 files, gzip-compressed
 * (random bytes do not compress, so the blob is as big). Written to a new layout in `dir`; the
 * base's blobs are hard-linked, not copied.
 */
async function withRandomLayer(base: ScanImage, dir: string, bytes: number): Promise<ScanImage> {
  const layout = join(dir, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const baseBlob = (digest: string) => join(base.layout, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse((await readFile(baseBlob(base.manifestDigest))).toString('utf8')) as {
    config: { digest: string; size: number; mediaType: string };
    layers: { digest: string; size: number; mediaType: string }[];
  };
  for (const layer of manifest.layers) {
    const target = join(layout, 'blobs', ...layer.digest.split(':'));
    await link(baseBlob(layer.digest), target).catch(() => copyFile(baseBlob(layer.digest), target));
  }

  const diffId = createHash('sha256');
  const digest = createHash('sha256');
  const hashing = (hash: ReturnType<typeof createHash>) =>
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
  const pending = join(dir, 'layer.tar.gz');
  const pack = tarStream.pack();
  const written = pipeline(
    pack,
    hashing(diffId),
    createGzip({ level: 1 }),
    hashing(digest),
    createWriteStream(pending),
  );
  const files = 8;
  for (let index = 0; index < files; index++) {
    const size = Math.floor(bytes / files);
    const entry = pack.entry({ name: `opt/random/part-${index}.bin`, size });
    for (let offset = 0; offset < size; offset += MiB) {
      const chunk = randomBytes(Math.min(MiB, size - offset));
      if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) =>
      entry.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  await written;
  const layerDigest = `sha256:${digest.digest('hex')}`;
  const layerSize = (await stat(pending)).size;
  await link(pending, join(layout, 'blobs', ...layerDigest.split(':')));

  const config = JSON.parse((await readFile(baseBlob(manifest.config.digest))).toString('utf8')) as {
    rootfs: { diff_ids: string[] };
    history?: unknown[];
  };
  config.rootfs.diff_ids.push(`sha256:${diffId.digest('hex')}`);
  config.history?.push({ created_by: `berth bench: ${bytes / MiB} MiB of random bytes` });
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  await writeFile(join(layout, 'blobs', ...configDigest.split(':')), configBytes);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      ...manifest,
      config: { ...manifest.config, digest: configDigest, size: configBytes.length },
      layers: [
        ...manifest.layers,
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layerSize },
      ],
    }),
  );
  const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  await writeFile(join(layout, 'blobs', ...manifestDigest.split(':')), manifestBytes);
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: ociManifestType,
          digest: manifestDigest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': debianImageTag },
        },
      ],
    }),
  );
  const bytesTotal =
    manifest.layers.reduce((sum, layer) => sum + layer.size, 0) +
    layerSize +
    configBytes.length +
    manifestBytes.length;
  return { label: 'debian-random', layout, manifestDigest, bytes: bytesTotal };
}
