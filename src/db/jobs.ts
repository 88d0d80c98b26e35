import { type Insertable, type Kysely, PostgresAdapter, type Selectable } from 'kysely';
import type { JobLogTable, JobScheduleTable, JobStatus, Schema } from './schema.ts';

export type JobRow = Selectable<Schema['jobs']>;
export type NewJobRow = Insertable<Schema['jobs']>;
export type JobLogRow = Selectable<JobLogTable>;
export type JobScheduleRow = Selectable<JobScheduleTable>;

/** Jobs not finished yet: waiting, running, or waiting for a retry. */
export const activeStatuses: readonly JobStatus[] = ['queued', 'running', 'failed'];
/** Jobs a worker may start (once `run_after` has come). */
const waitingStatuses: readonly JobStatus[] = ['queued', 'failed'];

export interface ClaimRequest {
  worker: string;
  now: number;
  leaseUntil: number;
  /** Only jobs of these types (those this worker has handlers and free capacity for). */
  types: readonly string[];
}

export interface QueueRow {
  type: string;
  count: number;
  oldest: number | null;
}

/** The job service's tables: `jobs`, `job_logs`, `job_schedules`, `paused_job_types`. */
export class JobQueries {
  private readonly postgres: boolean;

  constructor(private readonly db: Kysely<Schema>) {
    this.postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  async insert(row: NewJobRow): Promise<JobRow> {
    return this.db.insertInto('jobs').values(row).returningAll().executeTakeFirstOrThrow();
  }

  async findById(id: number): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findActiveByDedupeKey(key: string): Promise<JobRow | undefined> {
    return this.db
      .selectFrom('jobs')
      .selectAll()
      .where('dedupe_key', '=', key)
      .where('status', 'in', [...activeStatuses])
      .executeTakeFirst();
  }

  /**
   * Takes the next due job in one statement: a waiting job whose time has come, or a running
   * one whose lease passed (its worker died). SQLite runs the whole statement under its single
   * writer lock; PostgreSQL locks the picked row and lets concurrent claimers skip it.
   */
  async claim(request: ClaimRequest): Promise<JobRow | undefined> {
    if (request.types.length === 0) return undefined;
    let next = this.db
      .selectFrom('jobs')
      .select('id')
      .where('type', 'in', [...request.types])
      .where('type', 'not in', this.db.selectFrom('paused_job_types').select('type'))
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', [...waitingStatuses]), eb('run_after', '<=', request.now)]),
          eb.and([eb('status', '=', 'running'), eb('lease_until', '<', request.now)]),
        ]),
      )
      .orderBy('run_after')
      .orderBy('id')
      .limit(1);
    if (this.postgres) next = next.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        lease_until: request.leaseUntil,
        worker: request.worker,
        updated_at: request.now,
      }))
      .where('id', '=', next)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Running jobs of dead workers that have no attempt left: they end in `error` rather than
   * being claimed once more. Returns their ids.
   */
  async failAbandonedExhausted(now: number, message: string): Promise<number[]> {
    const rows = await this.db
      .updateTable('jobs')
      .set({ status: 'error', last_error: message, lease_until: null, updated_at: now, finished_at: now })
      .where('status', '=', 'running')
      .where('lease_until', '<', now)
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  }

  /** Extends the leases of `ids` this worker still holds; returns those it still holds. */
  async renewLeases(
    worker: string,
    ids: readonly number[],
    leaseUntil: number,
    now: number,
  ): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .updateTable('jobs')
      .set({ lease_until: leaseUntil, updated_at: now })
      .where('id', 'in', [...ids])
      .where('worker', '=', worker)
      .where('status', '=', 'running')
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
  }

  /**
   * Ends or reschedules a job this worker holds; false when it no longer holds it (it was
   * cancelled, or its lease passed and another worker took it).
   */
  async settle(
    id: number,
    worker: string,
    change: { status: JobStatus; now: number; runAfter?: number; lastError?: string | null },
  ): Promise<boolean> {
    const finished = change.status !== 'failed';
    const result = await this.db
      .updateTable('jobs')
      .set({
        status: change.status,
        updated_at: change.now,
        lease_until: null,
        ...(change.runAfter === undefined ? {} : { run_after: change.runAfter }),
        ...(change.lastError === undefined ? {} : { last_error: change.lastError }),
        ...(finished ? { finished_at: change.now } : {}),
      })
      .where('id', '=', id)
      .where('worker', '=', worker)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Gives running jobs back (their worker is stopping) so the next worker takes them at once. */
  async release(worker: string, ids: readonly number[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('jobs')
      .set({ lease_until: now - 1, updated_at: now })
      .where('id', 'in', [...ids])
      .where('worker', '=', worker)
      .where('status', '=', 'running')
      .execute();
  }

  /** Cancels one unfinished job; returns its status before, or undefined if it was not unfinished. */
  async cancel(id: number, now: number): Promise<JobStatus | undefined> {
    const before = await this.findById(id);
    if (!before || !activeStatuses.includes(before.status)) return undefined;
    const result = await this.db
      .updateTable('jobs')
      .set({ status: 'cancelled', lease_until: null, updated_at: now, finished_at: now })
      .where('id', '=', id)
      .where('status', '=', before.status)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? before.status : undefined;
  }

  /** Cancels every waiting job of `type` (all types when undefined); returns their ids. */
  async cancelWaiting(type: string | undefined, now: number): Promise<number[]> {
    let query = this.db
      .updateTable('jobs')
      .set({ status: 'cancelled', updated_at: now, finished_at: now })
      .where('status', 'in', [...waitingStatuses]);
    if (type !== undefined) query = query.where('type', '=', type);
    const rows = await query.returning('id').execute();
    return rows.map((row) => row.id);
  }

  /** Waiting jobs per type, with the creation time of the oldest. */
  async queues(): Promise<QueueRow[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select((eb) => [
        'type',
        eb.fn.countAll<number | string>().as('count'),
        eb.fn.min('created_at').as('oldest'),
      ])
      .where('status', 'in', [...waitingStatuses])
      .groupBy('type')
      .execute();
    return rows.map((row) => ({
      type: row.type,
      count: Number(row.count),
      oldest: row.oldest === null ? null : Number(row.oldest),
    }));
  }

  async pausedTypes(): Promise<string[]> {
    const rows = await this.db.selectFrom('paused_job_types').select('type').execute();
    return rows.map((row) => row.type);
  }

  async pause(type: string, now: number): Promise<void> {
    await this.db
      .insertInto('paused_job_types')
      .values({ type, paused_at: now })
      .onConflict((conflict) => conflict.column('type').doNothing())
      .execute();
  }

  async resume(type: string | undefined): Promise<void> {
    let query = this.db.deleteFrom('paused_job_types');
    if (type !== undefined) query = query.where('type', '=', type);
    await query.execute();
  }

  async appendLog(row: Insertable<JobLogTable>): Promise<void> {
    await this.db.insertInto('job_logs').values(row).execute();
  }

  async logs(jobId: number): Promise<JobLogRow[]> {
    return this.db.selectFrom('job_logs').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
  }

  async upsertSchedule(row: JobScheduleRow): Promise<void> {
    await this.db
      .insertInto('job_schedules')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('name').doUpdateSet({
          type: row.type,
          cron: row.cron,
          payload: row.payload,
          next_run_at: row.next_run_at,
          enabled: row.enabled,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  async deleteSchedule(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('job_schedules').where('name', '=', name).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async findSchedule(name: string): Promise<JobScheduleRow | undefined> {
    return this.db.selectFrom('job_schedules').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async dueSchedules(now: number): Promise<JobScheduleRow[]> {
    return this.db
      .selectFrom('job_schedules')
      .selectAll()
      .where('enabled', '=', 1)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .execute();
  }

  /**
   * Moves a schedule from the run it was due for to the next one, only if no other worker did
   * first: the one whose update lands enqueues the run.
   */
  async advanceSchedule(name: string, from: number, to: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('job_schedules')
      .set({ next_run_at: to, updated_at: now })
      .where('name', '=', name)
      .where('next_run_at', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
