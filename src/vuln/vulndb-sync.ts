import { readFile, rm } from 'node:fs/promises';
import type { VulndbStatus } from '../db/advisories.ts';
import type { Database } from '../db/database.ts';
import type { VulndbMirrorSourceRow } from '../db/vulndb-mirror.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { Clock } from '../lib/clock.ts';
import { requestRematch } from '../scan/rematch.ts';
import { checkMirrorUrl, downloadMirrorFile, redactUrl } from './mirror-download.ts';
import { importOsv } from './osv-import.ts';

export const vulndbSyncJobType = 'vulndb-sync';
/** The `job_schedules` row of the mirror sync. */
export const vulndbSyncScheduleName = 'vulndb-sync';

export interface MirrorSettings {
  url: string | string[];
  schedule: string;
  caFile: string;
  timeoutSeconds: number;
  maxBytes: number;
}

export interface VulndbSyncOptions {
  db: Database;
  jobs: JobService;
  clock: Clock;
  mirror: MirrorSettings;
  rescanOnUpdate: boolean;
  /** Where downloads wait for the importer. */
  workDir: string;
  version: string;
}

export interface VulndbOverview {
  database: VulndbStatus;
  rescanOnUpdate: boolean;
  mirror: { urls: string[]; schedule: string; nextRunAt: number | null; sources: VulndbMirrorSourceRow[] };
}

/** The configured mirror URLs, one or a list, blanks dropped. */
export function mirrorUrls(mirror: Pick<MirrorSettings, 'url'>): string[] {
  const urls = Array.isArray(mirror.url) ? mirror.url : [mirror.url];
  return urls.map((url) => url.trim()).filter((url) => url !== '');
}

/**
 * Keeps the vulnerability database in step with a mirror of OSV files: a `vulndb-sync` job
 * (on the configured schedule, or on request) downloads each URL when it changed, imports it,
 * records the outcome per URL, and queues a re-match of the reports when anything changed.
 */
export class VulndbSync {
  constructor(private readonly options: VulndbSyncOptions) {}

  get mirror(): MirrorSettings {
    return this.options.mirror;
  }

  register(): void {
    this.options.jobs.register(vulndbSyncJobType, (_payload, context) => this.run(context), {
      concurrency: 1,
      maxAttempts: 3,
    });
  }

  /**
   * Checks the mirror settings, then makes `job_schedules` say what they say. An unchanged
   * schedule is left as it is, so a restart neither moves its next run nor adds a second one.
   */
  async applySchedule(): Promise<void> {
    const { jobs, mirror } = this.options;
    for (const url of mirrorUrls(mirror)) checkMirrorUrl(url);
    if (mirror.caFile) {
      await readFile(mirror.caFile, 'utf8').catch((error: Error) => {
        throw new Error(`vulndb.mirror.caFile: ${error.message}`);
      });
    }
    const cron = mirror.schedule.trim();
    const existing = await jobs.findSchedule(vulndbSyncScheduleName);
    if (mirrorUrls(mirror).length === 0 || cron === '') {
      if (existing) await jobs.unschedule(vulndbSyncScheduleName);
      return;
    }
    if (existing?.cron === cron && existing.type === vulndbSyncJobType && existing.enabled === 1) return;
    try {
      await jobs.schedule(vulndbSyncScheduleName, { type: vulndbSyncJobType, cron });
    } catch (error) {
      throw new Error(`vulndb.mirror.schedule ${JSON.stringify(cron)}: ${(error as Error).message}`);
    }
  }

  /** Queues a sync now; while one is waiting or running, returns that one's job id. */
  async requestSync(): Promise<number> {
    if (mirrorUrls(this.options.mirror).length === 0)
      throw new Error('no vulnerability database mirror is configured (vulndb.mirror.url)');
    const { job } = await this.options.jobs.enqueue(vulndbSyncJobType, null, {
      dedupeKey: vulndbSyncJobType,
    });
    return job.id;
  }

