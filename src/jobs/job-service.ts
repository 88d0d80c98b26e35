import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { JobRow } from '../db/jobs.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { retryDelayMs } from './backoff.ts';
import { nextCronTime } from './cron.ts';
import { type JobLog, StoredJobLog } from './job-log.ts';

export interface JobContext {
  /** Aborted when the job is cancelled, or when this process stops before it ends. */
  signal: AbortSignal;
  log: JobLog;
  /** 1 for the first attempt. */
  attempt: number;
  jobId: number;
}

export type JobHandler = (payload: unknown, context: JobContext) => Promise<void>;

export interface HandlerOptions {
  /** Jobs of this type this process runs at once (within the global limit). */
  concurrency?: number;
  /** Attempts of a job of this type unless `enqueue` says otherwise. */
  maxAttempts?: number;
}

export interface EnqueueOptions {
  /** While a job with this key is unfinished, enqueueing another returns that one instead. */
  dedupeKey?: string;
  maxAttempts?: number;
  /** Epoch ms before which the job does not start. */
  runAfter?: number;
}

export interface ScheduleSpec {
  type: string;
  /** Five fields, or six with seconds first; UTC. */
  cron: string;
  payload?: unknown;
  enabled?: boolean;
}

export interface QueueInfo {
  type: string;
  /** Jobs waiting to start (queued, or waiting for a retry). */
  count: number;
  /** Seconds the oldest waiting job has waited. */
  latencySeconds: number;
  paused: boolean;
}

export type QueueAction = 'stop' | 'pause' | 'resume';

export interface JobServiceOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  /** Jobs this process runs at once. */
  workers: number;
  /** How often to look for due jobs and schedules when nothing `kick`s. */
  pollIntervalMs: number;
  /** How long a claimed job stays this worker's without a heartbeat. */
  leaseMs: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Identifies this process in the `worker` column; unique by default. */
  workerId?: string;
}

const defaultMaxAttempts = 3;

interface Registration {
  handler: JobHandler;
  concurrency: number;
  maxAttempts: number;
}

interface RunningJob {
  type: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The job service: a persistent queue in the metadata database worked by a pool of workers.
 * Jobs are claimed with a lease the heartbeat renews, so a job whose process died is claimed
 * again once its lease passes; failed attempts are retried with backoff; cron schedules
 * enqueue jobs at their times. Several processes may share one database.
 */
export class JobService {
  readonly workerId: string;
  private readonly handlers = new Map<string, Registration>();
  private readonly running = new Map<number, RunningJob>();
  /** Jobs given back by `stop`: whatever their handler does now is not recorded. */
  private readonly released = new Set<number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private cycle: Promise<void> | undefined;
  private cycleAgain = false;
  private started = false;
  private stopping = false;

  constructor(private readonly options: JobServiceOptions) {
    this.workerId = options.workerId ?? `berth-${randomUUID()}`;
  }

  register(type: string, handler: JobHandler, options: HandlerOptions = {}): void {
    if (this.handlers.has(type)) throw new Error(`a handler for job type ${type} is already registered`);
    this.handlers.set(type, {
      handler,
      concurrency: options.concurrency ?? this.options.workers,
      maxAttempts: options.maxAttempts ?? defaultMaxAttempts,
    });
    this.kick();
  }

  /** The job types this process has handlers for. */
  types(): string[] {
    return [...this.handlers.keys()];
  }

  async enqueue(
    type: string,
    payload: unknown,
    options: EnqueueOptions = {},
  ): Promise<{ job: JobRow; created: boolean }> {
    const { db, clock } = this.options;
    const now = clock.now();
    const key = options.dedupeKey;
    if (key !== undefined) {
      const existing = await db.jobs.findActiveByDedupeKey(key);
      if (existing) return { job: existing, created: false };
    }
    try {
      const job = await db.jobs.insert({
        type,
        payload: JSON.stringify(payload ?? null),
        status: 'queued',
        attempts: 0,
        max_attempts: options.maxAttempts ?? this.handlers.get(type)?.maxAttempts ?? defaultMaxAttempts,
        run_after: options.runAfter ?? now,
        lease_until: null,
        worker: null,
        last_error: null,
        dedupe_key: key ?? null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      });
      this.kick();
      return { job, created: true };
    } catch (error) {
      // Another process enqueued the same key between the look-up and the insert.
      const existing = key === undefined ? undefined : await db.jobs.findActiveByDedupeKey(key);
      if (existing) return { job: existing, created: false };
      throw error;
    }
  }

  async job(id: number): Promise<JobRow | undefined> {
    return this.options.db.jobs.findById(id);
  }

  async logs(id: number) {
    return this.options.db.jobs.logs(id);
  }

