import type { Caller, RobotPermission } from './caller.ts';
import {
  type Action,
  grants,
  type ProjectResource,
  publicProjectPolicy,
  robotGrantable,
  roleName,
  rolePolicies,
  type SystemResource,
} from './permissions.ts';
import type { ProjectDirectory, ProjectRef } from './project-directory.ts';

/**
 * Whether robots may hold this permission at all (Harbor's PoliciesMap). Checked here too, not
 * only when a robot is saved, so no stored row can give a robot members, robots or users.
 */
export function grantableToRobots(kind: 'system' | 'project', resource: string, action: Action): boolean {
  const policy: Partial<Record<string, readonly Action[]>> = robotGrantable[kind];
  return policy[resource]?.includes(action) ?? false;
}

function robotHolds(
  permissions: readonly RobotPermission[],
  kind: 'system' | 'project',
  namespace: string | undefined,
  resource: string,
  action: Action,
): boolean {
  if (!grantableToRobots(kind, resource, action)) return false;
  return permissions.some(
    (permission) =>
      permission.kind === kind &&
      (kind === 'system' || permission.namespace === namespace || permission.namespace === '*') &&
      permission.resource === resource &&
      // Pushing to a repository implies pulling from it, as in Harbor.
      (permission.action === action ||
        (resource === 'repository' && action === 'pull' && permission.action === 'push')),
  );
}

/**
 * The one evaluator of the permission matrix: system administrators may do anything; users
 * what their project roles (direct or through groups) grant; robots exactly their permissions;
 * everyone what public projects grant.
 */
export class PermissionEvaluator {
  constructor(private readonly directory: ProjectDirectory) {}

  async canInProject(
    caller: Caller,
    project: ProjectRef,
    resource: ProjectResource,
    action: Action,
  ): Promise<boolean> {
    if (project.public && grants(publicProjectPolicy, resource, action)) return true;
    switch (caller.kind) {
      case 'user': {
        if (caller.sysadmin) return true;
        const roleIds = await this.directory.rolesOf(project.id, caller.id, caller.groupIds);
        return roleIds.some((id) => {
          const name = roleName(id);
          return name !== undefined && grants(rolePolicies[name], resource, action);
        });
      }
      case 'robot':
        // A project robot acts in its own project only, whatever namespace its permissions name.
        if (caller.projectId !== 0 && caller.projectId !== project.id) return false;
        return robotHolds(caller.permissions, 'project', project.name, resource, action);
      default:
        return false;
    }
  }

  canInSystem(caller: Caller, resource: SystemResource, action: Action): boolean {
    if (caller.kind === 'user') return caller.sysadmin;
    if (caller.kind === 'robot')
      return caller.projectId === 0 && robotHolds(caller.permissions, 'system', '/', resource, action);
    return false;
  }

  /** The registry actions (`pull`, `push`, `delete`) the caller holds on a project's repositories. */
  async registryActions(caller: Caller, project: ProjectRef): Promise<Set<'pull' | 'push' | 'delete'>> {
    const held = new Set<'pull' | 'push' | 'delete'>();
    for (const action of ['pull', 'push', 'delete'] as const) {
      if (await this.canInProject(caller, project, 'repository', action)) held.add(action);
    }
    return held;
  }
}
