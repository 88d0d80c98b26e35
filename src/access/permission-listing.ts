import type { Database } from '../db/database.ts';
import type { Caller } from './caller.ts';
import type { PermissionEvaluator } from './evaluator.ts';
import {
  type Action,
  actions,
  grants,
  type ProjectResource,
  projectResources,
  publicProjectPolicy,
  rolePolicies,
  type SystemResource,
  systemPolicies,
  systemResources,
} from './permissions.ts';
import type { ProjectDirectory } from './project-directory.ts';

export interface PermissionEntry {
  resource: string;
  action: string;
}

/** Every pair of the project namespace: whatever any role, or the public policy, names. */
const projectPairs: [ProjectResource, Action][] = projectResources.flatMap((resource) =>
  actions
    .filter((action) =>
      [...Object.values(rolePolicies), publicProjectPolicy].some((policy) =>
        grants(policy, resource, action),
      ),
    )
    .map((action): [ProjectResource, Action] => [resource, action]),
);

const systemPairs: [SystemResource, Action][] = systemResources.flatMap((resource) =>
  (systemPolicies[resource] ?? []).map((action): [SystemResource, Action] => [resource, action]),
);

/**
 * What the caller may do within a scope (`/project/{id}` or `/system`), as Harbor's
 * `/users/current/permissions` reports it: each pair of the namespace the evaluator allows.
 * Resources are absolute (`/project/1/repository`) or, with `relative`, relative to the scope
 * (`repository`; the project itself is `.`).
 */
export class PermissionListing {
  constructor(
    private readonly db: Database,
    private readonly directory: ProjectDirectory,
    private readonly evaluator: PermissionEvaluator,
  ) {}

  async list(caller: Caller, scope: string, relative: boolean): Promise<PermissionEntry[]> {
    const name = (resource: string) => {
      if (relative) return resource === '' ? '.' : resource;
      return resource === '' ? scope.replace(/\/$/, '') : `${scope.replace(/\/$/, '')}/${resource}`;
    };
    if (/^\/system\/?$/.test(scope)) {
      return systemPairs
        .filter(([resource, action]) => this.evaluator.canInSystem(caller, resource, action))
        .map(([resource, action]) => ({ resource: name(resource), action }));
    }
    const projectId = /^\/project\/(\d+)\/?$/.exec(scope)?.[1];
    if (projectId === undefined) return [];
    const row = await this.db.projects.findById(Number(projectId));
    const project = row ? await this.directory.byName(row.name) : undefined;
    if (!project) return [];
    const allowed: PermissionEntry[] = [];
    for (const [resource, action] of projectPairs) {
      if (await this.evaluator.canInProject(caller, project, resource, action)) {
        // Harbor's project resource is the scope itself.
        allowed.push({ resource: name(resource === 'project' ? '' : resource), action });
      }
    }
    return allowed;
  }
}
