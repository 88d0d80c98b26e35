import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { layoutTagDigest, readLayoutBlob } from './oci-layout.ts';
import { missingTools, run } from './tools.ts';

/** Where Debian's packages come from: the only apt mirror this machine reaches. */
export const debianMirror = 'http://deb.debian.org/debian';
export const debianSuite = 'bookworm';
export const debianImageTag = 'bookworm';

/** One line of `dpkg-query -W` over the image's dpkg database. */
export interface DpkgQueryEntry {
  name: string;
  version: string;
  sourceName: string;
  sourceVersion: string;
}

export interface DebianImage {
  /** An OCI image layout holding the image under `debianImageTag`. */
  layout: string;
  manifestDigest: string;
  /** dpkg-query's own listing of the installed packages: the expected set, independent of Berth. */
  packages: DpkgQueryEntry[];
  /** The mirror's Release file date this build was keyed by. */
  releaseDate: string;
  /** How long debootstrap and umoci took, when this image was built (not when it was reused). */
  buildSeconds: number;
  /** Compressed bytes of the layer, and the whole image (manifest, config and layer). */
  layerBytes: number;
  imageBytes: number;
}

const cacheRoot = (): string =>
  join(process.env.BERTH_TEST_CACHE ?? join(tmpdir(), 'berth-test-cache'), 'debian-bookworm-minbase');
const metadataFile = 'image.json';
/** No build takes this long; a lock older than this was left by a killed process. */
const staleLockMs = 30 * 60_000;

/** The tools building the image needs; for `describe(…, { skip: debianImageToolsMissing() })`. */
export const debianImageToolsMissing = (): string | false =>
  missingTools('debootstrap', 'umoci', 'dpkg-query');

/**
 * A real Debian bookworm `minbase` image, built with debootstrap from deb.debian.org and packed
 * with umoci, once per mirror update: builds are cached by the date of the mirror's Release
 * file, so every test and the bench on this machine reuse one image. When the mirror cannot be
 * reached, the newest cached build is used.
 */
