import type { Kysely } from 'kysely';
import { inBatches } from './batches.ts';
import { preparedQuery } from './prepared-query.ts';
import type { Schema } from './schema.ts';

export interface BlobRow {
  digest: string;
  size: number;
}

export class BlobQueries {
  private readonly selectInRepository;

  constructor(private readonly db: Kysely<Schema>) {
    this.selectInRepository = preparedQuery<BlobRow, [string, string]>(db, 2, (repository, digest) =>
      db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.digest', 'blobs.size'])
        .where('repository_blobs.repository', '=', repository!)
        .where('repository_blobs.digest', '=', digest!),
    );
  }

  async insert(digest: string, size: number, now: number): Promise<void> {
    await this.db
      .insertInto('blobs')
      .values({ digest, size, created_at: now })
      .onConflict((conflict) => conflict.column('digest').doNothing())
      .execute();
  }

  async link(repository: string, digest: string, now: number): Promise<void> {
    await this.db
      .insertInto('repository_blobs')
      .values({ repository, digest, created_at: now })
      .onConflict((conflict) => conflict.columns(['repository', 'digest']).doNothing())
      .execute();
  }

  async unlink(repository: string, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async findInRepository(repository: string, digest: string): Promise<BlobRow | undefined> {
    return (await this.selectInRepository(repository, digest))[0];
  }

  /** Which of `digests` the repository links, with their sizes. */
  async findManyInRepository(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const batch of inBatches([...new Set(digests)])) {
      const rows = await this.db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.digest', 'blobs.size'])
        .where('repository_blobs.repository', '=', repository)
        .where('repository_blobs.digest', 'in', batch)
        .execute();
      for (const row of rows) found.set(row.digest, Number(row.size));
    }
    return found;
  }
}
