import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';

export interface Page {
  /** Return names sorted after this one. */
  last?: string;
  limit: number;
}

export class RepositoryQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async ensure(name: string, now: number): Promise<void> {
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: now })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
  }

  async exists(name: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('repositories')
      .select('name')
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Repositories holding at least one manifest, in name order: the catalog. */
  async findWithManifests(page: Page): Promise<string[]> {
    let query = this.db
      .selectFrom('repositories')
      .select('name')
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('manifests').select('digest').whereRef('manifests.repository', '=', 'repositories.name'),
        ),
      )
      .orderBy('name')
      .limit(page.limit);
    if (page.last !== undefined) query = query.where('name', '>', page.last);
    return (await query.execute()).map((row) => row.name);
  }
}
