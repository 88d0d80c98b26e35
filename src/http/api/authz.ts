import type { FastifyRequest } from 'fastify';
import type { Action, ProjectResource, SystemResource } from '../../access/permissions.ts';
import type { ProjectRef } from '../../access/project-directory.ts';
import { RegistryError } from '../../oci/errors.ts';
import type { ApiServices } from './context.ts';

/** 401 for anonymous callers (and registry tokens, which the API does not accept), else 403. */
function refused(request: FastifyRequest, message = 'forbidden'): RegistryError {
  const caller = request.caller;
  if (caller.kind === 'anonymous' || caller.kind === 'token') {
    return new RegistryError('UNAUTHORIZED', 'authentication required', {
      headers: { 'WWW-Authenticate': 'Basic realm="Berth"' },
    });
  }
  return new RegistryError('FORBIDDEN', message);
}

export function requireAuthenticated(request: FastifyRequest): void {
  if (request.caller.kind === 'anonymous' || request.caller.kind === 'token') throw refused(request);
}

export function requireSystem(
  services: ApiServices,
  request: FastifyRequest,
  resource: SystemResource,
  action: Action,
): void {
  requireAuthenticated(request);
  if (!services.evaluator.canInSystem(request.caller, resource, action)) throw refused(request);
}

/**
 * The project a path names (by id, or by name; `X-Is-Resource-Name: true` forces a name) if the
 * caller may do `action` on `resource` in it. A missing project is refused like a forbidden
 * one, so the answer never tells whether a private project exists; system administrators,
 * who see every project, get a 404.
 */
export async function requireProject(
  services: ApiServices,
  request: FastifyRequest,
  nameOrId: string,
  resource: ProjectResource,
  action: Action,
): Promise<ProjectRef> {
  if (request.caller.kind === 'token') throw refused(request);
  const byName = request.headers['x-is-resource-name'] === 'true' || !/^\d+$/.test(nameOrId);
  let project: ProjectRef | undefined;
  if (byName) {
    project = await services.directory.byName(nameOrId);
  } else {
    const row = await services.db.projects.findById(Number(nameOrId));
    project = row ? await services.directory.byName(row.name) : undefined;
  }
  if (!project || !(await services.evaluator.canInProject(request.caller, project, resource, action))) {
    if (!project && request.caller.kind === 'user' && request.caller.sysadmin) {
      throw new RegistryError('NOT_FOUND', `project ${nameOrId} not found`);
    }
    throw refused(request);
  }
  return project;
}
