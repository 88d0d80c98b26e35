import type { Generated, Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Flag, Schema } from './schema.ts';

export interface ScannerRegistrationTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  description: string;
  url: string;
  /** '', 'Basic', 'Bearer' or 'X-ScannerAdapter-API-Key'. */
  auth: string;
  /** Sealed with the secret box; '' for none. */
  access_credential: string;
  skip_cert_verify: Flag;
  use_internal_addr: Flag;
  disabled: Flag;
  is_default: Flag;
  created_at: number;
  updated_at: number;
}

export interface ProjectScannerTable {
  project_id: number;
  registration_uuid: string;
}

export type ScannerRegistrationRow = Selectable<ScannerRegistrationTable>;
export type NewScannerRegistration = Insertable<ScannerRegistrationTable>;
export type ScannerRegistrationChange = Omit<Updateable<ScannerRegistrationTable>, 'id' | 'uuid'>;

/** `scanner_registrations` and `project_scanners`: the external scanners, and who uses which. */
export class ScannerRegistrationQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async list(): Promise<ScannerRegistrationRow[]> {
    return this.db.selectFrom('scanner_registrations').selectAll().orderBy('id').execute();
  }

  async find(uuid: string): Promise<ScannerRegistrationRow | undefined> {
    return this.db
      .selectFrom('scanner_registrations')
      .selectAll()
      .where('uuid', '=', uuid)
      .executeTakeFirst();
  }

  async insert(row: NewScannerRegistration): Promise<void> {
    await this.db.insertInto('scanner_registrations').values(row).execute();
  }

  async update(uuid: string, change: ScannerRegistrationChange): Promise<void> {
    await this.db.updateTable('scanner_registrations').set(change).where('uuid', '=', uuid).execute();
  }

  /** Makes `uuid` the one default (or, with undefined, none: the built-in scanner is). */
  async setDefault(uuid: string | undefined): Promise<void> {
    await this.db.updateTable('scanner_registrations').set({ is_default: 0 }).execute();
    if (uuid !== undefined)
      await this.db
        .updateTable('scanner_registrations')
        .set({ is_default: 1 })
        .where('uuid', '=', uuid)
        .execute();
  }

  async delete(uuid: string): Promise<void> {
    await this.db.deleteFrom('project_scanners').where('registration_uuid', '=', uuid).execute();
    await this.db.deleteFrom('scanner_registrations').where('uuid', '=', uuid).execute();
  }

  async projectScanner(projectId: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('project_scanners')
      .select('registration_uuid')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.registration_uuid;
  }

  async setProjectScanner(projectId: number, uuid: string): Promise<void> {
    await this.db
      .insertInto('project_scanners')
      .values({ project_id: projectId, registration_uuid: uuid })
      .onConflict((conflict) => conflict.column('project_id').doUpdateSet({ registration_uuid: uuid }))
      .execute();
  }
}
