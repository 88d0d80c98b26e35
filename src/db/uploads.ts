import type { Kysely, Selectable } from 'kysely';
import type { Schema, UploadTable } from './schema.ts';

export type UploadRow = Selectable<UploadTable>;

export class UploadQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(row: UploadRow): Promise<void> {
    await this.db.insertInto('uploads').values(row).execute();
  }

  async find(id: string): Promise<UploadRow | undefined> {
    return this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Moves the acknowledged size from `from` to `to`; false if another writer moved it first. */
  async advance(id: string, from: number, to: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ size: to, updated_at: now })
      .where('id', '=', id)
      .where('size', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async countForRepository(repository: string): Promise<number> {
    const row = await this.db
      .selectFrom('uploads')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('repository', '=', repository)
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Uploads untouched since `before`, for purging. */
  async findIdle(before: number, limit: number): Promise<UploadRow[]> {
    return this.db.selectFrom('uploads').selectAll().where('updated_at', '<', before).limit(limit).execute();
  }
}
