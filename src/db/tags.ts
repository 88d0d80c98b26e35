import type { Kysely } from 'kysely';
import type { Page } from './repositories.ts';
import type { Schema } from './schema.ts';

/** A tag with its numeric id, as the management API lists it. */
export interface TagRow {
  id: number;
  name: string;
  digest: string;
  updated_at: number;
}

export class TagQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  /** Points the tag at `digest`, creating or moving it. */
  async upsert(repository: string, name: string, digest: string, now: number): Promise<void> {
    await this.db
      .insertInto('tags')
      .values({ repository, name, digest, updated_at: now })
      .onConflict((conflict) =>
        conflict.columns(['repository', 'name']).doUpdateSet({ digest, updated_at: now }),
      )
      .execute();
  }

  async find(repository: string, name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .select('digest')
      .where('repository', '=', repository)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.digest;
  }

  /** Tag names in lexical (byte) order, after `page.last`. */
  async list(repository: string, page: Page): Promise<string[]> {
    let query = this.db
      .selectFrom('tags')
      .select('name')
      .where('repository', '=', repository)
      .orderBy('name')
      .limit(page.limit);
    if (page.last !== undefined) query = query.where('name', '>', page.last);
    return (await query.execute()).map((row) => row.name);
  }

  async findForManifest(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('tags')
      .select('name')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .orderBy('name')
      .execute();
    return rows.map((row) => row.name);
  }

  async delete(repository: string, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('repository', '=', repository)
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every tag of the repository with its id, assigning ids to tags seen here the first time. */
  async findWithIds(repository: string): Promise<TagRow[]> {
    await this.db
      .insertInto('tag_ids')
      .columns(['repository', 'name'])
      .expression(
        this.db
          .selectFrom('tags')
          .select(['tags.repository', 'tags.name'])
          .where('tags.repository', '=', repository)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('tag_ids')
                  .select('tag_ids.id')
                  .whereRef('tag_ids.repository', '=', 'tags.repository')
                  .whereRef('tag_ids.name', '=', 'tags.name'),
              ),
            ),
          )
          .orderBy('tags.updated_at'),
      )
      .onConflict((conflict) => conflict.columns(['repository', 'name']).doNothing())
      .execute();
    const rows = await this.db
      .selectFrom('tags')
      .innerJoin('tag_ids', (join) =>
        join.onRef('tag_ids.repository', '=', 'tags.repository').onRef('tag_ids.name', '=', 'tags.name'),
      )
      .select(['tag_ids.id', 'tags.name', 'tags.digest', 'tags.updated_at'])
      .where('tags.repository', '=', repository)
      .orderBy('tag_ids.id')
      .execute();
    return rows.map((row) => ({ ...row, id: Number(row.id), updated_at: Number(row.updated_at) }));
  }

  /** Creates the tag unless the repository already has one of that name; false if it had. */
  async insert(repository: string, name: string, digest: string, now: number): Promise<boolean> {
    const result = await this.db
      .insertInto('tags')
      .values({ repository, name, digest, updated_at: now })
      .onConflict((conflict) => conflict.columns(['repository', 'name']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}
