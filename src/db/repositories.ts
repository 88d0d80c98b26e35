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

  /** Names of the repositories in a project (`project/…`), in order. */
  async findInProject(project: string): Promise<string[]> {
    // A range rather than LIKE: project names may contain `_`, a LIKE wildcard. '0' follows '/'.
    const rows = await this.db
      .selectFrom('repositories')
      .select('name')
      .where('name', '>', `${project}/`)
      .where('name', '<', `${project}0`)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('manifests').select('digest').whereRef('manifests.repository', '=', 'repositories.name'),
        ),
      )
      .orderBy('name')
      .execute();
    return rows.map((row) => row.name);
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
