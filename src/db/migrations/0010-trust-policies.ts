import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * Content trust: each project's trust policy (the keys, identities and certificates whose
 * signatures it accepts, as one JSON document), and the signatures the pull gate verified.
 */
export const trustPolicyTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('trust_policies')
      .addColumn('project_id', 'integer', (column) =>
        column.primaryKey().references('projects.id').onDelete('cascade'),
      )
      .addColumn('policy', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await withIdColumn(db, db.schema.createTable('signature_verifications'))
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('format', 'text', (column) => column.notNull())
      .addColumn('signature_digest', 'text', (column) => column.notNull())
      .addColumn('signer', 'text', (column) => column.notNull())
      .addColumn('method', 'text', (column) => column.notNull())
      .addColumn('signed_at', 'text')
      .addColumn('verified_at', 'bigint', (column) => column.notNull())
      .addUniqueConstraint('signature_verifications_signature', ['repository', 'digest', 'signature_digest'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('signature_verifications').execute();
    await db.schema.dropTable('trust_policies').execute();
  },
};
