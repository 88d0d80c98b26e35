import type { ParsedManifest } from '../oci/manifest.ts';
import { parseApkInstalled } from './apk.ts';
import { streamDetectors } from './binary/index.ts';
import { type DebianDistro, parseDpkgStatus } from './dpkg.ts';
import type { FileView } from './file-view.ts';
import { fileDetectors } from './lang/index.ts';
import { type LanguageDetectors, languagePackagesOfImage } from './language-image.ts';
import type { LanguageEcosystem } from './language-package.ts';
import {
  defaultWalkLimits,
  type FileSelection,
  type LayerView,
  type OpenBlob,
  type WalkLimits,
  walkLayers,
} from './layer-walker.ts';
import { NpmFileSelection, npmInstalledDetector, npmLockfileDetector } from './npm.ts';
import type { OsPackage } from './os-package.ts';
import { type DetectedOs, osFamily, parseOsRelease } from './os-release.ts';
import { maxRpmDatabaseBytes, parseRpmDatabase, rpmDatabasePaths } from './rpm.ts';
import { ScanError } from './scan-error.ts';
import { isWantedFile, packageDatabasePaths } from './wanted-files.ts';

export interface ScannedPackage extends OsPackage {
  /** The OS package manager, or the OSV ecosystem of a language package. */
  type: 'apk' | 'deb' | 'rpm' | LanguageEcosystem;
  /** The layer whose copy of the package database first listed this name and version. */
  layerDigest: string;
  /** The package database the package was read from, as an absolute image path. */
  dbPath: string;
  /** Language packages: the directory the package is (or would be) installed in. */
  installPath?: string;
}

export interface ImageAnalysis {
  os?: DetectedOs;
  packages: ScannedPackage[];
  /** What the scanner saw but did not read, in words for the report. */
  notes: string[];
}

const isRpmDatabase = (path: string): boolean => (rpmDatabasePaths as readonly string[]).includes(path);

export const languageDetectors: LanguageDetectors = {
  files: [npmLockfileDetector, npmInstalledDetector, ...fileDetectors],
  streams: streamDetectors,
};

/** Detects the OS, OS packages and language packages of one image (not an index). */
export async function analyzeImage(
  manifest: ParsedManifest,
  openBlob: OpenBlob,
  limits: WalkLimits = defaultWalkLimits,
  detectors: LanguageDetectors = languageDetectors,
): Promise<ImageAnalysis> {
  if (manifest.kind !== 'image')
    throw new ScanError('an image index has no layers; scan one of its manifests');
  const npmFiles = new NpmFileSelection();
  const selection: FileSelection = {
    capture(path) {
      if (isWantedFile(path)) return limits.maxFileBytes;
      if (isRpmDatabase(path)) return maxRpmDatabaseBytes;
      const detector = detectors.files.find((candidate) => candidate.matches(path));
      if (!detector) return undefined;
      if (detector.name.startsWith('npm-') && !npmFiles.wants(path)) return undefined;
      return detector.maxBytes;
    },
    extractor: (path, size, mode) =>
      detectors.streams.find((candidate) => candidate.matches(path, size, mode)),
  };
  const walk = await walkLayers(manifest.layers, openBlob, selection, limits);
  const notes = [...walk.notes];
  const npmNote = npmFiles.note();
  if (npmNote) notes.push(npmNote);
  const os = detectOs(walk.files);
  if (!os) notes.push('no /etc/os-release or /usr/lib/os-release: operating system unknown');
  const packages: ScannedPackage[] = [];
  if (walk.files.has(packageDatabasePaths.apk)) {
    const parse = (content: Buffer) => parseApkInstalled(content.toString('utf8'), os?.versionId);
    packages.push(...withIntroducingLayer(walk.layers, packageDatabasePaths.apk, 'apk', parse));
  }
  const distro = debianDistro(os);
  for (const path of walk.files.keys()) {
    if (path === packageDatabasePaths.dpkg || path.startsWith(`${packageDatabasePaths.dpkgStatusDir}/`)) {
      const requireStatus = path === packageDatabasePaths.dpkg;
      const parse = (content: Buffer) => parseDpkgStatus(content.toString('utf8'), distro, requireStatus);
      packages.push(...withIntroducingLayer(walk.layers, path, 'deb', parse));
    }
  }
  const rpmPath = rpmDatabasePaths.find((path) => walk.files.has(path));
  if (rpmPath) {
    const rpmNotes = new Set<string>();
    const parse = (content: Buffer) => {
      const contents = parseRpmDatabase(content, os, `/${rpmPath}`);
      for (const note of contents.notes) rpmNotes.add(note);
      return contents.packages;
    };
    packages.push(...withIntroducingLayer(walk.layers, rpmPath, 'rpm', parse));
    notes.push(...rpmNotes);
  } else if (os && ['rhel-like', 'amzn', 'suse'].includes(os.family)) {
    notes.push(`${os.prettyName ?? os.id}: no rpm database found, so its rpm packages are not listed`);
  }
  for (const [path, file] of walk.files) {
    if (file.detector === undefined) continue;
    const detector = detectors.streams.find((candidate) => candidate.name === file.detector);
    for (const note of detector?.notes?.(file.content) ?? []) notes.push(`/${path}: ${note}`);
  }
  for (const pkg of languagePackagesOfImage(walk.layers, detectors)) {
    const { ecosystem, name, version, purl, layerDigest, filePath, path } = pkg;
    packages.push({
      name,
      version,
      sourceName: name,
      sourceVersion: version,
      purl,
      type: ecosystem,
      layerDigest,
      dbPath: filePath,
      installPath: path,
    });
  }
  return { ...(os ? { os } : {}), packages, notes };
}

