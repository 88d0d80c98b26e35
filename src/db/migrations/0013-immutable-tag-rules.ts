import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * Harbor's immutable tag rules, per project. `definition` holds the rule's selectors, action,
 * template, params and priority as JSON (Harbor's `tag_filter`); one project cannot hold the same
 * definition twice (compared by its SHA-256, which any index can hold). Rules go with their project.
 */
export const immutableTagRuleTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('immutable_tag_rules'))
      .addColumn('project_id', 'integer', (column) =>
        column.notNull().references('projects.id').onDelete('cascade'),
      )
      .addColumn('definition', 'text', (column) => column.notNull())
      .addColumn('definition_sha256', 'text', (column) => column.notNull())
      .addColumn('disabled', 'integer', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .addUniqueConstraint('immutable_tag_rules_definition', ['project_id', 'definition_sha256'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('immutable_tag_rules').execute();
  },
};
