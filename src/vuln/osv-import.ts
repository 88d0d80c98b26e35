import type { AdvisoryWrite } from '../db/advisories.ts';
import type { Database } from '../db/database.ts';
import { advisoryFromOsv } from './osv-record.ts';
import { osvSource, type SourceFile } from './osv-sources.ts';

export interface ImportProgress {
  /** Files looked at so far (read or failed). */
  files: number;
  inserted: number;
  replaced: number;
  unchanged: number;
  failed: number;
}

export interface ImportError {
  file: string;
  message: string;
}

export interface ImportSummary extends ImportProgress {
  source: string;
  /** Records stored that are marked withdrawn (they stay, but never match). */
  withdrawn: number;
  errors: ImportError[];
}

export interface ImportOptions {
  /** Records written per transaction. */
  batchSize?: number;
  /** `onProgress` is called after every this many files and at the end. */
  progressEvery?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Errors kept in the summary; the count in `failed` goes on past it. */
  maxErrors?: number;
  now?: () => number;
  /** What the import history records as the source (a mirror URL); the path by default. */
  source?: string;
}

/**
 * Imports OSV advisories from a directory (recursively) or a `.zip` of OSV JSON files into the
 * vulnerability database. A file that cannot be read or parsed is reported and skipped; a record
 * replaces the stored one only when its `modified` is newer, so importing twice changes nothing.
 */
export async function importOsv(
  db: Database,
  path: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? 500;
  const progressEvery = options.progressEvery ?? 1000;
  const maxErrors = options.maxErrors ?? 100;
  const summary: ImportSummary = {
    source: options.source ?? path,
    files: 0,
    inserted: 0,
    replaced: 0,
    unchanged: 0,
    failed: 0,
    withdrawn: 0,
    errors: [],
  };
  const fail = (file: string, error: unknown) => {
    summary.failed += 1;
    if (summary.errors.length < maxErrors) {
      summary.errors.push({ file, message: error instanceof Error ? error.message : String(error) });
    }
  };
  const report = () => {
    const { files, inserted, replaced, unchanged, failed } = summary;
    options.onProgress?.({ files, inserted, replaced, unchanged, failed });
  };

  let batch: { file: string; write: AdvisoryWrite }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    await db.transaction(async (trx) => {
      for (const { write } of pending) {
        const outcome = await trx.advisories.upsert(write);
        summary[outcome] += 1;
        if (outcome !== 'unchanged' && write.advisory.withdrawn) summary.withdrawn += 1;
      }
    });
  };

  const files: AsyncGenerator<SourceFile> = await osvSource(path);
  for await (const file of files) {
    summary.files += 1;
    try {
      batch.push({ file: file.name, write: advisoryFromOsv(JSON.parse(await file.read())) });
    } catch (error) {
      fail(file.name, error);
    }
    if (batch.length >= batchSize) await flush();
    if (summary.files % progressEvery === 0) report();
  }
  await flush();
  if (summary.files === 0 || summary.files % progressEvery !== 0) report();
  const stored = summary.inserted + summary.replaced + summary.unchanged;
  if (stored > 0) await db.advisories.recordImport(summary.source, (options.now ?? Date.now)(), stored);
  return summary;
}
