import type { Kysely, Migration } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * What Harbor's management API says about content beyond the registry's own tables: numeric ids
 * for repositories, artifacts and tags (assigned the first time the API lists them, then stable)
 * and repository descriptions. Artifact and tag ids go when their manifest or tag goes.
 */
export const contentTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('repository_details'))
      .addColumn('name', 'text', (column) => column.notNull().unique())
      .addColumn('description', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();

    await withIdColumn(db, db.schema.createTable('artifact_ids'))
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('digest', 'text', (column) => column.notNull())
      .addUniqueConstraint('artifact_ids_manifest', ['repository', 'digest'])
      .addForeignKeyConstraint(
        'artifact_ids_manifest_fk',
        ['repository', 'digest'],
        'manifests',
        ['repository', 'digest'],
        (constraint) => constraint.onDelete('cascade'),
      )
      .execute();

    await withIdColumn(db, db.schema.createTable('tag_ids'))
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('name', 'text', (column) => column.notNull())
      .addUniqueConstraint('tag_ids_tag', ['repository', 'name'])
      .addForeignKeyConstraint(
        'tag_ids_tag_fk',
        ['repository', 'name'],
        'tags',
        ['repository', 'name'],
        (constraint) => constraint.onDelete('cascade'),
      )
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['tag_ids', 'artifact_ids', 'repository_details']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