  /**
   * Cancels an unfinished job: a waiting one at once; a running one is marked cancelled and its
   * handler's signal aborted (here, or by its own process's next heartbeat). False if the job
   * is missing or already finished.
   */
  async cancel(id: number): Promise<boolean> {
    const { db, clock } = this.options;
    const before = await db.jobs.cancel(id, clock.now());
    if (!before) return false;
    await db.jobs.appendLog({ job_id: id, logged_at: clock.now(), level: 'info', message: 'cancelled' });
    this.running.get(id)?.controller.abort(new Error('the job was cancelled'));
    return true;
  }

  /** Creates or replaces a cron schedule; its first run is the first time after now. */
  async schedule(name: string, spec: ScheduleSpec): Promise<void> {
    const now = this.options.clock.now();
    await this.options.db.jobs.upsertSchedule({
      name,
      type: spec.type,
      cron: spec.cron,
      payload: JSON.stringify(spec.payload ?? null),
      next_run_at: nextCronTime(spec.cron, now),
      enabled: spec.enabled === false ? 0 : 1,
      updated_at: now,
    });
  }

  async unschedule(name: string): Promise<boolean> {
    return this.options.db.jobs.deleteSchedule(name);
  }

  async findSchedule(name: string) {
    return this.options.db.jobs.findSchedule(name);
  }

  /** Every type with a handler here or jobs waiting, with its waiting jobs. */
  async queues(): Promise<QueueInfo[]> {
    const { db, clock } = this.options;
    const [rows, paused] = await Promise.all([db.jobs.queues(), db.jobs.pausedTypes()]);
    const now = clock.now();
    const types = new Set([...this.handlers.keys(), ...rows.map((row) => row.type)]);
    return [...types].sort().map((type) => {
      const row = rows.find((candidate) => candidate.type === type);
      return {
        type,
        count: row?.count ?? 0,
        latencySeconds: row?.oldest == null ? 0 : Math.max(0, Math.floor((now - row.oldest) / 1000)),
        paused: paused.includes(type),
      };
    });
  }

  /**
   * Harbor's queue actions on one type (`undefined`: all): `stop` cancels its waiting jobs,
   * `pause` stops workers claiming it (waiting jobs stay), `resume` undoes `pause`.
   */
  async queueAction(type: string | undefined, action: QueueAction): Promise<void> {
    const { db, clock } = this.options;
    if (action === 'stop') {
      await db.jobs.cancelWaiting(type, clock.now());
    } else if (action === 'pause') {
      const types = type === undefined ? (await this.queues()).map((queue) => queue.type) : [type];
      for (const each of types) await db.jobs.pause(each, clock.now());
    } else {
      await db.jobs.resume(type);
      this.kick();
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.pollTimer.unref();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(10, this.options.leaseMs / 3));
    this.heartbeatTimer.unref();
    this.kick();
  }

