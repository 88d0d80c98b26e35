import type { Kysely, Selectable } from 'kysely';
import type { ProjectMemberTable, Schema } from './schema.ts';

export type MemberRow = Selectable<ProjectMemberTable>;

/** A membership with the name of its user or group (empty if that entity is gone). */
export type NamedMemberRow = MemberRow & { entity_name: string };

export class MemberQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(member: Omit<MemberRow, 'id' | 'updated_at'>): Promise<number> {
    const row = await this.db
      .insertInto('project_members')
      .values({ ...member, updated_at: member.created_at })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async findById(projectId: number, id: number): Promise<MemberRow | undefined> {
    return this.db
      .selectFrom('project_members')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async findEntity(
    projectId: number,
    entityType: 'u' | 'g',
    entityId: number,
  ): Promise<MemberRow | undefined> {
    return this.db
      .selectFrom('project_members')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('entity_type', '=', entityType)
      .where('entity_id', '=', entityId)
      .executeTakeFirst();
  }

  /** A project's members with their user or group names, ordered by type and name. */
  async findNamed(projectId: number, memberId?: number): Promise<NamedMemberRow[]> {
    let query = this.db
      .selectFrom('project_members as pm')
      .leftJoin('users as u', (join) =>
        join.onRef('u.id', '=', 'pm.entity_id').on('pm.entity_type', '=', 'u'),
      )
      .leftJoin('user_groups as g', (join) =>
        join.onRef('g.id', '=', 'pm.entity_id').on('pm.entity_type', '=', 'g'),
      )
      .selectAll('pm')
      .select((eb) => eb.fn.coalesce('u.username', 'g.name', eb.val('')).as('entity_name'))
      .where('pm.project_id', '=', projectId);
    if (memberId !== undefined) query = query.where('pm.id', '=', memberId);
    const rows = await query
      .orderBy('pm.entity_type', 'desc')
      .orderBy('entity_name')
      .orderBy('pm.id')
      .execute();
    return rows.map((row) => ({ ...row, entity_name: String(row.entity_name ?? '') }));
  }

  /** The roles a user holds in a project, directly or through any of `groupIds`. */
  async rolesOf(projectId: number, userId: number, groupIds: readonly number[]): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('role_id')
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or([
          eb.and([eb('entity_type', '=', 'u'), eb('entity_id', '=', userId)]),
          ...(groupIds.length > 0
            ? [eb.and([eb('entity_type', '=', 'g'), eb('entity_id', 'in', [...groupIds])])]
            : []),
        ]),
      )
      .execute();
    return rows.map((row) => Number(row.role_id));
  }

  /** Projects where the user (or one of `groupIds`) is a member. */
  async projectIdsOf(userId: number, groupIds: readonly number[]): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('project_id')
      .distinct()
      .where((eb) =>
        eb.or([
          eb.and([eb('entity_type', '=', 'u'), eb('entity_id', '=', userId)]),
          ...(groupIds.length > 0
            ? [eb.and([eb('entity_type', '=', 'g'), eb('entity_id', 'in', [...groupIds])])]
            : []),
        ]),
      )
      .execute();
    return rows.map((row) => Number(row.project_id));
  }

  /** How many members hold each role. */
  async countByRole(projectId: number): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('project_members')
      .select(['role_id', (eb) => eb.fn.countAll<number>().as('count')])
      .where('project_id', '=', projectId)
      .groupBy('role_id')
      .execute();
    return new Map(rows.map((row) => [Number(row.role_id), Number(row.count)]));
  }

  async updateRole(projectId: number, id: number, roleId: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('project_members')
      .set({ role_id: roleId, updated_at: now })
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(projectId: number, id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('project_members')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Removes every membership of a user or group (when it is deleted). */
  async deleteEntity(entityType: 'u' | 'g', entityId: number): Promise<void> {
    await this.db
      .deleteFrom('project_members')
      .where('entity_type', '=', entityType)
      .where('entity_id', '=', entityId)
      .execute();
  }
}
