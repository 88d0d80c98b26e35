import type { Kysely, Migration } from 'kysely';

export const registryTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('repositories')
      .addColumn('name', 'text', (column) => column.primaryKey())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('blobs')
      .addColumn('digest', 'text', (column) => column.primaryKey())
      .addColumn('size', 'bigint', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('repository_blobs')
      .addColumn('repository', 'text', (column) =>
        column.notNull().references('repositories.name').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (column) => column.notNull().references('blobs.digest'))
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('repository_blobs_pk', ['repository', 'digest'])
      .execute();
    await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

    await db.schema
      .createTable('manifests')
      .addColumn('repository', 'text', (column) =>
        column.notNull().references('repositories.name').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('media_type', 'text', (column) => column.notNull())
      .addColumn('size', 'bigint', (column) => column.notNull())
      .addColumn('artifact_type', 'text')
      .addColumn('subject', 'text')
      .addColumn('annotations', 'text')
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('manifests_pk', ['repository', 'digest'])
      .execute();
    await db.schema
      .createIndex('manifests_subject')
      .on('manifests')
      .columns(['repository', 'subject'])
      .execute();

    await db.schema
      .createTable('manifest_references')
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('manifest', 'text', (column) => column.notNull())
      .addColumn('child', 'text', (column) => column.notNull())
      .addColumn('kind', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('manifest_references_pk', ['repository', 'manifest', 'child'])
      .addForeignKeyConstraint(
        'manifest_references_manifest',
        ['repository', 'manifest'],
        'manifests',
        ['repository', 'digest'],
        (constraint) => constraint.onDelete('cascade'),
      )
      .execute();
    await db.schema
      .createIndex('manifest_references_child')
      .on('manifest_references')
      .columns(['repository', 'child'])
      .execute();

    await db.schema
      .createTable('tags')
      .addColumn('repository', 'text', (column) => column.notNull())
      .addColumn('name', 'text', (column) => column.notNull())
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('tags_pk', ['repository', 'name'])
      .addForeignKeyConstraint(
        'tags_manifest',
        ['repository', 'digest'],
        'manifests',
        ['repository', 'digest'],
        (constraint) => constraint.onDelete('cascade'),
      )
      .execute();
    await db.schema.createIndex('tags_digest').on('tags').columns(['repository', 'digest']).execute();

    await db.schema
      .createTable('uploads')
      .addColumn('id', 'text', (column) => column.primaryKey())
      .addColumn('repository', 'text', (column) =>
        column.notNull().references('repositories.name').onDelete('cascade'),
      )
      .addColumn('size', 'bigint', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('uploads_updated_at').on('uploads').column('updated_at').execute();
    await db.schema.createIndex('uploads_repository').on('uploads').column('repository').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      'uploads',
      'tags',
      'manifest_references',
      'manifests',
      'repository_blobs',
      'blobs',
      'repositories',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
