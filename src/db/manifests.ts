import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import { inBatches } from './batches.ts';
import { preparedQuery } from './prepared-query.ts';
import type { ManifestReferenceTable, ManifestTable, Schema } from './schema.ts';

export type ManifestRow = Selectable<ManifestTable>;
export type ManifestReference = Omit<ManifestReferenceTable, 'repository' | 'manifest'>;

const manifestColumns = [
  'manifests.repository',
  'manifests.digest',
  'manifests.media_type',
  'manifests.size',
  'manifests.artifact_type',
  'manifests.subject',
  'manifests.annotations',
  'manifests.created_at',
] as const;

/** A manifest with its numeric artifact id, as the management API lists it. */
export type ArtifactRow = ManifestRow & { id: number };

/**
 * Whether a manifest is an artifact of its own in Harbor's lists: neither an index's child nor a
 * referrer (an accessory such as a signature) of a manifest the repository holds.
 */
export function listedArtifact(eb: ExpressionBuilder<Schema, 'manifests'>) {
  return eb.and([
    eb.not(
      eb.exists(
        eb
          .selectFrom('manifest_references as parent')
          .select('parent.child')
          .whereRef('parent.repository', '=', 'manifests.repository')
          .whereRef('parent.child', '=', 'manifests.digest')
          .where('parent.kind', '=', 'manifest'),
      ),
    ),
    eb.or([
      eb('manifests.subject', 'is', null),
      eb.not(
        eb.exists(
          eb
            .selectFrom('manifests as subject')
            .select('subject.digest')
            .whereRef('subject.repository', '=', 'manifests.repository')
            .whereRef('subject.digest', '=', 'manifests.subject'),
        ),
      ),
    ]),
  ]);
}

export class ManifestQueries {
  private readonly selectByDigest;
  private readonly selectByTag;

  constructor(private readonly db: Kysely<Schema>) {
    this.selectByDigest = preparedQuery<ManifestRow, [string, string]>(db, 2, (repository, digest) =>
      db
        .selectFrom('manifests')
        .select(manifestColumns)
        .where('repository', '=', repository!)
        .where('digest', '=', digest!),
    );
    this.selectByTag = preparedQuery<ManifestRow, [string, string]>(db, 2, (repository, tag) =>
      db
        .selectFrom('tags')
        .innerJoin('manifests', (join) =>
          join
            .onRef('manifests.repository', '=', 'tags.repository')
            .onRef('manifests.digest', '=', 'tags.digest'),
        )
        .select(manifestColumns)
        .where('tags.repository', '=', repository!)
        .where('tags.name', '=', tag!),
    );
  }

  /** Records a manifest and what it references; a manifest already recorded is left as it is. */
  async insert(row: ManifestRow, references: readonly ManifestReference[]): Promise<void> {
    await this.db
      .insertInto('manifests')
      .values(row)
      .onConflict((conflict) => conflict.columns(['repository', 'digest']).doNothing())
      .execute();
    const unique = [...new Map(references.map((reference) => [reference.child, reference])).values()];
    for (const batch of inBatches(unique, 200)) {
      await this.db
        .insertInto('manifest_references')
        .values(
          batch.map((reference) => ({ ...reference, repository: row.repository, manifest: row.digest })),
        )
        .onConflict((conflict) => conflict.columns(['repository', 'manifest', 'child']).doNothing())
        .execute();
    }
  }

  async find(repository: string, digest: string): Promise<ManifestRow | undefined> {
    return (await this.selectByDigest(repository, digest))[0];
  }

  async findByTag(repository: string, tag: string): Promise<ManifestRow | undefined> {
    return (await this.selectByTag(repository, tag))[0];
  }

  /** Which of `digests` are manifests of the repository, with their sizes. */
  async findMany(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const batch of inBatches([...new Set(digests)])) {
      const rows = await this.db
        .selectFrom('manifests')
        .select(['digest', 'size'])
        .where('repository', '=', repository)
        .where('digest', 'in', batch)
        .execute();
      for (const row of rows) found.set(row.digest, Number(row.size));
    }
    return found;
  }

  /** Manifests whose `subject` is `digest`, in digest order, after `after`. */
  async findReferrers(
    repository: string,
    digest: string,
    page: { artifactType?: string; after?: string; limit: number },
  ): Promise<ManifestRow[]> {
    let query = this.db
      .selectFrom('manifests')
      .select(manifestColumns)
      .where('repository', '=', repository)
      .where('subject', '=', digest);
    if (page.artifactType !== undefined) query = query.where('artifact_type', '=', page.artifactType);
    if (page.after !== undefined) query = query.where('digest', '>', page.after);
    return query.orderBy('digest').limit(page.limit).execute();
  }

  async delete(repository: string, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('manifests')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Every manifest of the repository with its artifact id, oldest first; ids are assigned here
   * the first time a manifest is seen (a no-op insert after that).
   */
  async findArtifacts(repository: string): Promise<ArtifactRow[]> {
    await this.db
      .insertInto('artifact_ids')
      .columns(['repository', 'digest'])
      .expression(
        this.db
          .selectFrom('manifests')
          .select(['manifests.repository', 'manifests.digest'])
          .where('manifests.repository', '=', repository)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('artifact_ids')
                  .select('artifact_ids.id')
                  .whereRef('artifact_ids.repository', '=', 'manifests.repository')
                  .whereRef('artifact_ids.digest', '=', 'manifests.digest'),
              ),
            ),
          )
          .orderBy('manifests.created_at'),
      )
      .onConflict((conflict) => conflict.columns(['repository', 'digest']).doNothing())
      .execute();
    const rows = await this.db
      .selectFrom('manifests')
      .innerJoin('artifact_ids', (join) =>
        join
          .onRef('artifact_ids.repository', '=', 'manifests.repository')
          .onRef('artifact_ids.digest', '=', 'manifests.digest'),
      )
      .select([...manifestColumns, 'artifact_ids.id'])
      .where('manifests.repository', '=', repository)
      .orderBy('artifact_ids.id')
      .execute();
    return rows.map((row) => ({ ...row, id: Number(row.id) }));
  }

  /** The manifests of the repository that some index of it lists. */
  async findIndexChildren(repository: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('manifest_references')
      .select('child')
      .distinct()
      .where('repository', '=', repository)
      .where('kind', '=', 'manifest')
      .execute();
    return new Set(rows.map((row) => row.child));
  }

  /** The manifests of the repository that the index `digest` lists. */
  async findChildren(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references')
      .select('child')
      .where('repository', '=', repository)
      .where('manifest', '=', digest)
      .where('kind', '=', 'manifest')
      .execute();
    return rows.map((row) => row.child);
  }

  /** The indexes of the repository that list `digest`. */
  async findParents(repository: string, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references')
      .select('manifest')
      .where('repository', '=', repository)
      .where('child', '=', digest)
      .where('kind', '=', 'manifest')
      .execute();
    return rows.map((row) => row.manifest);
  }
}
