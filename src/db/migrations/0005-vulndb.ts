import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * The offline vulnerability database: OSV advisories imported from a mirror, their aliases
 * (CVE ids and the like), the packages each one affects (looked up by base ecosystem and name
 * when an image is scanned) and the history of imports.
 */
export const vulndbTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('advisories')
      .addColumn('id', 'text', (column) => column.primaryKey())
      .addColumn('modified', 'text', (column) => column.notNull())
      .addColumn('published', 'text')
      .addColumn('withdrawn', 'text')
      .addColumn('summary', 'text')
      .addColumn('details', 'text')
      .addColumn('severity', 'text', (column) => column.notNull())
      .addColumn('cvss_vector', 'text')
      .addColumn('cvss_score', 'real')
      .addColumn('aliases', 'text', (column) => column.notNull())
      .addColumn('references', 'text', (column) => column.notNull())
      .addColumn('raw', 'text', (column) => column.notNull())
      .execute();

    await withIdColumn(db, db.schema.createTable('advisory_aliases'))
      .addColumn('alias', 'text', (column) => column.notNull())
      .addColumn('advisory_id', 'text', (column) =>
        column.notNull().references('advisories.id').onDelete('cascade'),
      )
      .execute();
    await db.schema.createIndex('advisory_aliases_alias').on('advisory_aliases').column('alias').execute();
    await db.schema
      .createIndex('advisory_aliases_advisory')
      .on('advisory_aliases')
      .column('advisory_id')
      .execute();

    await withIdColumn(db, db.schema.createTable('affected_packages'))
      .addColumn('advisory_id', 'text', (column) =>
        column.notNull().references('advisories.id').onDelete('cascade'),
      )
      .addColumn('ecosystem', 'text', (column) => column.notNull())
      .addColumn('base_ecosystem', 'text', (column) => column.notNull())
      .addColumn('package_name', 'text', (column) => column.notNull())
      .addColumn('purl', 'text')
      .addColumn('ranges', 'text', (column) => column.notNull())
      .addColumn('versions', 'text', (column) => column.notNull())
      .execute();
    await db.schema
      .createIndex('affected_packages_lookup')
      .on('affected_packages')
      .columns(['base_ecosystem', 'package_name'])
      .execute();
    await db.schema
      .createIndex('affected_packages_advisory')
      .on('affected_packages')
      .column('advisory_id')
      .execute();

    await withIdColumn(db, db.schema.createTable('vulndb_imports'))
      .addColumn('source', 'text', (column) => column.notNull())
      .addColumn('imported_at', 'bigint', (column) => column.notNull())
      .addColumn('count', 'integer', (column) => column.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['vulndb_imports', 'affected_packages', 'advisory_aliases', 'advisories']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
