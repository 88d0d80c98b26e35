import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { zipEntries } from '../../lib/zip-entries.ts';
import { hasArchiveExtension } from './java-archive-names.ts';
import {
  MANIFEST,
  type MavenCoordinates,
  manifestCoordinates,
  POM_PROPERTIES,
  parseManifest,
  pomCoordinates,
} from './java-metadata.ts';

export interface JavaArchiveLimits {
  /** Archives inside archives: a Spring Boot jar's libraries are depth 1, an ear's war's jars depth 2. */
  maxDepth: number;
  /** Central directory entries over the outer archive and every nested one. */
  maxEntries: number;
  /** Bytes inflated (metadata files and nested archives) over the whole outer archive. */
  maxInflatedBytes: number;
  /** Uncompressed to compressed size; a nested archive past it is a bomb, not a library. */
  maxCompressionRatio: number;
  /** A nested archive up to this size is read in memory; a bigger one is written to tempDir. */
  maxInMemoryBytes: number;
}

export const javaArchiveLimits: JavaArchiveLimits = {
  maxDepth: 3,
  maxEntries: 200_000,
  maxInflatedBytes: 512 * 1024 * 1024,
  maxCompressionRatio: 100,
  maxInMemoryBytes: 8 * 1024 * 1024,
};

const MAX_METADATA_BYTES = 1024 * 1024;

export interface JavaPackageFact extends MavenCoordinates {
  /** Where in the outer archive: '' for itself, `!/BOOT-INF/lib/y.jar` for a nested one. */
  inner: string;
}

export interface JavaArchiveContents {
  packages: JavaPackageFact[];
  notes: string[];
}

class Budget {
  entries = 0;
  inflated = 0;
  constructor(readonly limits: JavaArchiveLimits) {}
}

class LimitError extends Error {}

type Source = { file: string } | { buffer: Buffer };

const openZip = (source: Source): Promise<yauzl.ZipFile> => {
  const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false };
  return 'file' in source
    ? yauzl.openPromise(source.file, options)
    : yauzl.fromBufferPromise(source.buffer, options);
};

function charge(budget: Budget, bytes: number): void {
  budget.inflated += bytes;
  if (budget.inflated > budget.limits.maxInflatedBytes) {
    throw new LimitError(`more than ${budget.limits.maxInflatedBytes} bytes to inflate`);
  }
}

async function readSmallEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  budget: Budget,
): Promise<string | undefined> {
  if (entry.uncompressedSize > MAX_METADATA_BYTES) return undefined;
  charge(budget, entry.uncompressedSize);
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A nested archive's bytes, in memory when small, else in a file under tempDir. */
async function extractNested(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  budget: Budget,
  tempDir: string,
): Promise<Source> {
  const { uncompressedSize, compressedSize } = entry;
  if (uncompressedSize > budget.limits.maxCompressionRatio * Math.max(compressedSize, 1)) {
    throw new LimitError(`${entry.fileName} inflates more than ${budget.limits.maxCompressionRatio} times`);
  }
  charge(budget, uncompressedSize);
  const stream = await zip.openReadStreamPromise(entry);
  if (uncompressedSize <= budget.limits.maxInMemoryBytes) {
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return { buffer: Buffer.concat(chunks) };
  }
  const file = join(tempDir, `nested-${randomUUID()}.zip`);
  await pipeline(stream, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  return { file };
}

/** The archive's own coordinates (all pom.properties, else the manifest) and its nested archives'. */
async function readArchive(
  source: Source,
  name: string,
  inner: string,
  depth: number,
  budget: Budget,
  tempDir: string,
  out: JavaArchiveContents,
): Promise<void> {
  const zip = await openZip(source);
  try {
    budget.entries += zip.entryCount;
    if (budget.entries > budget.limits.maxEntries) {
      throw new LimitError(`more than ${budget.limits.maxEntries} entries`);
    }
    const poms: yauzl.Entry[] = [];
    const nested: yauzl.Entry[] = [];
    let manifest: yauzl.Entry | undefined;
    for await (const entry of zipEntries(zip)) {
      if (entry.fileName.endsWith('/')) continue;
      if (POM_PROPERTIES.test(entry.fileName)) poms.push(entry);
      else if (entry.fileName === MANIFEST) manifest = entry;
      else if (hasArchiveExtension(entry.fileName)) nested.push(entry);
    }
    const own: MavenCoordinates[] = [];
    for (const pom of poms) {
      const text = await readSmallEntry(zip, pom, budget);
      const coordinates = text === undefined ? undefined : pomCoordinates(text, pom.fileName);
      if (coordinates) own.push(coordinates);
    }
    if (own.length === 0 && manifest) {
      const text = await readSmallEntry(zip, manifest, budget);
      const coordinates = text === undefined ? undefined : manifestCoordinates(parseManifest(text), name);
      if (coordinates) own.push(coordinates);
    }
    out.packages.push(...own.map((coordinates) => ({ ...coordinates, inner })));
    if (nested.length > 0 && depth >= budget.limits.maxDepth) {
      out.notes.push(`archives nested deeper than ${budget.limits.maxDepth} levels were not read`);
      return;
    }
    for (const entry of nested) {
      const innerPath = `${inner}!/${entry.fileName}`;
      let nestedSource: Source | undefined;
      try {
        nestedSource = await extractNested(zip, entry, budget, tempDir);
        await readArchive(nestedSource, entry.fileName, innerPath, depth + 1, budget, tempDir, out);
      } catch (error) {
        if (error instanceof LimitError) throw error;
        out.notes.push(`${innerPath} is not a readable archive: ${(error as Error).message}`);
      } finally {
        if (nestedSource && 'file' in nestedSource) await rm(nestedSource.file, { force: true });
      }
    }
  } finally {
    zip.close();
  }
}

/**
 * The Maven packages of a Java archive spooled to `file`. Never throws on bad content: an
 * archive that is not a zip, or one that breaks a limit, yields what was read before and a note.
 */
export async function readJavaArchive(
  file: string,
  name: string,
  tempDir: string,
  limits: JavaArchiveLimits = javaArchiveLimits,
): Promise<JavaArchiveContents> {
  const out: JavaArchiveContents = { packages: [], notes: [] };
  try {
    await readArchive({ file }, name, '', 0, new Budget(limits), tempDir, out);
  } catch (error) {
    const reason = error instanceof LimitError ? 'exceeds a limit' : 'is not a readable archive';
    out.notes.push(`${reason}: ${(error as Error).message}`);
  }
  return out;
}

/** Copies a stream to a new file, stopping past `maxBytes` (then false: the file is incomplete). */
export async function spoolToFile(content: Readable, file: string, maxBytes: number): Promise<boolean> {
  const handle = await open(file, 'wx', 0o600);
  try {
    let written = 0;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      if (written + chunk.length > maxBytes) return false;
      await handle.write(chunk, 0, chunk.length, written);
      written += chunk.length;
    }
    return true;
  } finally {
    await handle.close();
  }
}
