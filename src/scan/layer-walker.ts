import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/manifest.ts';
import { type FileView, resolveView, type TrackedFile, type TrackedNode } from './file-view.ts';
import { baseName, isAtOrBelow, normaliseEntryPath, parentOf, resolveLinkTarget } from './image-paths.ts';
import type { StreamDetector } from './language-package.ts';
import { defaultExpansionLimits, type ExpansionLimits, openLayerTar } from './layer-decoder.ts';
import { ScanError } from './scan-error.ts';
import { readTarEntries, type TarEntry } from './tar-entries.ts';
import { TempArea } from './temp-area.ts';

/** Opens a blob of the image by digest (in Berth: the blob store's read). */
export type OpenBlob = (digest: string) => Promise<Readable> | Readable;

export interface WalkLimits extends ExpansionLimits {
  /** Largest file captured when the selection names no size; a bigger one is noted and skipped. */
  maxFileBytes: number;
  maxEntriesPerLayer: number;
  maxEntriesTotal: number;
  /** Most bytes captured over the whole image (every layer's copies); past it, files are skipped. */
  maxCapturedBytes: number;
}

export const defaultWalkLimits: WalkLimits = {
  ...defaultExpansionLimits,
  maxFileBytes: 8 * 1024 * 1024,
  maxEntriesPerLayer: 300_000,
  maxEntriesTotal: 1_000_000,
  maxCapturedBytes: 256 * 1024 * 1024,
};

export interface LayerView {
  digest: string;
  /** The wanted files as the image shows them once this layer is applied. */
  files: FileView;
}

export interface WalkResult {
  /** One view per layer, in order; the last is the image's final file system. */
  layers: LayerView[];
  files: FileView;
  notes: string[];
}

/** Which files of the layers the walker keeps, and how. */
export interface FileSelection {
  /** Most bytes to capture of the file at `path` (no leading `/`); undefined when not wanted. */
  capture(path: string): number | undefined;
  /** A detector that reads a file too big to capture while it streams past. */
  extractor?(path: string, size: number, mode: number): StreamDetector | undefined;
}

/** A plain predicate captures the files it accepts up to `WalkLimits.maxFileBytes`. */
export type Wanted = FileSelection | ((path: string) => boolean);

function asSelection(wanted: Wanted, limits: WalkLimits): FileSelection {
  if (typeof wanted !== 'function') return wanted;
  return { capture: (path) => (wanted(path) ? limits.maxFileBytes : undefined) };
}

const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';

interface LayerChanges {
  written: Map<string, TrackedNode | null>;
  whiteouts: string[];
  opaqueDirs: string[];
}

/**
 * Streams each layer once, keeping only the files `wanted` asks for, and applies whiteouts,
 * opaque directories and upper-layer overrides the way an overlay mount would.
 */
export async function walkLayers(
  layers: readonly Descriptor[],
  openBlob: OpenBlob,
  wanted: Wanted,
  limits: WalkLimits = defaultWalkLimits,
): Promise<WalkResult> {
  const tempArea = new TempArea();
  try {
    return await walkEachLayer(layers, openBlob, asSelection(wanted, limits), limits, tempArea);
  } finally {
    await tempArea.remove();
  }
}

