import { type Kysely, type Migration, sql } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * The job service's persistent queue: jobs with their leases and attempts, each job's log
 * lines, cron schedules (their next run kept here so it survives a restart) and the job types
 * whose queue an administrator paused.
 */
export const jobTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('jobs'))
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('payload', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (column) => column.notNull())
      .addColumn('run_after', 'bigint', (column) => column.notNull())
      .addColumn('lease_until', 'bigint')
      .addColumn('worker', 'text')
      .addColumn('last_error', 'text')
      .addColumn('dedupe_key', 'text')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('jobs_claimable').on('jobs').columns(['status', 'run_after']).execute();
    await db.schema.createIndex('jobs_type_status').on('jobs').columns(['type', 'status']).execute();
    // At most one unfinished job per dedupe key; finished ones keep their key as history.
    await db.schema
      .createIndex('jobs_active_dedupe_key')
      .on('jobs')
      .column('dedupe_key')
      .unique()
      .where(sql<boolean>`dedupe_key is not null and status in ('queued', 'running', 'failed')`)
      .execute();

    await withIdColumn(db, db.schema.createTable('job_logs'))
      .addColumn('job_id', 'integer', (column) => column.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('logged_at', 'bigint', (column) => column.notNull())
      .addColumn('level', 'text', (column) => column.notNull())
      .addColumn('message', 'text', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'id']).execute();

    await db.schema
      .createTable('job_schedules')
      .addColumn('name', 'text', (column) => column.primaryKey())
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('cron', 'text', (column) => column.notNull())
      .addColumn('payload', 'text', (column) => column.notNull())
      .addColumn('next_run_at', 'bigint', (column) => column.notNull())
      .addColumn('enabled', 'integer', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('paused_job_types')
      .addColumn('type', 'text', (column) => column.primaryKey())
      .addColumn('paused_at', 'bigint', (column) => column.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['paused_job_types', 'job_schedules', 'job_logs', 'jobs']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
