import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Schema, UserTable } from './schema.ts';

export type UserRow = Selectable<UserTable>;
export type NewUser = Insertable<UserTable>;
export type UserChanges = Updateable<UserTable>;

/** A new user row: what is given, and for the rest a fresh account's defaults. */
export function newUser(
  fields: Pick<NewUser, 'username' | 'source' | 'realname'> &
    Partial<Pick<NewUser, 'email' | 'comment' | 'password_hash' | 'sysadmin' | 'external_id' | 'cli_secret'>>,
  now: number,
): NewUser {
  return {
    email: null,
    comment: '',
    password_hash: null,
    sysadmin: 0,
    external_id: null,
    cli_secret: null,
    ...fields,
    disabled: 0,
    failed_logins: 0,
    locked_until: 0,
    created_at: now,
    updated_at: now,
  };
}

export class UserQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(user: NewUser): Promise<number> {
    const row = await this.db.insertInto('users').values(user).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async findById(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  /** Every user, oldest first (lists are filtered and paged by the caller). */
  async findAll(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('id').execute();
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async findByExternalId(source: UserRow['source'], externalId: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('source', '=', source)
      .where('external_id', '=', externalId)
      .executeTakeFirst();
  }

  async update(id: number, changes: UserChanges): Promise<boolean> {
    const result = await this.db.updateTable('users').set(changes).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Counts a failed login; returns the new count. */
  /**
   * Counts a failed login in one statement and locks the account until `lockUntil` when the
   * count reaches `maxFailures`; returns the new count.
   */
  async recordFailedLogin(id: number, maxFailures: number, lockUntil: number, now: number): Promise<number> {
    const row = await this.db
      .updateTable('users')
      .set((eb) => ({
        failed_logins: eb('failed_logins', '+', 1),
        locked_until: eb
          .case()
          .when(eb('failed_logins', '+', 1), '>=', maxFailures)
          .then(lockUntil)
          .else(eb.ref('locked_until'))
          .end(),
        updated_at: now,
      }))
      .where('id', '=', id)
      .returning('failed_logins')
      .executeTakeFirst();
    return Number(row?.failed_logins ?? 0);
  }

  async resetFailedLogins(id: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ failed_logins: 0, locked_until: 0 })
      .where('id', '=', id)
      .execute();
  }

  async groupIds(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('user_group_members')
      .select('group_id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((row) => Number(row.group_id));
  }

  /** Replaces the groups recorded for the user (learned at login). */
  async setGroupIds(userId: number, groupIds: readonly number[]): Promise<void> {
    await this.db.deleteFrom('user_group_members').where('user_id', '=', userId).execute();
    if (groupIds.length === 0) return;
    await this.db
      .insertInto('user_group_members')
      .values([...new Set(groupIds)].map((groupId) => ({ user_id: userId, group_id: groupId })))
      .execute();
  }
}
