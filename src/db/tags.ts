import type { Kysely } from 'kysely';
import type { Page } from './repositories.ts';
import type { Schema } from './schema.ts';

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
}
