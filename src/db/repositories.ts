import type { Kysely } from 'kysely';
import { listedArtifact } from './manifests.ts';
import type { Schema } from './schema.ts';

export interface Page {
  /** Return names sorted after this one. */
  last?: string;
  limit: number;
}

/** A repository as the management API shows it. */
export interface RepositorySummary {
  id: number;
  name: string;
  description: string;
  created_at: number;
  /** The later of the last push and the last description change. */
  updated_at: number;
  /** Manifests that artifact lists show (not index children, not referrers). */
  artifact_count: number;
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

  /**
   * Repositories holding manifests, all or those of one project, in name order. Gives each its
   * numeric id the first time it is seen here (a no-op insert after that).
   */
  async findSummaries(scope: { project?: string; name?: string } = {}): Promise<RepositorySummary[]> {
    const { project, name } = scope;
    const holdingManifests = this.db
      .selectFrom('repositories')
      .select(['repositories.name', 'repositories.created_at'])
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('manifests').select('digest').whereRef('manifests.repository', '=', 'repositories.name'),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('repository_details')
              .select('id')
              .whereRef('repository_details.name', '=', 'repositories.name'),
          ),
        ),
      )
      .$if(project !== undefined, (query) =>
        query.where('name', '>', `${project}/`).where('name', '<', `${project}0`),
      )
      .$if(name !== undefined, (query) => query.where('name', '=', name!))
      .orderBy('repositories.created_at');
    await this.db
      .insertInto('repository_details')
      .columns(['name', 'updated_at'])
      .expression(holdingManifests)
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();

    const rows = await this.db
      .selectFrom('repositories')
      .innerJoin('repository_details', 'repository_details.name', 'repositories.name')
      .select((eb) => [
        'repository_details.id',
        'repositories.name',
        'repository_details.description',
        'repositories.created_at',
        'repository_details.updated_at',
        eb
          .selectFrom('manifests')
          .whereRef('manifests.repository', '=', 'repositories.name')
          .select((inner) => inner.fn.max('manifests.created_at').as('t'))
          .as('last_push'),
        eb
          .selectFrom('manifests')
          .whereRef('manifests.repository', '=', 'repositories.name')
          .where(listedArtifact)
          .select((inner) => inner.fn.countAll<number>().as('n'))
          .as('artifact_count'),
      ])
      .$if(project !== undefined, (query) =>
        query.where('repositories.name', '>', `${project}/`).where('repositories.name', '<', `${project}0`),
      )
      .$if(name !== undefined, (query) => query.where('repositories.name', '=', name!))
      .orderBy('repositories.name')
      .execute();
    return rows
      .filter((row) => row.last_push !== null)
      .map((row) => ({
        id: Number(row.id),
        name: row.name,
        description: row.description,
        created_at: Number(row.created_at),
        updated_at: Math.max(Number(row.updated_at), Number(row.last_push)),
        artifact_count: Number(row.artifact_count ?? 0),
      }));
  }

  async setDescription(name: string, description: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('repository_details')
      .set({ description, updated_at: now })
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Forgets a deleted repository's id and description; a later push starts afresh. */
  async deleteDetails(name: string): Promise<void> {
    await this.db.deleteFrom('repository_details').where('name', '=', name).execute();
  }
}
