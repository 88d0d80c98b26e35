import type { LayerView } from './layer-walker.ts';
import {
  isInstalledPackageJson,
  isNpmLockfile,
  type NpmPackage,
  npmLimits,
  parseInstalledPackageJson,
  parsePackageLock,
} from './npm.ts';

export interface LayeredNpmPackage extends NpmPackage {
  /** The layer whose copy of the file first listed this name, version and path. */
  layerDigest: string;
  /** The file it was read from, as an absolute image path. */
  filePath: string;
}

/**
 * npm packages of the image's final file system, each credited to the layer after which its
 * file kept listing it (the rule OS packages follow). A package both locked and installed at the
 * same path is listed once, with the earlier layer.
 */
export function npmPackagesOfImage(layers: readonly LayerView[], notes: string[]): LayeredNpmPackage[] {
  const final = layers.at(-1)?.files;
  if (!final) return [];
  const found = new Map<string, { pkg: LayeredNpmPackage; layerIndex: number }>();
  const fileNotes = new Set<string>();
  for (const path of [...final.keys()].sort()) {
    const parse = parserFor(path, fileNotes);
    if (!parse) continue;
    for (const entry of replay(layers, path, parse)) {
      const key = `${entry.pkg.name}\u0000${entry.pkg.version}\u0000${entry.pkg.path}`;
      const known = found.get(key);
      if (!known || entry.layerIndex < known.layerIndex) found.set(key, entry);
    }
  }
  notes.push(...fileNotes);
  return [...found.values()].map((entry) => entry.pkg);
}

type Parse = (content: Buffer) => NpmPackage[];

function parserFor(path: string, notes: Set<string>): Parse | undefined {
  const tooBig = (limit: number, content: Buffer): boolean => {
    if (content.length <= limit) return false;
    notes.add(`/${path} is larger than ${limit} bytes and was not read`);
    return true;
  };
  if (isNpmLockfile(path)) {
    return (content) =>
      tooBig(npmLimits.maxLockfileBytes, content) ? [] : parsePackageLock(content.toString('utf8'), path);
  }
  if (isInstalledPackageJson(path)) {
    return (content) => {
      if (tooBig(npmLimits.maxPackageJsonBytes, content)) return [];
      const pkg = parseInstalledPackageJson(content.toString('utf8'), path);
      return pkg ? [pkg] : [];
    };
  }
  return undefined;
}

function replay(
  layers: readonly LayerView[],
  path: string,
  parse: Parse,
): { pkg: LayeredNpmPackage; layerIndex: number }[] {
  const introducedAt = new Map<string, number>();
  const keyOf = (pkg: NpmPackage): string => `${pkg.name}\u0000${pkg.version}\u0000${pkg.path}`;
  let lastContent: Buffer | undefined;
  let current: NpmPackage[] = [];
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