async function walkEachLayer(
  layers: readonly Descriptor[],
  openBlob: OpenBlob,
  selection: FileSelection,
  limits: WalkLimits,
  tempArea: TempArea,
): Promise<WalkResult> {
  const state = new Map<string, TrackedNode>();
  const views: LayerView[] = [];
  const notes: string[] = [];
  let totalEntries = 0;
  let captured = 0;
  for (const layer of layers) {
    const changes: LayerChanges = { written: new Map(), whiteouts: [], opaqueDirs: [] };
    let layerEntries = 0;
    let unsafePaths = 0;
    const onEntry = async (entry: TarEntry): Promise<void> => {
      layerEntries += 1;
      totalEntries += 1;
      if (layerEntries > limits.maxEntriesPerLayer) {
        throw new ScanError(`layer ${layer.digest} has more than ${limits.maxEntriesPerLayer} entries`);
      }
      if (totalEntries > limits.maxEntriesTotal) {
        throw new ScanError(`the image has more than ${limits.maxEntriesTotal} file entries`);
      }
      const path = normaliseEntryPath(entry.header.name);
      if (path === undefined) {
        if (entry.header.name.split('/').includes('..')) unsafePaths += 1;
        return;
      }
      const read = recordEntry(path, entry, layer.digest, changes, selection, state, notes);
      if (read?.maxBytes !== undefined && captured + (entry.header.size ?? 0) > limits.maxCapturedBytes) {
        notes.push(
          `the image holds more than ${limits.maxCapturedBytes} bytes of package metadata: /${path} in layer ${layer.digest} and later files were not read`,
        );
        changes.written.set(path, null);
      } else if (read?.maxBytes !== undefined) {
        read.file.content = await entry.readAll(read.maxBytes);
        captured += read.file.content.length;
      } else if (read?.detector) {
        const context = { path, size: entry.header.size ?? 0, tempDir: await tempArea.dir() };
        const summary = await read.detector.extract(entry.stream(), context);
        if (summary) read.file.content = summary;
        else changes.written.set(path, null);
      }
    };
    try {
      const { tar } = await openLayerTar(await openBlob(layer.digest), layer.digest, limits);
      await readTarEntries(tar, onEntry);
    } catch (error) {
      if (error instanceof ScanError) throw error;
      throw new ScanError(`layer ${layer.digest} is truncated or corrupt: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (unsafePaths > 0)
      notes.push(`layer ${layer.digest}: ignored ${unsafePaths} entries with '..' in their path`);
    applyLayer(state, changes);
    views.push({ digest: layer.digest, files: resolveView(state, notes) });
  }
  return { layers: views, files: views.at(-1)?.files ?? new Map(), notes: [...new Set(notes)] };
}

interface FileRead {
  file: TrackedFile;
  maxBytes?: number;
  detector?: StreamDetector;
}

/**
 * Notes what the entry changes in the layer; says how to read its content when that is kept.
 * A wanted path that is not a readable file still hides what lower layers had there.
 */
function recordEntry(
  path: string,
  entry: TarEntry,
  layerDigest: string,
  changes: LayerChanges,
  selection: FileSelection,
  state: ReadonlyMap<string, TrackedNode>,
  notes: string[],
): FileRead | undefined {
  const name = baseName(path);
  if (name === opaqueMarker) {
    changes.opaqueDirs.push(parentOf(path));
    return undefined;
  }
  if (name.startsWith(whiteoutPrefix)) {
    const parent = parentOf(path);
    const hidden = name.slice(whiteoutPrefix.length);
    changes.whiteouts.push(parent === '' ? hidden : `${parent}/${hidden}`);
    return undefined;
  }
  const { type, size = 0, linkname, mode = 0 } = entry.header;
  const isFile = type === 'file' || type === 'contiguous-file';
  const maxBytes = selection.capture(path);
  if (maxBytes === undefined) {
    const detector = isFile ? selection.extractor?.(path, size, mode) : undefined;
    if (!detector) {
      // A file some detector reads may have been replaced by a link, a directory or anything.
      if (changes.written.has(path) || state.has(path)) changes.written.set(path, null);
      return undefined;
    }
    const file: TrackedFile = {
      kind: 'file',
      content: Buffer.alloc(0),
      layerDigest,
      detector: detector.name,
    };
    changes.written.set(path, file);
    return { file, detector };
  }
  if (isFile) {
    if (size > maxBytes) {
      notes.push(`/${path} in layer ${layerDigest} is larger than ${maxBytes} bytes and was not read`);
      changes.written.set(path, null);
      return undefined;
    }
    const file: TrackedFile = { kind: 'file', content: Buffer.alloc(0), layerDigest };
    changes.written.set(path, file);
    return { file, maxBytes };
  }
  if (type === 'symlink' || type === 'link') {
    // Hard link names are archive paths; symlink targets are relative to the link's directory.
    const target =
      type === 'link' ? normaliseEntryPath(linkname ?? '') : resolveLinkTarget(path, linkname ?? '');
    if (target === undefined) {
      notes.push(`/${path} in layer ${layerDigest} links outside the image and was not read`);
      changes.written.set(path, null);
    } else {
      changes.written.set(path, { kind: 'link', target, layerDigest });
    }
  } else {
    // A directory or device now stands where the wanted file was.
    changes.written.set(path, null);
  }
  return undefined;
}

/** Whiteouts and opaque markers hide lower layers only, so they apply before this layer's writes. */
function applyLayer(state: Map<string, TrackedNode>, changes: LayerChanges): void {
  for (const path of [...state.keys()]) {
    const hidden =
      changes.whiteouts.some((whiteout) => isAtOrBelow(path, whiteout)) ||
      changes.opaqueDirs.some((dir) => path !== dir && isAtOrBelow(path, dir));
    if (hidden) state.delete(path);
  }
  for (const [path, node] of changes.written) {
    if (node) state.set(path, node);
    else state.delete(path);
  }
}
