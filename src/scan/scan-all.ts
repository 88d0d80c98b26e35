import type { Database } from '../db/database.ts';
import type { ScanAllRunRow } from '../db/scan-all.ts';
import type { JobContext, JobService } from '../jobs/job-service.ts';
import type { Clock } from '../lib/clock.ts';
import { isScannableManifest, type ScanService, scannerName } from './scan-service.ts';

export const scanAllJobType = 'scanAll';
/** The `job_schedules` row of the scan-all schedule. */
export const scanAllScheduleName = 'scan-all';

/** Harbor's execution triggers, as its metrics title-case them. */
export type ScanAllTrigger = 'Manual' | 'Schedule';

/** Harbor's schedule types that repeat; the schedule's payload keeps which one was asked for. */
export type RepeatingScheduleType = 'Hourly' | 'Daily' | 'Weekly' | 'Custom';

export interface ScanAllSchedule {
  type: RepeatingScheduleType;
  cron: string;
  nextRunAt: number;
  updatedAt: number;
}

interface ScanAllPayload {
  scheduleType?: RepeatingScheduleType;
  /** Set for a manual run, whose run row the request created; a scheduled run makes its own. */
  runId?: number;
}

/** Harbor's Stats: the progress of one scan-all run. */
export interface ScanAllStats {
  total?: number;
  completed?: number;
  metrics?: Record<'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped', number>;
  ongoing?: boolean;
  trigger?: string;
}

export interface ScanAllOptions {
  db: Database;
  jobs: JobService;
  scans: ScanService;
  clock: Clock;
  /** Artifacts read and scans requested per step. */
  batchSize?: number;
}

/**
 * Scan all: a job that requests a scan of every image and index in every repository (an
 * index's image is chosen by the scan itself; accessories and non-image artifacts are skipped),
 * a page at a time, and the runs' progress as Harbor reports it.
 */
export class ScanAllService {
  constructor(private readonly options: ScanAllOptions) {}

  register(): void {
    this.options.jobs.register(
      scanAllJobType,
      (payload, context) => this.run((payload ?? {}) as ScanAllPayload, context),
      { concurrency: 1, maxAttempts: 1 },
    );
  }

  /** Whether the newest run of `trigger` (any, when undefined) is still going. */
  async ongoing(trigger?: ScanAllTrigger): Promise<boolean> {
    const run = await this.options.db.scanAll.latestRun(trigger);
    return run ? ((await this.stats(run)).ongoing ?? false) : false;
  }

  async schedule(): Promise<ScanAllSchedule | undefined> {
    const row = await this.options.jobs.findSchedule(scanAllScheduleName);
    if (!row) return undefined;
    const payload = (JSON.parse(row.payload) ?? {}) as ScanAllPayload;
    return {
      type: payload.scheduleType ?? 'Custom',
      cron: row.cron,
      nextRunAt: row.next_run_at,
      updatedAt: row.updated_at,
    };
  }

  /** Creates or replaces the schedule; an unchanged one keeps its next run. */
  async setSchedule(type: RepeatingScheduleType, cron: string): Promise<void> {
    const current = await this.schedule();
    if (current?.type === type && current.cron === cron) return;
    await this.options.jobs.schedule(scanAllScheduleName, {
      type: scanAllJobType,
      cron,
      payload: { scheduleType: type } satisfies ScanAllPayload,
    });
  }

  async removeSchedule(): Promise<void> {
    await this.options.jobs.unschedule(scanAllScheduleName);
  }

  /** Starts a manual run now. */
  async startManual(): Promise<ScanAllRunRow> {
    const { db, jobs, clock } = this.options;
    const run = await db.scanAll.createRun('Manual', clock.now());
    const { job } = await jobs.enqueue(scanAllJobType, { runId: run.id } satisfies ScanAllPayload, {
      maxAttempts: 1,
    });
    await db.scanAll.setRunJob(run.id, job.id);
    return { ...run, job_id: job.id };
  }

  /** The newest run's progress (of one trigger when given); `{}` when there was none. */
  async latestStats(trigger?: ScanAllTrigger): Promise<ScanAllStats> {
    const run = await this.options.db.scanAll.latestRun(trigger);
    return run ? this.stats(run) : {};
  }

  /** Stops the newest run: its job, and every scan it asked for that has not finished. False when none. */
  async stopLatest(): Promise<boolean> {
    const { db, jobs, scans } = this.options;
    const run = await db.scanAll.latestRun();
    if (!run) return false;
    if (run.job_id !== null) await jobs.cancel(run.job_id);
    for (const task of await db.scanAll.taskStatuses(run.id, scannerName)) {
      if (task.status === 'Pending' || task.status === 'Running') await scans.stopScan(task.digest);
    }
    return true;
  }

  private async stats(run: ScanAllRunRow): Promise<ScanAllStats> {
    const { db, jobs } = this.options;
    const metrics = { Pending: 0, Running: 0, Success: 0, Error: 0, Stopped: 0 };
    const tasks = await db.scanAll.taskStatuses(run.id, scannerName);
    // A report that is gone (its artifact deleted) counts as stopped: it will not finish.
    for (const task of tasks) metrics[task.status ?? 'Stopped'] += 1;
    const completed = metrics.Success + metrics.Error + metrics.Stopped;
    const job = run.job_id === null ? undefined : await jobs.job(run.job_id);
    const enqueuing = job !== undefined && job.finished_at === null;
    return {
      total: tasks.length,
      completed,
      metrics,
      ongoing: enqueuing || completed !== tasks.length,
      trigger: run.trigger,
    };
  }

  private async run(payload: ScanAllPayload, context: JobContext): Promise<void> {
    const { db, scans, clock } = this.options;
    const batchSize = this.options.batchSize ?? 100;
    let run = payload.runId === undefined ? undefined : await db.scanAll.findRun(payload.runId);
    if (!run) {
      run = await db.scanAll.createRun('Schedule', clock.now());
      await db.scanAll.setRunJob(run.id, context.jobId);
    }
    let requested = 0;
    let skipped = 0;
    let cursor: { repository: string; digest: string } | undefined;
    for (;;) {
      context.signal.throwIfAborted();
      const page = await db.scanAll.artifactsAfter(cursor, batchSize);
      if (page.length === 0) break;
      const wanted = page.filter((row) => isScannableManifest(row));
      skipped += page.length - wanted.length;
      // Recorded first, so the metrics count a scan from the moment it is asked for.
      await db.scanAll.addTasks(
        run.id,
        wanted.map((row) => ({ digest: row.digest, repository: row.repository })),
      );
      for (const row of wanted) {
        context.signal.throwIfAborted();
        await scans.requestScan(row.repository, row.digest);
        requested += 1;
      }
      const last = page[page.length - 1]!;
      cursor = { repository: last.repository, digest: last.digest };
      context.log.info(`scan all: ${requested} scans requested, ${skipped} artifacts skipped so far`);
    }
    context.log.info(
      `scan all: ${requested} scans requested; ${skipped} artifacts skipped (not images: signatures, SBOMs and the like)`,
    );
  }
}
