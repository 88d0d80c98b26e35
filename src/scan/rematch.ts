import type { Database } from '../db/database.ts';
import type { ScanReportRow } from '../db/scan-reports.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { AdvisoryStore } from '../vuln/advisory-store.ts';
import { highest, type MatchablePackage, toItem } from './image-scan.ts';
import { scannerName, summarize, type VulnerabilityItem, type VulnerabilityReport } from './scan-service.ts';

export const rematchJobType = 'rematch';
const rematchDedupeKey = 'rematch';

/** A report's `packages` column: the image scanned (an index's chosen child) and what was looked up. */
export interface StoredPackages {
  imageDigest: string;
  packages: MatchablePackage[];
}

export function storedPackages(imageDigest: string, packages: MatchablePackage[]): StoredPackages {
  return { imageDigest, packages };
}

export interface RematchParts {
  db: Database;
  advisories: AdvisoryStore;
  now: number;
  signal: AbortSignal;
}

/**
 * Matches a finished report's kept packages against the database as it is now and stores the
 * new vulnerabilities, severity and summary; the rest of the report (notes, package count) stays.
 * False when the report kept no packages (it was scanned before they were kept).
 */
export async function rematchReport(row: ScanReportRow, parts: RematchParts): Promise<boolean> {
  if (row.status !== 'Success' || row.packages === null || row.report === null) return false;
  const stored = JSON.parse(row.packages) as StoredPackages;
  const previous = JSON.parse(row.report) as VulnerabilityReport;
  const vulnerabilities: VulnerabilityItem[] = [];
  for (const pkg of stored.packages) {
    parts.signal.throwIfAborted();
    // Reports kept before source versions were stored compare the package's own version.
    const version = pkg.sourceVersion ?? pkg.version;
    const matches = await parts.advisories.affecting(pkg.ecosystem, pkg.sourceName, version);
    for (const match of matches) vulnerabilities.push(toItem(match, pkg, stored.imageDigest, pkg.ecosystem));
  }
  const report: VulnerabilityReport = {
    ...previous,
    generated_at: new Date(parts.now).toISOString(),
    severity: highest(vulnerabilities),
    vulnerabilities,
  };
  const status = await parts.db.advisories.status();
  await parts.db.scanReports.update(row.id, {
    report: JSON.stringify(report),
    summary: JSON.stringify(summarize(report)),
    db_version: status.lastImport?.source ?? null,
    db_imported_at: status.lastImport?.importedAt ?? null,
  });
  return true;
}

/**
 * The `rematch` job: every finished report re-evaluated against the current database, a page at
 * a time, progress in the job log.
 */
export async function runRematch(
  db: Database,
  rematch: (row: ScanReportRow, signal: AbortSignal) => Promise<boolean>,
  context: JobContext,
  pageSize = 200,
): Promise<void> {
  let afterId = 0;
  let done = 0;
  let skipped = 0;
  for (;;) {
    context.signal.throwIfAborted();
    const page = await db.scanReports.rematchable(scannerName, afterId, pageSize);
    if (page.length === 0) break;
    for (const row of page) {
      if (await rematch(row, context.signal)) done += 1;
      else skipped += 1;
    }
    afterId = page[page.length - 1]!.id;
    context.log.info(`re-matched ${done} reports so far`);
  }
  context.log.info(
    `re-matched ${done} reports against the current vulnerability database (${skipped} skipped)`,
  );
}

/**
 * Queues a re-match of every report. Asking again for the same database state returns the
 * unfinished job; after a newer import another is queued, since a running one may have passed
 * reports before that import landed.
 */
export async function requestRematch(jobs: JobService, db: Database): Promise<number> {
  const stamp = (await db.advisories.status()).lastImport?.importedAt ?? 0;
  const { job } = await jobs.enqueue(rematchJobType, null, {
    dedupeKey: `${rematchDedupeKey}:${stamp}`,
    maxAttempts: 3,
  });
  return job.id;
}
