import type { BerthConfig } from '../config/schema.ts';
import type { Database } from '../db/database.ts';
import { JobService } from '../jobs/job-service.ts';
import { systemClock } from '../lib/clock.ts';
import { createLogger } from '../lib/logger.ts';
import { requestRematch } from '../scan/rematch.ts';
import { redactUrl } from '../vuln/mirror-download.ts';
import { mirrorUrls, vulndbSyncScheduleName } from '../vuln/vulndb-sync.ts';

/**
 * After an import that changed advisories: queues the re-match of existing reports (when
 * `vulndb.rescanOnUpdate`) for the server's job workers; returns what to tell the user.
 */
export async function queueRematchAfterImport(
  db: Database,
  config: BerthConfig,
  changedRecords: number,
): Promise<string | undefined> {
  if (changedRecords === 0 || !config.vulndb.rescanOnUpdate) return undefined;
  // Not started: it only writes the job; a running Berth's workers take it.
  const jobs = new JobService({
    db,
    clock: systemClock,
    log: createLogger('silent'),
    workers: 1,
    pollIntervalMs: 1000,
    leaseMs: config.jobs.leaseSeconds * 1000,
  });
  const job = await requestRematch(jobs, db);
  return `re-match of existing scan reports queued (job ${job}); Berth's job workers run it`;
}

/** The mirror lines of `berth vulndb status`. */
export async function mirrorStatusLines(db: Database, config: BerthConfig): Promise<string[]> {
  const urls = mirrorUrls(config.vulndb.mirror);
  if (urls.length === 0) return ['mirror: none configured'];
  const schedule = await db.jobs.findSchedule(vulndbSyncScheduleName);
  const lines = [
    `mirror: ${urls.length} URL(s), ${
      schedule
        ? `synced on "${schedule.cron}", next ${new Date(schedule.next_run_at).toISOString()}`
        : 'synced on request only'
    }`,
  ];
  const sources = new Map((await db.vulndbMirror.list()).map((row) => [row.url, row]));
  for (const url of urls) {
    const row = sources.get(url);
    const shown = redactUrl(url);
    if (!row) {
      lines.push(`  ${shown}: never synced`);
      continue;
    }
    const checked = new Date(row.checked_at).toISOString();
    const imported =
      row.imported_at === null
        ? 'never imported'
        : `last imported ${new Date(row.imported_at).toISOString()} (${row.imported_records} records, ${row.changed_records} changed)`;
    lines.push(`  ${shown}: ${row.outcome} at ${checked}; ${imported}${row.error ? `; ${row.error}` : ''}`);
  }
  return lines;
}
