import type { Kysely, Selectable } from 'kysely';
import type { Schema, UserGroupTable } from './schema.ts';

export type GroupRow = Selectable<UserGroupTable>;

/** Harbor's user group types. */
export const groupTypes = { ldap: 1, http: 2, oidc: 3 } as const;

export class GroupQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(group: {
    name: string;
    type: number;
    ldap_dn: string | null;
    created_at: number;
  }): Promise<number> {
    const row = await this.db
      .insertInto('user_groups')
      .values(group)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async findById(id: number): Promise<GroupRow | undefined> {
    return this.db.selectFrom('user_groups').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByName(name: string, type: number): Promise<GroupRow | undefined> {
    return this.db
      .selectFrom('user_groups')
      .selectAll()
      .where('name', '=', name)
      .where('type', '=', type)
      .executeTakeFirst();
  }

  async findByLdapDn(dn: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('user_groups').selectAll().where('ldap_dn', '=', dn).executeTakeFirst();
  }

  async findAll(): Promise<GroupRow[]> {
    return this.db.selectFrom('user_groups').selectAll().orderBy('id').execute();
  }

  /** The id of the group of this name and type (and DN), creating it if needed. */
  async ensure(group: { name: string; type: number; ldap_dn: string | null }, now: number): Promise<number> {
    const existing = group.ldap_dn
      ? await this.findByLdapDn(group.ldap_dn)
      : await this.findByName(group.name, group.type);
    if (existing) return Number(existing.id);
    return this.insert({ ...group, created_at: now });
  }

  async rename(id: number, name: string): Promise<boolean> {
    const result = await this.db
      .updateTable('user_groups')
      .set({ name })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('user_groups').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