  async overview(): Promise<VulndbOverview> {
    const { db, jobs, mirror, rescanOnUpdate } = this.options;
    const schedule = await jobs.findSchedule(vulndbSyncScheduleName);
    return {
      database: await db.advisories.status(),
      rescanOnUpdate,
      mirror: {
        urls: mirrorUrls(mirror).map(redactUrl),
        schedule: schedule?.cron ?? '',
        nextRunAt: schedule?.next_run_at ?? null,
        sources: (await db.vulndbMirror.list()).map((row) => ({ ...row, url: redactUrl(row.url) })),
      },
    };
  }

  private async run(context: JobContext): Promise<void> {
    const { db, jobs, clock, mirror } = this.options;
    const urls = mirrorUrls(mirror);
    if (urls.length === 0) {
      context.log.warn('no vulnerability database mirror is configured: nothing to sync');
      return;
    }
    const ca = mirror.caFile ? await readFile(mirror.caFile, 'utf8') : undefined;
    // Only this job writes here, one at a time: anything left is from a run that died.
    await rm(this.options.workDir, { recursive: true, force: true });
    let changed = 0;
    const failures: string[] = [];
    for (const url of urls) {
      context.signal.throwIfAborted();
      try {
        changed += await this.syncOne(url, ca, context);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(message);
        context.log.error(`${redactUrl(url)}: ${message}`);
        const previous = await db.vulndbMirror.find(url);
        await db.vulndbMirror.save({
          ...(previous ?? emptySource(url)),
          checked_at: clock.now(),
          outcome: 'failed',
          error: message.slice(0, 2048),
        });
      }
    }
    if (changed > 0 && this.options.rescanOnUpdate) {
      const job = await requestRematch(jobs, db);
      context.log.info(`${changed} advisories changed: re-match of existing reports queued (job ${job})`);
    }
    // Failing the job lets the job service retry it; what did import stays imported.
    if (failures.length > 0) throw new Error(`${failures.length} of ${urls.length} mirror URLs failed`);
  }

  /** Syncs one URL; returns how many advisories it added or replaced. */
  private async syncOne(url: string, ca: string | undefined, context: JobContext): Promise<number> {
    const { db, clock, mirror, workDir, version } = this.options;
    const previous = await db.vulndbMirror.find(url);
    const shown = redactUrl(url);
    const outcome = await downloadMirrorFile(
      url,
      { etag: previous?.etag ?? null, lastModified: previous?.last_modified ?? null },
      {
        dir: workDir,
        ca,
        timeoutMs: mirror.timeoutSeconds * 1000,
        maxBytes: mirror.maxBytes,
        signal: context.signal,
        userAgent: `berth/${version}`,
      },
    );
    if (outcome.kind === 'not-modified') {
      context.log.info(`${shown}: not modified since the last sync`);
      await db.vulndbMirror.save({
        ...(previous ?? emptySource(url)),
        checked_at: clock.now(),
        outcome: 'not-modified',
        error: null,
      });
      return 0;
    }
    try {
      context.log.info(`${shown}: downloaded ${outcome.bytes} bytes, importing`);
      const summary = await importOsv(db, outcome.path, { now: () => clock.now(), source: shown });
      const stored = summary.inserted + summary.replaced + summary.unchanged;
      const changedRecords = summary.inserted + summary.replaced;
      context.log.info(
        `${shown}: ${summary.files} files, ${summary.inserted} new, ${summary.replaced} updated, ` +
          `${summary.unchanged} unchanged, ${summary.failed} failed`,
      );
      if (stored === 0) throw new Error('the download held no OSV record that could be imported');
      await db.vulndbMirror.save({
        url,
        etag: outcome.validators.etag,
        last_modified: outcome.validators.lastModified,
        checked_at: clock.now(),
        outcome: 'imported',
        error: summary.failed > 0 ? `${summary.failed} files could not be imported` : null,
        bytes: outcome.bytes,
        imported_at: clock.now(),
        imported_records: stored,
        changed_records: changedRecords,
      });
      return changedRecords;
    } finally {
      await rm(outcome.path, { force: true });
    }
  }
}

function emptySource(url: string): VulndbMirrorSourceRow {
  return {
    url,
    etag: null,
    last_modified: null,
    checked_at: 0,
    outcome: 'failed',
    error: null,
    bytes: null,
    imported_at: null,
    imported_records: null,
    changed_records: null,
  };
}