  /** Looks for due schedules and jobs now rather than at the next poll. */
  kick(): void {
    if (!this.started || this.stopping) return;
    if (this.cycle) {
      this.cycleAgain = true;
      return;
    }
    this.cycle = this.runCycle()
      .catch((error: unknown) => this.options.log.error({ err: error }, 'job service cycle failed'))
      .finally(() => {
        this.cycle = undefined;
        if (this.cycleAgain) {
          this.cycleAgain = false;
          this.kick();
        }
      });
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for running jobs, then gives the rest back (their
   * signals aborted, their leases ended) so the next process claims them at once.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    clearInterval(this.pollTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    await this.cycle;
    await this.waitForRunning(timeoutMs);
    clearInterval(this.heartbeatTimer);
    const left = [...this.running.keys()];
    if (left.length > 0) {
      for (const id of left) this.released.add(id);
      await this.options.db.jobs.release(this.workerId, left, this.options.clock.now());
      for (const id of left) this.running.get(id)?.controller.abort(new Error('berth is stopping'));
      this.options.log.info({ jobs: left }, 'running jobs given back for another worker');
      // A moment for aborted handlers to wind down before the database closes.
      await this.waitForRunning(1000);
    }
  }

  private async waitForRunning(timeoutMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((job) => job.done)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private async runCycle(): Promise<void> {
    await this.enqueueDueSchedules();
    const { db, clock, log } = this.options;
    const abandoned = await db.jobs.failAbandonedExhausted(
      clock.now(),
      'the worker running the last attempt stopped',
    );
    if (abandoned.length > 0)
      log.warn({ jobs: abandoned }, 'jobs abandoned by a dead worker ran out of attempts');
    while (!this.stopping && this.running.size < this.options.workers) {
      const now = clock.now();
      const job = await db.jobs.claim({
        worker: this.workerId,
        now,
        leaseUntil: now + this.options.leaseMs,
        types: this.typesWithCapacity(),
      });
      if (!job) return;
      this.launch(job);
    }
  }

  private typesWithCapacity(): string[] {
    const counts = new Map<string, number>();
    for (const job of this.running.values()) counts.set(job.type, (counts.get(job.type) ?? 0) + 1);
    return [...this.handlers.entries()]
      .filter(([type, registration]) => (counts.get(type) ?? 0) < registration.concurrency)
      .map(([type]) => type);
  }

  private async enqueueDueSchedules(): Promise<void> {
    const { db, clock, log } = this.options;
    const now = clock.now();
    for (const schedule of await db.jobs.dueSchedules(now)) {
      let next: number;
      try {
        // From now, not from the missed time: runs missed while Berth was down become one run.
        next = nextCronTime(schedule.cron, now);
      } catch (error) {
        log.error({ err: error, schedule: schedule.name }, 'a job schedule has a bad cron expression');
        continue;
      }
      if (!(await db.jobs.advanceSchedule(schedule.name, schedule.next_run_at, next, now))) continue;
      await this.enqueue(schedule.type, JSON.parse(schedule.payload), {
        dedupeKey: `schedule:${schedule.name}`,
      });
    }
  }

  private launch(job: JobRow): void {
    const controller = new AbortController();
    const entry: RunningJob = { type: job.type, controller, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.execute(job, controller.signal)
      .catch((error: unknown) =>
        this.options.log.error({ err: error, job: job.id }, 'job outcome not recorded'),
      )
      .finally(() => {
        this.running.delete(job.id);
        this.released.delete(job.id);
        this.kick();
      });
  }

  private async execute(job: JobRow, signal: AbortSignal): Promise<void> {
    const { db, clock, log } = this.options;
    const registration = this.handlers.get(job.type);
    if (!registration) throw new Error(`no handler for job type ${job.type}`);
    const jobLog = new StoredJobLog(job.id, db, clock, log);
    jobLog.info(`attempt ${job.attempts} of ${job.max_attempts} started`);
    let failure: string | undefined;
    try {
      // Parsed here so a payload that is not JSON fails the attempt like any other error.
      await registration.handler(JSON.parse(job.payload), {
        signal,
        log: jobLog,
        attempt: job.attempts,
        jobId: job.id,
      });
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (this.released.has(job.id)) {
      jobLog.info('stopped with Berth; another worker will take it');
      await jobLog.flush();
      return;
    }
    if (failure === undefined && !signal.aborted) {
      jobLog.info('succeeded');
      await jobLog.flush();
      await db.jobs.settle(job.id, this.workerId, { status: 'succeeded', now: clock.now() });
      return;
    }
    const message = failure ?? 'aborted';
    if (signal.aborted) {
      // Cancelled, or taken by another worker after a missed heartbeat: the row says which.
      jobLog.info(`ended after its signal was aborted: ${message}`);
      await jobLog.flush();
      await db.jobs.settle(job.id, this.workerId, {
        status: 'cancelled',
        now: clock.now(),
        lastError: message,
      });
      return;
    }
    if (job.attempts < job.max_attempts) {
      const delay = retryDelayMs(
        job.attempts,
        this.options.retryBaseMs ?? 10_000,
        this.options.retryMaxMs ?? 3_600_000,
      );
      jobLog.warn(`attempt ${job.attempts} failed: ${message}; next attempt in ${delay} ms`);
      await jobLog.flush();
      const now = clock.now();
      if (
        await db.jobs.settle(job.id, this.workerId, {
          status: 'failed',
          now,
          runAfter: now + delay,
          lastError: message,
        })
      )
        this.kickAfter(delay);
      return;
    }
    jobLog.error(`attempt ${job.attempts} failed: ${message}; no attempts left`);
    await jobLog.flush();
    await db.jobs.settle(job.id, this.workerId, { status: 'error', now: clock.now(), lastError: message });
  }

  private kickAfter(delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.kick();
    }, delayMs);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** Renews the leases of the jobs running here; aborts those this worker no longer holds. */
  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()].filter((id) => !this.released.has(id));
    if (ids.length === 0) return;
    const { db, clock, log } = this.options;
    try {
      const now = clock.now();
      const held = new Set(await db.jobs.renewLeases(this.workerId, ids, now + this.options.leaseMs, now));
      for (const id of ids) {
        if (!held.has(id))
          this.running.get(id)?.controller.abort(new Error('the job was cancelled or taken over'));
      }
    } catch (error) {
      log.warn({ err: error }, 'job lease renewal failed');
    }
  }
}
