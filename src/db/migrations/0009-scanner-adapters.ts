import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * Pluggable scanners, both ways: the external scanner adapters Berth drives (Harbor's scanner
 * registrations, and which one each project uses), and the scan requests Berth accepts when it
 * serves the scanner-adapter API itself.
 */
export const scannerAdapterTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('scanner_registrations'))
      .addColumn('uuid', 'text', (column) => column.notNull().unique())
      .addColumn('name', 'text', (column) => column.notNull().unique())
      .addColumn('description', 'text', (column) => column.notNull())
      .addColumn('url', 'text', (column) => column.notNull().unique())
      .addColumn('auth', 'text', (column) => column.notNull())
      // Sealed with the secret box; '' when the adapter needs no credential.
      .addColumn('access_credential', 'text', (column) => column.notNull())
      .addColumn('skip_cert_verify', 'integer', (column) => column.notNull())
      .addColumn('use_internal_addr', 'integer', (column) => column.notNull())
      .addColumn('disabled', 'integer', (column) => column.notNull())
      .addColumn('is_default', 'integer', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createTable('project_scanners')
      .addColumn('project_id', 'integer', (column) =>
        column.primaryKey().references('projects.id').onDelete('cascade'),
      )
      .addColumn('registration_uuid', 'text', (column) => column.notNull())
      .execute();
    await withIdColumn(db, db.schema.createTable('adapter_scans'))
      .addColumn('scan_id', 'text', (column) => column.notNull().unique())
      .addColumn('registry_url', 'text', (column) => column.notNull())
      // The pull credential the request brought, sealed; cleared once the scan ends.
      .addColumn('authorization', 'text')
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('mime_type', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('report', 'text')
      .addColumn('error', 'text')
      .addColumn('requested_at', 'bigint', (column) => column.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('adapter_scans').execute();
    await db.schema.dropTable('project_scanners').execute();
    await db.schema.dropTable('scanner_registrations').execute();
  },
};
