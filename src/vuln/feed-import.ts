import { readFile, stat } from 'node:fs/promises';
import type { AdvisoryWrite } from '../db/advisories.ts';
import type { Database } from '../db/database.ts';
import { advisoriesFromSecdb, isSecdbDocument } from './alpine-secdb.ts';
import { advisoriesFromTracker, isTrackerDocument } from './debian-tracker.ts';
import { type ImportOptions, type ImportSummary, importOsv } from './osv-import.ts';

export const advisoryFormats = ['osv', 'alpine-secdb', 'debian-tracker'] as const;
export type AdvisoryFormat = (typeof advisoryFormats)[number];

export const isAdvisoryFormat = (value: string): value is AdvisoryFormat =>
  (advisoryFormats as readonly string[]).includes(value);

export interface FeedImportSummary extends ImportSummary {
  format: AdvisoryFormat;
}

/**
 * Imports a vulnerability feed into the database: OSV (a directory, a `.zip`, or one record), an
 * Alpine secdb file, or the Debian security tracker's JSON. Without `format` it is told from the
 * content: a directory or zip is OSV; a JSON file is secdb or tracker when it has their shape,
 * and otherwise goes to the OSV importer (which reports what is wrong with it).
 */
export async function importAdvisories(
  db: Database,
  path: string,
  options: ImportOptions & { format?: AdvisoryFormat } = {},
): Promise<FeedImportSummary> {
  const info = await stat(path);
  if (options.format === 'osv' || (!options.format && (info.isDirectory() || path.endsWith('.zip')))) {
    return { format: 'osv', ...(await importOsv(db, path, options)) };
  }
  if (info.isDirectory()) throw new Error(`${path}: a ${options.format} feed is one JSON file`);
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if (!options.format) return { format: 'osv', ...(await importOsv(db, path, options)) };
    throw new Error(`${path}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  // The feeds carry no time of their own: the file's is what orders two snapshots.
  const modified = info.mtime.toISOString();
  const wantSecdb = options.format === 'alpine-secdb' || (!options.format && isSecdbDocument(document));
  if (wantSecdb) {
    if (!isSecdbDocument(document)) throw new Error(`${path}: not an Alpine secdb file`);
    return storeFeed(db, path, 'alpine-secdb', advisoriesFromSecdb(document, modified), options);
  }
  const wantTracker = options.format === 'debian-tracker' || (!options.format && isTrackerDocument(document));
  if (wantTracker) {
    if (!isTrackerDocument(document)) throw new Error(`${path}: not Debian security tracker JSON`);
    return storeFeed(db, path, 'debian-tracker', advisoriesFromTracker(document, modified), options);
  }
  return { format: 'osv', ...(await importOsv(db, path, options)) };
}

/** Writes a feed's records in batches, each newer-than-stored record replacing the stored one. */
async function storeFeed(
  db: Database,
  path: string,
  format: AdvisoryFormat,
  writes: AdvisoryWrite[],
  options: ImportOptions,
): Promise<FeedImportSummary> {
  const batchSize = options.batchSize ?? 500;
  const summary: FeedImportSummary = {
    format,
    source: options.source ?? path,
    files: 1,
    inserted: 0,
    replaced: 0,
    unchanged: 0,
    failed: 0,
    withdrawn: 0,
    errors: [],
  };
  for (let start = 0; start < writes.length; start += batchSize) {
    const batch = writes.slice(start, start + batchSize);
    await db.transaction(async (trx) => {
      for (const write of batch) summary[await trx.advisories.upsert(write)] += 1;
    });
  }
  const { files, inserted, replaced, unchanged, failed } = summary;
  options.onProgress?.({ files, inserted, replaced, unchanged, failed });
  const stored = inserted + replaced + unchanged;
  if (stored > 0) await db.advisories.recordImport(summary.source, (options.now ?? Date.now)(), stored);
  return summary;
}
