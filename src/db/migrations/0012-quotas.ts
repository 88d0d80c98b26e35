import { type Kysely, type Migration, sql } from 'kysely';
import { withIdColumn } from './columns.ts';

/**
 * Harbor's project storage quotas (see `src/db/quotas.ts` for what counts): one quota per
 * project, and the digests its usage is the sum of. Existing projects get an unlimited quota
 * (`-1`: the configured default is not known here) and the usage their manifests account for
 * now: each manifest and every blob a manifest references, once per project.
 */
export const quotaTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await withIdColumn(db, db.schema.createTable('quotas'))
      .addColumn('project_id', 'integer', (column) =>
        column.notNull().unique().references('projects.id').onDelete('cascade'),
      )
      // Bytes; -1: unlimited.
      .addColumn('hard_storage', 'bigint', (column) => column.notNull())
      .addColumn('used_storage', 'bigint', (column) => column.notNull())
      .addColumn('created_at', 'bigint', (column) => column.notNull())
      .addColumn('updated_at', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .createTable('project_blobs')
      .addColumn('project_id', 'integer', (column) =>
        column.notNull().references('projects.id').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (column) => column.notNull())
      .addColumn('size', 'bigint', (column) => column.notNull())
      .addPrimaryKeyConstraint('project_blobs_pk', ['project_id', 'digest'])
      .execute();
    // Releasing a digest asks whether any manifest of the project is it or references it.
    await db.schema
      .createIndex('manifests_digest')
      .on('manifests')
      .columns(['digest', 'repository'])
      .execute();
    await db.schema
      .createIndex('manifest_references_child_repository')
      .on('manifest_references')
      .columns(['child', 'repository'])
      .execute();
    await backfill(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('manifest_references_child_repository').execute();
    await db.schema.dropIndex('manifests_digest').execute();
    await db.schema.dropTable('project_blobs').execute();
    await db.schema.dropTable('quotas').execute();
  },
};

async function backfill(db: Kysely<unknown>): Promise<void> {
  const now = Date.now();
  const projects = await sql<{ id: number; name: string }>`select id, name from projects`.execute(db);
  for (const project of projects.rows) {
    // Repositories of the project: `name/…`; '0' is the character after '/'.
    const low = `${project.name}/`;
    const high = `${project.name}0`;
    await sql`
      insert into project_blobs (project_id, digest, size)
      select ${project.id}, digest, max(size) from (
        select digest, size from manifests where repository > ${low} and repository < ${high}
        union all
        select r.child as digest, b.size as size
          from manifest_references r join blobs b on b.digest = r.child
          where r.kind = 'blob' and r.repository > ${low} and r.repository < ${high}
      ) as held
      group by digest`.execute(db);
    await sql`
      insert into quotas (project_id, hard_storage, used_storage, created_at, updated_at)
      select ${project.id}, -1, coalesce(sum(size), 0), ${now}, ${now}
        from project_blobs where project_id = ${project.id}`.execute(db);
  }
}
