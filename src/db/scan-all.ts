import type { Kysely, Selectable } from 'kysely';
import { listedArtifact, type ManifestRow } from './manifests.ts';
import type { ScanAllRunTable, ScanStatus, Schema } from './schema.ts';

export type ScanAllRunRow = Selectable<ScanAllRunTable>;

/** Where a walk over every artifact stopped: the last repository and digest returned. */
export interface ArtifactCursor {
  repository: string;
  digest: string;
}

/** `scan_all_runs` and `scan_all_tasks`: the scan-all runs and the digests each asked to scan. */
export class ScanAllQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async createRun(trigger: string, createdAt: number): Promise<ScanAllRunRow> {
    return this.db
      .insertInto('scan_all_runs')
      .values({ trigger, job_id: null, created_at: createdAt })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async setRunJob(runId: number, jobId: number): Promise<void> {
    await this.db.updateTable('scan_all_runs').set({ job_id: jobId }).where('id', '=', runId).execute();
  }

  async findRun(id: number): Promise<ScanAllRunRow | undefined> {
    return this.db.selectFrom('scan_all_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The newest run, of one trigger when given. */
  async latestRun(trigger?: string): Promise<ScanAllRunRow | undefined> {
    let query = this.db.selectFrom('scan_all_runs').selectAll();
    if (trigger !== undefined) query = query.where('trigger', '=', trigger);
    return query.orderBy('id', 'desc').limit(1).executeTakeFirst();
  }

  /** Records the digests a run asked to scan; one already recorded for the run is skipped. */
  async addTasks(runId: number, tasks: readonly { digest: string; repository: string }[]): Promise<void> {
    if (tasks.length === 0) return;
    await this.db
      .insertInto('scan_all_tasks')
      .values(tasks.map((task) => ({ run_id: runId, ...task })))
      .onConflict((conflict) => conflict.columns(['run_id', 'digest']).doNothing())
      .execute();
  }

  /** The run's digests with the status of their current report (null: none). */
  async taskStatuses(
    runId: number,
    scannerName: string,
  ): Promise<{ digest: string; status: ScanStatus | null }[]> {
    return this.db
      .selectFrom('scan_all_tasks')
      .leftJoin('scan_reports', (join) =>
        join
          .onRef('scan_reports.digest', '=', 'scan_all_tasks.digest')
          .on('scan_reports.scanner_name', '=', scannerName),
      )
      .select(['scan_all_tasks.digest', 'scan_reports.status'])
      .where('scan_all_tasks.run_id', '=', runId)
      .execute();
  }

  /**
   * The next `limit` artifacts of every repository (as the artifact lists show them: no index
   * children, no accessories of a manifest the repository holds) after `cursor`, in repository
   * and digest order.
   */
  async artifactsAfter(cursor: ArtifactCursor | undefined, limit: number): Promise<ManifestRow[]> {
    let query = this.db
      .selectFrom('manifests')
      .selectAll()
      .where((eb) => listedArtifact(eb));
    if (cursor) {
      query = query.where((eb) =>
        eb.or([
          eb('manifests.repository', '>', cursor.repository),
          eb.and([
            eb('manifests.repository', '=', cursor.repository),
            eb('manifests.digest', '>', cursor.digest),
          ]),
        ]),
      );
    }
    return query.orderBy('manifests.repository').orderBy('manifests.digest').limit(limit).execute();
  }
}
