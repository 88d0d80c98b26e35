import type { RobotPermissionRow } from '../db/robots.ts';
import { RegistryError } from '../oci/errors.ts';
import { type Caller, isSysadmin, type RobotPermission } from './caller.ts';
import { grantableToRobots, type PermissionEvaluator } from './evaluator.ts';
import type { Action, ProjectResource, SystemResource } from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';

function badRequest(message: string): RegistryError {
  return new RegistryError('BAD_REQUEST', message);
}

function forbidden(message = 'forbidden'): RegistryError {
  return new RegistryError('FORBIDDEN', message);
}

/**
 * Who may manage which robots, and grant them what (Harbor's rules, decided by the evaluator):
 * `robot:<action>` in the system or the project, robots hold only what Harbor lets robots hold,
 * and nobody grants a robot what they do not hold themselves.
 */
export class RobotGrants {
  constructor(
    private readonly evaluator: PermissionEvaluator,
    private readonly directory: ProjectDirectory,
  ) {}

  /** Refuses unless the caller may do `action` to system-level robots. */
  authorizeSystem(caller: Caller, action: Action): void {
    if (!this.evaluator.canInSystem(caller, 'robot', action)) throw forbidden();
  }

  /** The project if the caller may do `action` to its robots; `named` is how the caller named it. */
  async authorizeProject(
    caller: Caller,
    project: ProjectRef | undefined,
    named: string,
    action: Action,
  ): Promise<ProjectRef> {
    if (project && (await this.evaluator.canInProject(caller, project, 'robot', action))) return project;
    // Only those who could see any project learn that one does not exist.
    if (!project && isSysadmin(caller)) throw new RegistryError('NOT_FOUND', `project ${named} not found`);
    throw forbidden();
  }

  /**
   * Validates the permissions a robot of `level` is to hold, authorises the caller to save it
   * (`robot:create` or `robot:update` at that level), and checks the caller holds each of them.
   * Returns them deduplicated, with the robot's project for a project-level robot.
   */
  async check(
    caller: Caller,
    level: 'system' | 'project',
    requested: readonly RobotPermission[],
    action: 'create' | 'update',
  ): Promise<{ project?: ProjectRef; permissions: RobotPermissionRow[] }> {
    if (requested.length === 0) throw badRequest('bad request empty permission');
    const unique = new Map<string, RobotPermissionRow>();
    for (const permission of requested) {
      if (permission.kind !== 'system' && permission.kind !== 'project') {
        throw badRequest(`bad request permission level: ${permission.kind}`);
      }
      if (!grantableToRobots(permission.kind, permission.resource, permission.action as Action)) {
        throw badRequest(`bad request permission: ${permission.resource}:${permission.action}`);
      }
      const row = { ...permission, namespace: permission.kind === 'system' ? '/' : permission.namespace };
      unique.set(JSON.stringify([row.kind, row.namespace, row.resource, row.action]), row);
    }
    const permissions = [...unique.values()];

    let project: ProjectRef | undefined;
    if (level === 'project') {
      const namespaces = new Set(permissions.map((p) => (p.kind === 'project' ? p.namespace : '/')));
      const [namespace] = namespaces;
      if (namespaces.size !== 1 || namespace === undefined || namespace === '/' || namespace === '*') {
        throw badRequest(
          'a project robot holds permissions in exactly one project, named in their namespace',
        );
      }
      project = await this.authorizeProject(
        caller,
        await this.directory.byName(namespace),
        namespace,
        action,
      );
    } else {
      this.authorizeSystem(caller, action);
    }

    for (const permission of permissions) await this.checkHeld(caller, permission);
    return { project, permissions };
  }

  private async checkHeld(caller: Caller, permission: RobotPermissionRow): Promise<void> {
    const action = permission.action as Action;
    let held: boolean;
    if (permission.kind === 'system') {
      held = this.evaluator.canInSystem(caller, permission.resource as SystemResource, action);
    } else if (permission.namespace === '*') {
      held = isSysadmin(caller);
    } else {
      const project = await this.directory.byName(permission.namespace);
      if (!project) {
        if (isSysadmin(caller))
          throw new RegistryError('NOT_FOUND', `project ${permission.namespace} not found`);
        throw forbidden();
      }
      held = await this.evaluator.canInProject(
        caller,
        project,
        permission.resource as ProjectResource,
        action,
      );
    }
    if (!held) {
      throw forbidden(
        `you cannot grant ${permission.resource}:${permission.action} in ${permission.namespace}: you do not hold it`,
      );
    }
  }
}