export async function debianBookwormImage(): Promise<DebianImage> {
  const root = cacheRoot();
  await mkdir(root, { recursive: true });
  const releaseDate = await mirrorReleaseDate().catch(async (error: unknown) => {
    const cached = await newestCachedKey(root);
    if (!cached) throw new Error(`no cached Debian image and the mirror is unreachable: ${error}`);
    return cached;
  });
  const key = cacheKey(releaseDate);
  const dir = join(root, key);
  const lock = join(root, `${key}.lock`);
  for (;;) {
    const ready = await readMetadata(dir);
    if (ready) return ready;
    if (await takeLock(lock)) break;
    await sleep(1000);
  }
  try {
    const ready = await readMetadata(dir);
    if (ready) return ready;
    return await build(dir, releaseDate);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function mirrorReleaseDate(): Promise<string> {
  const response = await fetch(`${debianMirror}/dists/${debianSuite}/Release`, {
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok) throw new Error(`Release file: HTTP ${response.status}`);
  const date = /^Date:\s*(.+)$/m.exec(await response.text())?.[1];
  if (!date || Number.isNaN(Date.parse(date))) throw new Error('Release file has no Date');
  return new Date(date).toISOString();
}

/** `2026-11-28T20:11:05.000Z` → `20261128T201105Z`: sortable and safe as a directory name. */
const cacheKey = (releaseDate: string): string => releaseDate.replace(/[-:]|\.\d+/g, '');

async function newestCachedKey(root: string): Promise<string | undefined> {
  const keys = (await readdir(root)).filter((name) => /^\d{8}T\d{6}Z$/.test(name)).sort();
  for (const key of keys.reverse()) {
    const ready = await readMetadata(join(root, key));
    if (ready) return ready.releaseDate;
  }
  return undefined;
}

async function readMetadata(dir: string): Promise<DebianImage | undefined> {
  try {
    const saved = JSON.parse(await readFile(join(dir, metadataFile), 'utf8')) as DebianImage;
    return { ...saved, layout: join(dir, 'layout') };
  } catch {
    return undefined;
  }
}

/** A lock directory: atomic to create; taken over when its owner died or it is too old. */
async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
  } catch {
    const owner = Number.parseInt(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''), 10);
    const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if ((owner > 0 && isAlive(owner)) || (!(owner > 0) && age < 10_000)) {
      if (age < staleLockMs) return false;
    }
    await rm(lock, { recursive: true, force: true });
    return takeLock(lock);
  }
  await writeFile(join(lock, 'pid'), String(process.pid));
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function build(dir: string, releaseDate: string): Promise<DebianImage> {
  const reason = debianImageToolsMissing();
  if (reason) throw new Error(`cannot build the Debian image: ${reason}`);
  if (process.getuid?.() !== 0) throw new Error('building the Debian image needs root (debootstrap)');
  const work = `${dir}.build`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const layout = join(work, 'layout');
  const bundle = join(work, 'bundle');
  const image = `${layout}:${debianImageTag}`;
  const started = performance.now();
  // An empty image unpacked into a bundle; debootstrap fills its rootfs; repack turns the whole
  // tree into one layer, the way a `FROM scratch` + `ADD rootfs.tar` Dockerfile would.
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', image]);
  await run('umoci', ['unpack', '--image', image, bundle]);
  const rootfs = join(bundle, 'rootfs');
  await run('debootstrap', ['--variant=minbase', debianSuite, rootfs, debianMirror], {
    timeoutMs: 20 * 60_000,
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  const packages = await dpkgQuery(join(rootfs, 'var', 'lib', 'dpkg'));
  await run('umoci', ['repack', '--image', image, bundle], { timeoutMs: 10 * 60_000 });
  await run('umoci', [
    'config',
    '--image',
    image,
    '--os',
    'linux',
    '--architecture',
    'amd64',
    '--config.cmd',
    '/bin/bash',
  ]);
  await run('umoci', ['gc', '--layout', layout]);
  const buildSeconds = (performance.now() - started) / 1000;
  await rm(bundle, { recursive: true, force: true });

  const manifestDigest = await layoutTagDigest(layout, debianImageTag);
  const manifestBytes = await readLayoutBlob(layout, manifestDigest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
    config: { size: number };
    layers: { size: number }[];
  };
  const layerBytes = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  const metadata: Omit<DebianImage, 'layout'> = {
    manifestDigest,
    packages,
    releaseDate,
    buildSeconds,
    layerBytes,
    imageBytes: layerBytes + manifest.config.size + manifestBytes.length,
  };
  await writeFile(join(work, metadataFile), `${JSON.stringify(metadata, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  return { ...metadata, layout: join(dir, 'layout') };
}

/** The installed packages as dpkg itself reports them, sorted by name and version. */
export async function dpkgQuery(adminDir: string): Promise<DpkgQueryEntry[]> {
  if (!existsSync(join(adminDir, 'status'))) throw new Error(`no dpkg status file in ${adminDir}`);
  const { stdout } = await run('dpkg-query', [
    '--admindir',
    adminDir,
    '-W',
    '-f',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
    '${db:Status-Status} ${Package} ${Version} ${source:Package} ${source:Version}\n',
  ]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([status]) => status === 'installed')
    .map(([, name, version, sourceName, sourceVersion]) => ({
      name: name!,
      version: version!,
      sourceName: sourceName!,
      sourceVersion: sourceVersion!,
    }))
    .sort((a, b) => `${a.name} ${a.version}`.localeCompare(`${b.name} ${b.version}`));
}

/** A short fingerprint of a package listing, for messages. */
export const listingHash = (packages: readonly DpkgQueryEntry[]): string =>
  createHash('sha256')
    .update(packages.map((pkg) => `${pkg.name} ${pkg.version}`).join('\n'))
    .digest('hex')
    .slice(0, 12);

/**
 * Real Debian advisory feeds for bookworm, when there are any: the JSON files (a tracker dump or
 * OSV records) of test/fixtures/advisories/debian*, a file or the top of a directory.
 */
export function debianAdvisoryFeeds(): string[] {
  const dir = fileURLToPath(new URL('../fixtures/advisories/', import.meta.url));
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((entry) => entry.startsWith('debian'))
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (!statSync(path).isDirectory()) return path.endsWith('.json') ? [path] : [];
      return readdirSync(path)
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => join(path, name));
    });
}
