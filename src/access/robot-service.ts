import type { Database } from '../db/database.ts';
import type { RobotPermissionRow, RobotRow } from '../db/robots.ts';
import type { Clock } from '../lib/clock.ts';
import { RegistryError } from '../oci/errors.ts';
import type { Caller, RobotPermission } from './caller.ts';
import type { PermissionEvaluator } from './evaluator.ts';
import { generateSecret, hashPassword, passwordProblem } from './passwords.ts';
import type { Action } from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';
import { RobotGrants } from './robot-grants.ts';
import { robotLoginName, robotNameProblem } from './robot-names.ts';
import type { SettingsService } from './settings-service.ts';

export type RobotLevel = 'system' | 'project';

/** A robot account as callers see it: never its secret. */
export interface Robot {
  id: number;
  /** The name it logs in with, `robot$…`. */
  name: string;
  description: string;
  level: RobotLevel;
  /** 0 for system-level robots. */
  projectId: number;
  /** Days; -1 never expires. */
  duration: number;
  /** Epoch seconds; -1 never. */
  expiresAt: number;
  disabled: boolean;
  permissions: RobotPermission[];
  createdAt: number;
  updatedAt: number;
}

export interface RobotDraft {
  name: string;
  description?: string;
  level: string;
  /** Days; -1 never, 0 or absent the `robot_token_duration` setting. */
  duration?: number;
  disabled?: boolean;
  /** A secret of the caller's choosing; one is generated when absent. */
  secret?: string;
  permissions: RobotPermission[];
}

/** What an update may change; absent fields keep their value. */
export interface RobotChanges {
  name?: string;
  level?: string;
  description?: string;
  duration?: number;
  disabled?: boolean;
  permissions?: RobotPermission[];
}

export interface RobotServiceOptions {
  db: Database;
  clock: Clock;
  evaluator: PermissionEvaluator;
  directory: ProjectDirectory;
  settings: SettingsService;
  /** Drops cached logins, so a change to a robot holds from its very next request. */
  forgetLogins(): void;
}

/** About ten thousand years: expiry times stay exact integers (Harbor's own bound overflows them). */
const maxDurationDays = 3_650_000;

const dayMs = 24 * 3600 * 1000;