function detectOs(files: FileView): DetectedOs | undefined {
  const file = files.get('etc/os-release') ?? files.get('usr/lib/os-release');
  const release = file ? parseOsRelease(file.content.toString('utf8')) : undefined;
  const hasStatusDir = [...files.keys()].some((path) =>
    path.startsWith(`${packageDatabasePaths.dpkgStatusDir}/`),
  );
  // Google's distroless images keep dpkg records only as per-package files in status.d.
  if (hasStatusDir && !files.has(packageDatabasePaths.dpkg)) {
    return { ...(release ?? { id: 'debian', idLike: [] }), family: 'distroless' };
  }
  return release ? { ...release, family: osFamily(release) } : undefined;
}

function debianDistro(os: DetectedOs | undefined): DebianDistro {
  const namespace = os?.id === 'ubuntu' ? 'ubuntu' : 'debian';
  return os?.versionId ? { namespace, versionId: os.versionId } : { namespace };
}

const packageKey = (pkg: OsPackage): string => `${pkg.name}\u0000${pkg.version}\u0000${pkg.arch ?? ''}`;

/**
 * Replays the database file layer by layer: a package is introduced by the layer after which it
 * stayed listed with the same version (a later upgrade or reinstall moves it to that layer).
 */
function withIntroducingLayer(
  layers: readonly LayerView[],
  path: string,
  type: ScannedPackage['type'],
  parse: (content: Buffer) => OsPackage[],
): ScannedPackage[] {
  const introducedBy = new Map<string, string>();
  let lastContent: Buffer | undefined;
  let current: OsPackage[] = [];
  for (const layer of layers) {
    const file = layer.files.get(path);
    if (file?.content === lastContent) continue;
    lastContent = file?.content;
    current = file ? parse(file.content) : [];
    const listed = new Set(current.map(packageKey));
    for (const key of [...introducedBy.keys()]) if (!listed.has(key)) introducedBy.delete(key);
    for (const key of listed) if (!introducedBy.has(key)) introducedBy.set(key, layer.digest);
  }
  return current.map((pkg) => ({
    ...pkg,
    type,
    layerDigest: introducedBy.get(packageKey(pkg))!,
    dbPath: `/${path}`,
  }));
}
