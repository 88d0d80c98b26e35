import type { Kysely, Selectable } from 'kysely';
import type { RobotPermissionTable, RobotTable, Schema } from './schema.ts';

export type RobotRow = Selectable<RobotTable>;
export type RobotPermissionRow = Omit<Selectable<RobotPermissionTable>, 'robot_id'>;

export interface NewRobot {
  name: string;
  project_id: number;
  description: string;
  secret_hash: string;
  duration: number;
  expires_at: number;
  disabled: 0 | 1;
  created_at: number;
}

/** Robot accounts and the permissions each holds. Project 0 holds the system-level robots. */
export class RobotQueries {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(robot: NewRobot, permissions: readonly RobotPermissionRow[]): Promise<number> {
    const row = await this.db
      .insertInto('robots')
      .values({ ...robot, updated_at: robot.created_at })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    await this.insertPermissions(id, permissions);
    return id;
  }

  async findById(id: number): Promise<RobotRow | undefined> {
    return this.db.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByName(name: string, projectId: number): Promise<RobotRow | undefined> {
    return this.db
      .selectFrom('robots')
      .selectAll()
      .where('name', '=', name)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  /** Every robot of a project (0: the system-level robots), oldest first. */
  async findInProject(projectId: number): Promise<RobotRow[]> {
    return this.db
      .selectFrom('robots')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id')
      .execute();
  }

  async permissionsOf(robotId: number): Promise<RobotPermissionRow[]> {
    return this.db
      .selectFrom('robot_permissions')
      .select(['kind', 'namespace', 'resource', 'action'])
      .where('robot_id', '=', robotId)
      .orderBy('kind')
      .orderBy('namespace')
      .orderBy('resource')
      .orderBy('action')
      .execute();
  }

  /** The permissions of several robots at once, by robot id. */
  async permissionsOfAll(robotIds: readonly number[]): Promise<Map<number, RobotPermissionRow[]>> {
    const byRobot = new Map<number, RobotPermissionRow[]>(robotIds.map((id) => [id, []]));
    if (robotIds.length === 0) return byRobot;
    const rows = await this.db
      .selectFrom('robot_permissions')
      .selectAll()
      .where('robot_id', 'in', [...robotIds])
      .orderBy('robot_id')
      .orderBy('kind')
      .orderBy('namespace')
      .orderBy('resource')
      .orderBy('action')
      .execute();
    for (const { robot_id, ...permission } of rows) byRobot.get(Number(robot_id))?.push(permission);
    return byRobot;
  }

  async update(
    id: number,
    changes: Partial<Pick<RobotRow, 'description' | 'duration' | 'expires_at' | 'disabled' | 'secret_hash'>>,
    now: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('robots')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async replacePermissions(robotId: number, permissions: readonly RobotPermissionRow[]): Promise<void> {
    await this.db.deleteFrom('robot_permissions').where('robot_id', '=', robotId).execute();
    await this.insertPermissions(robotId, permissions);
  }

  async delete(id: number): Promise<boolean> {
    await this.db.deleteFrom('robot_permissions').where('robot_id', '=', id).execute();
    const result = await this.db.deleteFrom('robots').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Removes the robots of a project (when it is deleted). */
  async deleteInProject(projectId: number): Promise<void> {
    const ids = (await this.findInProject(projectId)).map((robot) => Number(robot.id));
    if (ids.length === 0) return;
    await this.db.deleteFrom('robot_permissions').where('robot_id', 'in', ids).execute();
    await this.db.deleteFrom('robots').where('id', 'in', ids).execute();
  }

  private async insertPermissions(
    robotId: number,
    permissions: readonly RobotPermissionRow[],
  ): Promise<void> {
    if (permissions.length === 0) return;
    await this.db
      .insertInto('robot_permissions')
      .values(permissions.map((permission) => ({ robot_id: robotId, ...permission })))
      .execute();
  }
}
