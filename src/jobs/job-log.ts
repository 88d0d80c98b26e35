import type { Database } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

/** What a job handler writes to its job's log, which `GET /jobservice/jobs/{id}/log` serves. */
export interface JobLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A job's log: lines are stored in the order written, one after another, without making the
 * handler wait; `flush` waits until all have landed (before the job's outcome is recorded).
 */
export class StoredJobLog implements JobLog {
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobId: number,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  info(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  flush(): Promise<void> {
    return this.pending;
  }

  private write(level: string, message: string): void {
    const row = { job_id: this.jobId, logged_at: this.clock.now(), level, message: message.slice(0, 8192) };
    this.pending = this.pending
      .then(() => this.db.jobs.appendLog(row))
      .catch((error: unknown) => this.log.warn({ err: error, job: this.jobId }, 'job log line lost'));
  }
}

/** A stored log as text, one line each: `2026-01-01T00:00:00.000Z [INFO] message`. */
export function formatJobLog(
  lines: readonly { logged_at: number; level: string; message: string }[],
): string {
  return lines
    .map(
      (line) => `${new Date(line.logged_at).toISOString()} [${line.level.toUpperCase()}] ${line.message}\n`,
    )
    .join('');
}
