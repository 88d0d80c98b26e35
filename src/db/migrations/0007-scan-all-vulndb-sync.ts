import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * What scanning keeps beyond a report: the packages a scan matched (so a new vulnerability
 * database re-evaluates reports without reading layers again), the scan-all runs with the digests
 * each one asked to scan, and what the vulnerability database mirror last answered per URL.
 */
export const scanAllAndVulndbSyncTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('scan_reports').addColumn('packages', 'text').execute();

    await withIdColumn(db, db.schema.createTable('scan_all_runs'))
      .addColumn('trigger', 'text', (column) => column.notNull())
      .addColumn('job_id', 'integer')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createTable('scan_all_tasks')
      .addColumn('run_id', 'integer', (column) =>
        column.notNull().references('scan_all_runs.id').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('repository', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('scan_all_tasks_pk', ['run_id', 'digest'])
      .execute();

    await db.schema
      .createTable('vulndb_mirror_sources')
      .addColumn('url', 'text', (column) => column.primaryKey())
      .addColumn('etag', 'text')
      .addColumn('last_modified', 'text')
      .addColumn('checked_at', 'bigint', (column) => column.notNull())
      .addColumn('outcome', 'text', (column) => column.notNull())
      .addColumn('error', 'text')
      .addColumn('bytes', 'bigint')
      .addColumn('imported_at', 'bigint')
      .addColumn('imported_records', 'integer')
      .addColumn('changed_records', 'integer')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['vulndb_mirror_sources', 'scan_all_tasks', 'scan_all_runs'])
      await db.schema.dropTable(table).execute();
    await db.schema.alterTable('scan_reports').dropColumn('packages').execute();
  },
};
