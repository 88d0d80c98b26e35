import type { Kysely, Selectable } from 'kysely';
import type { Schema, VulndbMirrorSourceTable } from './schema.ts';

export type VulndbMirrorSourceRow = Selectable<VulndbMirrorSourceTable>;

/** `vulndb_mirror_sources`: per mirror URL, its validators and the outcome of the last sync. */
export class VulndbMirrorQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async find(url: string): Promise<VulndbMirrorSourceRow | undefined> {
    return this.db.selectFrom('vulndb_mirror_sources').selectAll().where('url', '=', url).executeTakeFirst();
  }

  async list(): Promise<VulndbMirrorSourceRow[]> {
    return this.db.selectFrom('vulndb_mirror_sources').selectAll().orderBy('url').execute();
  }

  async save(row: VulndbMirrorSourceRow): Promise<void> {
    const { url, ...rest } = row;
    await this.db
      .insertInto('vulndb_mirror_sources')
      .values(row)
      .onConflict((conflict) => conflict.column('url').doUpdateSet(rest))
      .execute();
  }
}
