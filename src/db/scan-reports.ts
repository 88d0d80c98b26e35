import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { ScanReportTable, Schema } from './schema.ts';

export type ScanReportRow = Selectable<ScanReportTable>;
export type NewScanReport = Insertable<ScanReportTable>;
export type ScanReportChange = Omit<Updateable<ScanReportTable>, 'id' | 'digest' | 'scanner_name'>;

/** `scan_reports`: one row per manifest digest and scanner, replaced by each new scan. */
export class ScanReportQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async find(digest: string, scannerName: string): Promise<ScanReportRow | undefined> {
    return this.db
      .selectFrom('scan_reports')
      .selectAll()
      .where('digest', '=', digest)
      .where('scanner_name', '=', scannerName)
      .executeTakeFirst();
  }

  /** Starts a new report for the digest, replacing the previous one of the same scanner. */
  async replace(row: NewScanReport): Promise<ScanReportRow> {
    await this.db
      .deleteFrom('scan_reports')
      .where('digest', '=', row.digest)
      .where('scanner_name', '=', row.scanner_name)
      .execute();
    return this.db.insertInto('scan_reports').values(row).returningAll().executeTakeFirstOrThrow();
  }

  /** Finished reports that kept their packages, after `afterId` in id order: what a re-match reads. */
  async rematchable(scannerName: string, afterId: number, limit: number): Promise<ScanReportRow[]> {
    return this.db
      .selectFrom('scan_reports')
      .selectAll()
      .where('scanner_name', '=', scannerName)
      .where('status', '=', 'Success')
      .where('packages', 'is not', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  async update(id: number, change: ScanReportChange): Promise<void> {
    await this.db.updateTable('scan_reports').set(change).where('id', '=', id).execute();
  }
}
