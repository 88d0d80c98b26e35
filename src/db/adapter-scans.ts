import type { Generated, Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Schema } from './schema.ts';

export type AdapterScanStatus = 'Pending' | 'Running' | 'Success' | 'Error';

export interface AdapterScanTable {
  id: Generated<number>;
  scan_id: string;
  registry_url: string;
  /** The Authorization value to pull with, sealed; null once the scan has ended. */
  authorization: string | null;
  repository: string;
  digest: string;
  mime_type: string;
  status: AdapterScanStatus;
  /** Harbor's vulnerability report (JSON text) once the scan succeeded. */
  report: string | null;
  error: string | null;
  requested_at: number;
  finished_at: number | null;
}

export type AdapterScanRow = Selectable<AdapterScanTable>;
export type NewAdapterScan = Insertable<AdapterScanTable>;
export type AdapterScanChange = Omit<Updateable<AdapterScanTable>, 'id' | 'scan_id'>;

/** `adapter_scans`: scan requests received through the scanner-adapter API, with their reports. */
export class AdapterScanQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(row: NewAdapterScan): Promise<void> {
    await this.db.insertInto('adapter_scans').values(row).execute();
  }

  async find(scanId: string): Promise<AdapterScanRow | undefined> {
    return this.db.selectFrom('adapter_scans').selectAll().where('scan_id', '=', scanId).executeTakeFirst();
  }

  async update(scanId: string, change: AdapterScanChange): Promise<void> {
    await this.db.updateTable('adapter_scans').set(change).where('scan_id', '=', scanId).execute();
  }
}