function badRequest(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

function levelOf(level: string): RobotLevel {
  if (level !== 'system' && level !== 'project') throw badRequest(`bad request error level input: ${level}`);
  return level;
}

function expiresAtOf(createdAtMs: number, duration: number): number {
  return duration === -1 ? -1 : Math.floor((createdAtMs + duration * dayMs) / 1000);
}

function secretOrGenerated(secret: string | undefined): string {
  if (secret === undefined || secret === '') return generateSecret();
  if (passwordProblem(secret)) {
    throw badRequest(
      'the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number',
    );
  }
  return secret;
}

/**
 * Robot accounts (Harbor's v2 robots): system robots (project 0) and project robots. Every
 * operation is authorised through the evaluator; whoever saves a robot must hold each permission
 * it grants, and no robot may be granted members, robots or anything outside Harbor's list.
 */
export class RobotService {
  private readonly grants: RobotGrants;

  constructor(private readonly options: RobotServiceOptions) {
    this.grants = new RobotGrants(options.evaluator, options.directory);
  }

  async create(creator: Caller, draft: RobotDraft): Promise<{ robot: Robot; secret: string }> {
    const level = levelOf(draft.level);
    const problem = robotNameProblem(draft.name);
    if (problem) throw badRequest(problem);
    const duration = await this.durationOf(draft.duration);
    const { project, permissions } = await this.grants.check(creator, level, draft.permissions, 'create');
    const secret = secretOrGenerated(draft.secret);
    const secretHash = await hashPassword(secret);
    const projectId = project?.id ?? 0;
    const now = this.options.clock.now();
    const id = await this.options.db.transaction(async (db) => {
      if (await db.robots.findByName(draft.name, projectId)) {
        throw new RegistryError(
          'CONFLICT',
          `robot account ${robotLoginName(draft.name, project?.name)} already exists`,
        );
      }
      return db.robots.insert(
        {
          name: draft.name,
          project_id: projectId,
          description: draft.description ?? '',
          secret_hash: secretHash,
          duration,
          expires_at: expiresAtOf(now, duration),
          disabled: draft.disabled ? 1 : 0,
          created_at: now,
        },
        permissions,
      );
    });
    return { robot: await this.require(id), secret };
  }

  /**
   * The robot with this id if the caller may do `action` to it. A free id is a 404 only for
   * callers who may act on system robots; anyone else gets the same 403 as for a robot they
   * may not touch, so ids of other projects' robots cannot be probed.
   */
  async find(caller: Caller, id: number, action: 'read' | 'update' | 'delete'): Promise<Robot> {
    const robot = await this.byId(id);
    if (!robot) {
      this.grants.authorizeSystem(caller, action);
      throw new RegistryError('NOT_FOUND', `robot ${id} not found`);
    }
    await this.authorize(caller, robot.level, robot.projectId, action);
    return robot;
  }

  /** The system robots, or the robots of project `projectId`, oldest first. */
  async list(caller: Caller, level: RobotLevel, projectId: number): Promise<Robot[]> {
    const project = await this.authorize(caller, level, projectId, 'list');
    const rows = await this.options.db.robots.findInProject(project?.id ?? 0);
    const permissions = await this.options.db.robots.permissionsOfAll(rows.map((row) => Number(row.id)));
    return rows.map((row) => this.toRobot(row, permissions.get(Number(row.id)) ?? [], project?.name));
  }

  async update(caller: Caller, robot: Robot, changes: RobotChanges): Promise<Robot> {
    if (
      (changes.level !== undefined && changes.level !== robot.level) ||
      (changes.name !== undefined && changes.name !== robot.name && changes.name !== this.bareName(robot))
    ) {
      throw badRequest('cannot update the level or name of robot');
    }
    let permissions: RobotPermissionRow[] | undefined;
    if (changes.permissions !== undefined) {
      const checked = await this.grants.check(caller, robot.level, changes.permissions, 'update');
      if ((checked.project?.id ?? 0) !== robot.projectId)
        throw badRequest('cannot update the project id of robot');
      permissions = checked.permissions;
    }
    const duration =
      changes.duration === undefined || changes.duration === robot.duration
        ? robot.duration
        : await this.durationOf(changes.duration);
    await this.options.db.transaction(async (db) => {
      await db.robots.update(
        robot.id,
        {
          description: changes.description ?? robot.description,
          duration,
          expires_at: duration === robot.duration ? robot.expiresAt : expiresAtOf(robot.createdAt, duration),
          disabled: (changes.disabled ?? robot.disabled) ? 1 : 0,
        },
        this.options.clock.now(),
      );
      if (permissions) await db.robots.replacePermissions(robot.id, permissions);
    });
    this.options.forgetLogins();
    return this.require(robot.id);
  }

  /**
   * Replaces the robot's secret with `secret`, or a generated one which is returned (the only
   * time it is shown). The old secret stops working at once.
   */
  async refreshSecret(robot: Robot, secret?: string): Promise<string | undefined> {
    const next = secretOrGenerated(secret);
    await this.options.db.robots.update(
      robot.id,
      { secret_hash: await hashPassword(next) },
      this.options.clock.now(),
    );
    this.options.forgetLogins();
    return secret ? undefined : next;
  }

  async delete(robot: Robot): Promise<void> {
    await this.options.db.transaction((db) => db.robots.delete(robot.id));
    this.options.forgetLogins();
  }

  private async byId(id: number): Promise<Robot | undefined> {
    const row = await this.options.db.robots.findById(id);
    if (!row) return undefined;
    let projectName: string | undefined;
    if (Number(row.project_id) !== 0) {
      // A robot whose project is gone is gone too.
      projectName = (await this.options.db.projects.findById(Number(row.project_id)))?.name;
      if (projectName === undefined) return undefined;
    }
    return this.toRobot(row, await this.options.db.robots.permissionsOf(id), projectName);
  }

  private async require(id: number): Promise<Robot> {
    const robot = await this.byId(id);
    if (!robot) throw new RegistryError('NOT_FOUND', `robot ${id} not found`);
    return robot;
  }

  private toRobot(row: RobotRow, permissions: RobotPermission[], projectName: string | undefined): Robot {
    return {
      id: Number(row.id),
      name: robotLoginName(row.name, projectName),
      description: row.description,
      level: Number(row.project_id) === 0 ? 'system' : 'project',
      projectId: Number(row.project_id),
      duration: Number(row.duration),
      expiresAt: Number(row.expires_at),
      disabled: row.disabled === 1,
      permissions,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  private bareName(robot: Robot): string {
    const rest = robot.name.slice(robot.name.indexOf('$') + 1);
    return robot.level === 'project' ? rest.slice(rest.indexOf('+') + 1) : rest;
  }

  private async durationOf(value: number | undefined): Promise<number> {
    if (value === undefined || value === 0) return this.options.settings.get('robot_token_duration');
    if (!Number.isInteger(value) || value < -1 || value > maxDurationDays) {
      throw badRequest(
        `bad request error duration input: ${value}, duration must be either -1(Never) or a positive integer (at most ${maxDurationDays} days)`,
      );
    }
    return value;
  }

  /** Refuses unless the caller may do `action` to robots of this level (and project). */
  private async authorize(
    caller: Caller,
    level: RobotLevel,
    projectId: number,
    action: Action,
  ): Promise<ProjectRef | undefined> {
    if (level === 'system') {
      this.grants.authorizeSystem(caller, action);
      return undefined;
    }
    const row = await this.options.db.projects.findById(projectId);
    const project = row ? await this.options.directory.byName(row.name) : undefined;
    return this.grants.authorizeProject(caller, project, String(projectId), action);
  }
}
