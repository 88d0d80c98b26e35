import type { Compilable, CompiledQuery, DialectAdapter, Generated, Kysely } from 'kysely';
import { inBatches } from './batches.ts';
import type { Schema } from './schema.ts';

/**
 * Project storage quotas, as Harbor counts them. A project's usage is the sum of the sizes of
 * the digests charged to it (`project_blobs`), each once however many of its repositories hold
 * it; a digest held by two projects is charged to each.
 *
 * - Charged when it becomes linked to one of the project's repositories: a blob upload completes
 *   or a blob is mounted there, or a manifest is pushed there — the manifest itself and every
 *   blob it references (config, layers; foreign layers are never stored, so never counted).
 *   Charging and the check against the limit happen in the transaction that links, one
 *   conditional UPDATE, so concurrent pushes never admit more than the limit.
 * - Released when a manifest or blob delete leaves no manifest of the project that is the
 *   digest or references it: deleting a manifest releases it and the blobs only it referenced
 *   (their bytes stay until garbage collection), deleting an unreferenced blob releases it.
 *   Deleting a tag releases nothing: the manifest stays.
 *
 * So a blob uploaded but not yet referenced counts from its upload on, as in Harbor, and a blob
 * whose manifests are gone stops counting even though it remains linked; a later manifest
 * pushed with it charges it again.
 */

/** A project's quota; `hard_storage` -1 means unlimited. */
export interface QuotaTable {
  id: Generated<number>;
  project_id: number;
  hard_storage: number;
  used_storage: number;
  created_at: number;
  updated_at: number;
}

/** A digest charged to a project, with its size at the time. */
export interface ProjectBlobTable {
  project_id: number;
  digest: string;
  size: number;
}

export interface StoredContent {
  digest: string;
  size: number;
}

/** A quota with the project it limits, as the API shows it. */
export interface QuotaView {
  id: number;
  projectId: number;
  projectName: string;
  ownerName: string;
  hard: number;
  used: number;
  createdAt: number;
  updatedAt: number;
}

export type ChargeOutcome =
  | { admitted: true; charged: number }
  | { admitted: false; used: number; hard: number; needed: number };

/**
 * The hot path's queries, compiled once per database and run with new parameters, inside
 * transactions too (keyed by the dialect adapter, which a transaction shares with its database).
 * `build` gets placeholder strings and must use each where its value goes.
 */
const compiledQueries = new WeakMap<
  DialectAdapter,
  Map<string, { query: CompiledQuery; positions: number[] }>
>();

async function runCompiled<Row>(
  db: Kysely<Schema>,
  name: string,
  params: readonly (string | number)[],
  build: (...placeholders: string[]) => Compilable<Row>,
): Promise<Row[]> {
  const adapter = db.getExecutor().adapter;
  let byName = compiledQueries.get(adapter);
  if (!byName) {
    byName = new Map();
    compiledQueries.set(adapter, byName);
  }
  let entry = byName.get(name);
  if (!entry) {
    const placeholders = params.map((_, index) => `\u0000quota-placeholder-${index}\u0000`);
    const query = build(...placeholders).compile();
    const positions = query.parameters.map((value) => {
      const position = placeholders.indexOf(value as string);
      if (position === -1)
        throw new Error(`compiled query ${name} has a parameter that is not a placeholder`);
      return position;
    });
    entry = { query, positions };
    byName.set(name, entry);
  }
  const { query, positions } = entry;
  const result = await db.executeQuery<Row>({
    ...query,
    parameters: positions.map((position) => params[position]),
  });
  return result.rows;
}

