import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * Vulnerability scan reports. A report belongs to a manifest digest, not a repository: the same
 * content pushed to two repositories is scanned once and its report shown in both.
 */
export const scanTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('scan_reports'))
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('scanner_name', 'text', (column) => column.notNull())
      .addColumn('scanner_version', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('report', 'text')
      .addColumn('summary', 'text')
      .addColumn('db_version', 'text')
      .addColumn('db_imported_at', 'bigint')
      .addColumn('job_id', 'integer')
      .addColumn('requested_at', 'bigint', (column) => column.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createIndex('scan_reports_digest_scanner')
      .on('scan_reports')
      .columns(['digest', 'scanner_name'])
      .unique()
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('scan_reports').execute();
  },
};
