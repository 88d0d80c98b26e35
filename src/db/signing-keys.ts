import type { Kysely, Selectable } from 'kysely';
import type { Schema, SigningKeyTable } from './schema.ts';

export type SigningKeyRow = Selectable<SigningKeyTable>;

export class SigningKeyQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(key: SigningKeyRow): Promise<void> {
    await this.db.insertInto('signing_keys').values(key).execute();
  }

  /** Keys still able to verify tokens at `now` (retired less than `graceMs` ago), newest first. */
  async findUsable(now: number, graceMs: number): Promise<SigningKeyRow[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('retire_at', '>', now - graceMs)
      .orderBy('created_at', 'desc')
      .execute();
  }

  async deleteRetiredBefore(time: number): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('retire_at', '<', time).execute();
  }
}
