import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import yauzl from 'yauzl';
import { zipEntries } from '../lib/zip-entries.ts';

/** One OSV JSON file of a source, read only when asked so large dumps stream file by file. */
export interface SourceFile {
  /** The file's path within the source, for progress and error reports. */
  name: string;
  read(): Promise<string>;
}

const isJson = (name: string): boolean => name.toLowerCase().endsWith('.json');

/** Every `*.json` file under a directory, recursively, in name order. */
export async function* directoryFiles(root: string): AsyncGenerator<SourceFile> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && isJson(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  for (const path of files) {
    yield { name: relative(root, path), read: () => readFile(path, 'utf8') };
  }
}

const openZip = (path: string): Promise<yauzl.ZipFile> =>
  new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (error, zip) =>
      error || !zip ? reject(error ?? new Error('cannot open zip')) : resolve(zip),
    ),
  );

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(error ?? new Error('cannot read entry'));
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

/**
 * Every `*.json` entry of a zip archive (OSV's `<ecosystem>/all.zip`), one at a time: the
 * central directory is walked lazily and each entry inflated only when read.
 */
export async function* zipFiles(path: string): AsyncGenerator<SourceFile> {
  const zip = await openZip(path);
  try {
    for await (const entry of zipEntries(zip)) {
      if (entry.fileName.endsWith('/') || !isJson(entry.fileName)) continue;
      yield { name: entry.fileName, read: () => readEntry(zip, entry) };
    }
  } finally {
    zip.close();
  }
}

/** The files of a directory or a `.zip` archive. */
export async function osvSource(path: string): Promise<AsyncGenerator<SourceFile>> {
  const info = await stat(path);
  if (info.isDirectory()) return directoryFiles(path);
  if (path.toLowerCase().endsWith('.zip')) return zipFiles(path);
  if (isJson(path)) {
    return (async function* single() {
      yield { name: path, read: () => readFile(path, 'utf8') };
    })();
  }
  throw new Error(`${path}: not a directory, .zip or .json file`);
}
