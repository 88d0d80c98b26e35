import type { Kysely, Selectable } from 'kysely';
import type { ProjectTable, Schema } from './schema.ts';

export type ProjectRow = Selectable<ProjectTable>;

export class ProjectQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(
    project: { name: string; owner_id: number; now: number },
    metadata: Record<string, string>,
  ): Promise<number> {
    const row = await this.db
      .insertInto('projects')
      .values({
        name: project.name,
        owner_id: project.owner_id,
        created_at: project.now,
        updated_at: project.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    await this.setMetadata(id, metadata);
    return id;
  }

  async findAll(): Promise<ProjectRow[]> {
    return this.db.selectFrom('projects').selectAll().orderBy('name').execute();
  }

  /** Every project's metadata, by project id. */
  async allMetadata(): Promise<Map<number, Record<string, string>>> {
    const rows = await this.db.selectFrom('project_metadata').selectAll().execute();
    const byProject = new Map<number, Record<string, string>>();
    for (const row of rows) {
      const entries = byProject.get(Number(row.project_id)) ?? {};
      entries[row.name] = row.value;
      byProject.set(Number(row.project_id), entries);
    }
    return byProject;
  }

  async findById(id: number): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByName(name: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async metadata(projectId: number): Promise<Record<string, string>> {
    const rows = await this.db
      .selectFrom('project_metadata')
      .select(['name', 'value'])
      .where('project_id', '=', projectId)
      .execute();
    return Object.fromEntries(rows.map((row) => [row.name, row.value]));
  }

  /** Sets (or replaces) the given metadata entries; others are left as they are. */
  async setMetadata(projectId: number, entries: Record<string, string>): Promise<void> {
    for (const [name, value] of Object.entries(entries)) {
      await this.db
        .insertInto('project_metadata')
        .values({ project_id: projectId, name, value })
        .onConflict((conflict) => conflict.columns(['project_id', 'name']).doUpdateSet({ value }))
        .execute();
    }
  }

  async deleteMetadata(projectId: number, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('project_metadata')
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async touch(id: number, now: number): Promise<void> {
    await this.db.updateTable('projects').set({ updated_at: now }).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
