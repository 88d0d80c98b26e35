import type { Kysely } from 'kysely';
import type { Schema } from './schema.ts';

/** The `configurations` table: settings changed through the API, JSON-encoded. */
export class SettingQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async all(): Promise<Map<string, string>> {
    const rows = await this.db.selectFrom('configurations').select(['key', 'value']).execute();
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  async set(entries: Record<string, string>, now: number): Promise<void> {
    for (const [key, value] of Object.entries(entries)) {
      await this.db
        .insertInto('configurations')
        .values({ key, value, updated_at: now })
        .onConflict((conflict) => conflict.column('key').doUpdateSet({ value, updated_at: now }))
        .execute();
    }
  }
}
