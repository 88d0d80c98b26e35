import type { FileDetector, LanguagePackage, StreamDetector } from './language-package.ts';
import type { LayerView } from './layer-walker.ts';

export interface LayeredLanguagePackage extends LanguagePackage {
  /** The layer whose copy of the file first listed this package at this path. */
  layerDigest: string;
  /** The file it was read from, as an absolute image path. */
  filePath: string;
}

export interface LanguageDetectors {
  files: readonly FileDetector[];
  streams: readonly StreamDetector[];
}

type Parse = (content: Buffer) => LanguagePackage[];

const keyOf = (pkg: LanguagePackage): string =>
  `${pkg.ecosystem}\u0000${pkg.name}\u0000${pkg.version}\u0000${pkg.path}`;

/**
 * Language packages of the image's final file system, each credited to the layer after which
 * its file kept listing it (the rule OS packages follow). A package found by two files at the
 * same path (a lockfile and the installed copy) is listed once, with the earlier layer.
 */
export function languagePackagesOfImage(
  layers: readonly LayerView[],
  detectors: LanguageDetectors,
): LayeredLanguagePackage[] {
  const final = layers.at(-1)?.files;
  if (!final) return [];
  const found = new Map<string, { pkg: LayeredLanguagePackage; layerIndex: number }>();
  for (const [path, file] of [...final].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const parse = parserFor(path, file.detector, detectors);
    if (!parse) continue;
    for (const entry of replay(layers, path, parse)) {
      const key = keyOf(entry.pkg);
      const known = found.get(key);
      if (!known || entry.layerIndex < known.layerIndex) found.set(key, entry);
    }
  }
  return [...found.values()].map((entry) => entry.pkg);
}

function parserFor(
  path: string,
  detectorName: string | undefined,
  detectors: LanguageDetectors,
): Parse | undefined {
  if (detectorName !== undefined) {
    const detector = detectors.streams.find((candidate) => candidate.name === detectorName);
    return detector && ((summary) => detector.parse(summary, path));
  }
  const detector = detectors.files.find((candidate) => candidate.matches(path));
  return detector && ((content) => detector.parse(content, path));
}

function replay(
  layers: readonly LayerView[],
  path: string,
  parse: Parse,
): { pkg: LayeredLanguagePackage; layerIndex: number }[] {
  const introducedAt = new Map<string, number>();
  let lastContent: Buffer | undefined;
  let current: LanguagePackage[] = [];
  layers.forEach((layer, index) => {
    const file = layer.files.get(path);
    if (file?.content === lastContent) return;
    lastContent = file?.content;
    current = file ? parse(file.content) : [];
    const listed = new Set(current.map(keyOf));
    for (const key of [...introducedAt.keys()]) if (!listed.has(key)) introducedAt.delete(key);
    for (const key of listed) if (!introducedAt.has(key)) introducedAt.set(key, index);
  });
  return current.map((pkg) => {
    const layerIndex = introducedAt.get(keyOf(pkg))!;
    return { pkg: { ...pkg, layerDigest: layers[layerIndex]!.digest, filePath: `/${path}` }, layerIndex };
  });
}
