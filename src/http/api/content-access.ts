import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { RepositoryContent, RepositoryRef } from '../../registry/artifact-view.ts';
import { auditOrigin } from '../audit-origin.ts';
import type { ApiServices } from './context.ts';
import { requireRepository } from './repositories.ts';
import { ErrorsSchema } from './schemas.ts';

export const ArtifactParams = Type.Object({
  project_name: Type.String(),
  repository_name: Type.String(),
  reference: Type.String({ description: 'a digest or a tag' }),
});

export const contentErrors = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema };

export interface OpenRepository {
  project: { id: number; name: string };
  ref: RepositoryRef;
  content: RepositoryContent;
}

/**
 * The repository a content route names, with its manifests and tags, if the caller may do
 * `action` on `resource` there; NOT_FOUND (after the permission check) when it holds nothing.
 */
export async function openRepository(
  services: ApiServices,
  request: FastifyRequest,
  resource: 'artifact' | 'tag',
  action: 'list' | 'read' | 'create' | 'delete',
): Promise<OpenRepository> {
  const { project, repository } = await requireRepository(services, request, resource, action);
  const summary = await services.artifacts.repository(repository);
  const ref: RepositoryRef = { id: summary.id, name: repository, projectId: project.id };
  return { project, ref, content: await services.artifacts.views.content(repository) };
}

/** Records a successful change to content in the audit log, under the project. */
export function auditContent(
  services: ApiServices,
  request: FastifyRequest,
  opened: OpenRepository,
  change: { resourceType: string; resource: string; operation: string },
): void {
  services.audit.record({
    ...auditOrigin(request),
    ...change,
    result: 'success',
    projectId: opened.project.id,
  });
}