export class QuotaQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(projectId: number, hard: number, now: number): Promise<number> {
    const row = await this.db
      .insertInto('quotas')
      .values({
        project_id: projectId,
        hard_storage: hard,
        used_storage: 0,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Every quota with its project (or the one with `id`), by quota id. */
  async findAll(id?: number): Promise<QuotaView[]> {
    const rows = await this.db
      .selectFrom('quotas')
      .innerJoin('projects', 'projects.id', 'quotas.project_id')
      .leftJoin('users', 'users.id', 'projects.owner_id')
      .select([
        'quotas.id',
        'quotas.project_id',
        'projects.name',
        'users.username',
        'quotas.hard_storage',
        'quotas.used_storage',
        'quotas.created_at',
        'quotas.updated_at',
      ])
      .$if(id !== undefined, (query) => query.where('quotas.id', '=', id!))
      .orderBy('quotas.id')
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      projectId: Number(row.project_id),
      projectName: row.name,
      ownerName: row.username ?? '',
      hard: Number(row.hard_storage),
      used: Number(row.used_storage),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    }));
  }

  async find(id: number): Promise<QuotaView | undefined> {
    return (await this.findAll(id))[0];
  }

  async findByProject(projectId: number): Promise<{ hard: number; used: number } | undefined> {
    const row = await this.db
      .selectFrom('quotas')
      .select(['hard_storage', 'used_storage'])
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row && { hard: Number(row.hard_storage), used: Number(row.used_storage) };
  }

  async setHard(id: number, hard: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('quotas')
      .set({ hard_storage: hard, updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setHardOfProject(projectId: number, hard: number, now: number): Promise<void> {
    await this.db
      .updateTable('quotas')
      .set({ hard_storage: hard, updated_at: now })
      .where('project_id', '=', projectId)
      .execute();
  }

  /**
   * Charges to the project the contents it does not hold yet and admits them if the limit
   * allows. Call it in the transaction that links the contents, and abort that transaction when
   * it refuses (the rows it added are removed here too, so a refusal never leaves a charge).
   */
  async charge(project: string, contents: readonly StoredContent[], now: number): Promise<ChargeOutcome> {
    const { projectId, added } =
      contents.length === 1
        ? await this.addOne(project, contents[0]!)
        : await this.addMany(project, contents);
    if (projectId === undefined || added.length === 0) return { admitted: true, charged: 0 };
    const needed = added.reduce((sum, content) => sum + content.size, 0);
    const admitted = await runCompiled(this.db, 'admit', [needed, now, projectId], (amount, time, id) =>
      this.db
        .updateTable('quotas')
        .set((eb) => ({
          used_storage: eb('used_storage', '+', eb.cast<number>(eb.val(amount), 'bigint')),
          updated_at: eb.cast<number>(eb.val(time), 'bigint'),
        }))
        .where('project_id', '=', (eb) => eb.cast<number>(eb.val(id), 'integer'))
        .where((eb) =>
          eb.or([
            eb('hard_storage', '<', eb.lit(0)),
            eb(
              eb('used_storage', '+', eb.cast<number>(eb.val(amount), 'bigint')),
              '<=',
              eb.ref('hard_storage'),
            ),
          ]),
        )
        .returning('id'),
    );
    if (admitted.length > 0) return { admitted: true, charged: needed };
    const quota = await this.findByProject(projectId);
    if (!quota) {
      // A project made without a quota (not through the project service): count it from now on.
      await this.insertRecounted(projectId, now);
      return { admitted: true, charged: needed };
    }
    for (const batch of inBatches(added.map((content) => content.digest))) {
      await this.db
        .deleteFrom('project_blobs')
        .where('project_id', '=', projectId)
        .where('digest', 'in', batch)
        .execute();
    }
    return { admitted: false, used: quota.used, hard: quota.hard, needed };
  }

  /**
   * Releases those of `digests` that no manifest of the project is or references any more (and,
   * with `keepWhileLinked`, that no repository of the project links); returns the bytes
   * released. Call it in the transaction of the delete that may free them.
   */
  async release(
    project: string,
    digests: readonly string[],
    now: number,
    options: { keepWhileLinked?: boolean } = {},
  ): Promise<number> {
    const projectId = await this.projectId(project);
    if (projectId === undefined || digests.length === 0) return 0;
    const low = `${project}/`;
    const high = `${project}0`;
    let released = 0;
    for (const batch of inBatches([...new Set(digests)])) {
      const rows = await this.db
        .deleteFrom('project_blobs')
        .where('project_id', '=', projectId)
        .where('digest', 'in', batch)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('manifests')
                .select('manifests.digest')
                .whereRef('manifests.digest', '=', 'project_blobs.digest')
                .where('manifests.repository', '>', low)
                .where('manifests.repository', '<', high),
            ),
          ),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('manifest_references')
                .select('manifest_references.child')
                .whereRef('manifest_references.child', '=', 'project_blobs.digest')
                .where('manifest_references.repository', '>', low)
                .where('manifest_references.repository', '<', high),
            ),
          ),
        )
        // A blob delete frees nothing another repository of the project still holds; without
        // this, unlinking from one repository would credit bytes the other keeps.
        .$if(options.keepWhileLinked === true, (query) =>
          query.where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('repository_blobs')
                  .select('repository_blobs.digest')
                  .whereRef('repository_blobs.digest', '=', 'project_blobs.digest')
                  .where('repository_blobs.repository', '>', low)
                  .where('repository_blobs.repository', '<', high),
              ),
            ),
          ),
        )
        .returning('size')
        .execute();
      released += rows.reduce((sum, row) => sum + Number(row.size), 0);
    }
    if (released > 0) {
      await this.db
        .updateTable('quotas')
        .set((eb) => ({ used_storage: eb('used_storage', '-', released), updated_at: now }))
        .where('project_id', '=', projectId)
        .execute();
    }
    return released;
  }

  /** The blobs (config, layers) a manifest of the repository references. */
  async referencedBlobs(repository: string, manifest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references')
      .select('child')
      .where('repository', '=', repository)
      .where('manifest', '=', manifest)
      .where('kind', '=', 'blob')
      .execute();
    return rows.map((row) => row.child);
  }

  /** The common case, a blob: one query that finds the project and adds the digest if new. */
  private async addOne(
    project: string,
    content: StoredContent,
  ): Promise<{ projectId?: number; added: StoredContent[] }> {
    const params = [content.digest, content.size, project];
    const rows = await runCompiled(this.db, 'add-one', params, (digest, size, name) =>
      this.db
        .insertInto('project_blobs')
        .columns(['project_id', 'digest', 'size'])
        .expression((eb) =>
          eb
            .selectFrom('projects')
            .select([
              'projects.id',
              eb.val(digest).as('digest'),
              eb.cast<number>(eb.val(size), 'bigint').as('size'),
            ])
            .where('projects.name', '=', name),
        )
        .onConflict((conflict) => conflict.columns(['project_id', 'digest']).doNothing())
        .returning('project_id'),
    );
    const row = rows[0];
    return row ? { projectId: Number(row.project_id), added: [content] } : { added: [] };
  }

  private async addMany(
    project: string,
    contents: readonly StoredContent[],
  ): Promise<{ projectId?: number; added: StoredContent[] }> {
    const projectId = await this.projectId(project);
    if (projectId === undefined) return { added: [] };
    const unique = [...new Map(contents.map((content) => [content.digest, content])).values()];
    const added: StoredContent[] = [];
    for (const batch of inBatches(unique, 200)) {
      const rows = await this.db
        .insertInto('project_blobs')
        .values(batch.map(({ digest, size }) => ({ project_id: projectId, digest, size })))
        .onConflict((conflict) => conflict.columns(['project_id', 'digest']).doNothing())
        .returning(['digest', 'size'])
        .execute();
      for (const row of rows) added.push({ digest: row.digest, size: Number(row.size) });
    }
    return { projectId, added };
  }

  private async projectId(name: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  private async insertRecounted(projectId: number, now: number): Promise<void> {
    const row = await this.db
      .selectFrom('project_blobs')
      .select((eb) => eb.fn.sum<number>('size').as('used'))
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    await this.db
      .insertInto('quotas')
      .values({
        project_id: projectId,
        hard_storage: -1,
        used_storage: Number(row?.used ?? 0),
        created_at: now,
        updated_at: now,
      })
      .execute();
  }
}
