import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Action, ProjectResource } from '../../access/permissions.ts';
import type { ProjectRef } from '../../access/project-directory.ts';
import type { RepositorySummary } from '../../db/repositories.ts';
import { RegistryError } from '../../oci/errors.ts';
import { isRepositoryName } from '../../oci/reference.ts';
import { auditOrigin } from '../audit-origin.ts';
import { requireProject } from './authz.ts';
import type { ApiServices } from './context.ts';
import { type PageParams, pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import { ErrorsSchema, isoTime, PageQuery } from './schemas.ts';
import { sortItems } from './sorting.ts';

export const Repository = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String({ description: 'the full name, project/repository' }),
  description: Type.String(),
  artifact_count: Type.Integer(),
  pull_count: Type.Integer({ description: 'always 0: Berth does not count pulls' }),
  creation_time: Type.String({ format: 'date-time' }),
  update_time: Type.String({ format: 'date-time' }),
});

export const ProjectParams = Type.Object({ project_name: Type.String() });
export const RepositoryParams = Type.Object({
  project_name: Type.String(),
  repository_name: Type.String({
    description: 'the name inside the project; a slash is encoded twice (a%252Fb) or once (a%2Fb)',
  }),
});
type RepositoryParams = Static<typeof RepositoryParams>;

const RepositoryUpdate = Type.Object({ description: Type.Optional(Type.String({ maxLength: 4096 })) });

function repositoryJson(summary: RepositorySummary, projectId: number) {
  return {
    id: summary.id,
    project_id: projectId,
    name: summary.name,
    description: summary.description,
    artifact_count: summary.artifact_count,
    pull_count: 0,
    creation_time: isoTime(summary.created_at),
    update_time: isoTime(summary.updated_at),
  };
}

/**
 * `requireProject` for routes whose path names the project (Harbor's `project_name`): a name of
 * digits only is still a name, not an id.
 */
export function requireNamedProject(
  services: ApiServices,
  request: FastifyRequest,
  name: string,
  resource: ProjectResource,
  action: Action,
): Promise<ProjectRef> {
  request.headers['x-is-resource-name'] = 'true';
  return requireProject(services, request, name, resource, action);
}

/**
 * The project a content route names, if the caller may do `action` on `resource` there, and
 * the repository's full name. The router has decoded the path once; Harbor clients encode a
 * slash twice, so a remaining `%2F` is a slash too.
 */
export async function requireRepository(
  services: ApiServices,
  request: FastifyRequest,
  resource: 'repository' | 'artifact' | 'tag' | 'scan' | 'sbom' | 'artifact-addition',
  action: Action,
): Promise<{ project: ProjectRef; repository: string }> {
  const params = request.params as RepositoryParams;
  const project = await requireNamedProject(services, request, params.project_name, resource, action);
  const repository = `${project.name}/${params.repository_name.replace(/%2f/gi, '/')}`;
  if (!isRepositoryName(repository))
    throw new RegistryError('NOT_FOUND', `repository ${repository} not found`);
  return { project, repository };
}

const sortKeys = {
  id: (r: RepositorySummary) => r.id,
  name: (r: RepositorySummary) => r.name,
  creation_time: (r: RepositorySummary) => r.created_at,
  update_time: (r: RepositorySummary) => r.updated_at,
  artifact_count: (r: RepositorySummary) => r.artifact_count,
};

/** Harbor's `q` keys for repositories: `name` (exact, `~fuzzy`, `{a b}`) and `project_id`. */
function filterRepositories<T extends RepositorySummary>(
  items: T[],
  q: string | undefined,
  projectIdOf: (item: T) => number,
): T[] {
  let result = items;
  for (const [key, condition] of parseQuery(q)) {
    if (key === 'name') result = result.filter((item) => matches(condition, item.name));
    else if (key === 'project_id') result = result.filter((item) => matches(condition, projectIdOf(item)));
    else throw new RegistryError('BAD_REQUEST', `unsupported query key ${JSON.stringify(key.slice(0, 100))}`);
  }
  return result;
}

/** One page of repositories as both list routes answer: `q` filtered, sorted, paged, as JSON. */
function repositoryPage<T extends RepositorySummary>(
  request: FastifyRequest,
  reply: FastifyReply,
  query: Static<typeof PageQuery>,
  params: PageParams,
  items: T[],
  projectIdOf: (item: T) => number,
) {
  const found = sortItems(
    filterRepositories(items, query.q, projectIdOf),
    query.sort,
    sortKeys,
    '-creation_time,name',
  );
  setPageHeaders(request, reply, params, found.length);
  return pageOf(found, params).map((summary) => repositoryJson(summary, projectIdOf(summary)));
}

/** Harbor's repositories: per project, across projects, one by one (read, describe, delete). */
export async function repositoryRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects/:project_name/repositories',
    {
      schema: {
        tags: ['repository'],
        summary: "List a project's repositories",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Type.Array(Repository), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof PageQuery>;
      const { project_name } = request.params as Static<typeof ProjectParams>;
      const params = pageParams(query);
      const project = await requireNamedProject(services, request, project_name, 'repository', 'list');
      const all = await services.artifacts.repositories(project.name);
      return repositoryPage(request, reply, query, params, all, () => project.id);
    },
  );

  api.get(
    '/repositories',
    {
      schema: {
        tags: ['repository'],
        summary: 'List the repositories of every project the caller may list',
        querystring: PageQuery,
        response: { 200: Type.Array(Repository), 400: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof PageQuery>;
      const params = pageParams(query);
      const projectIds = new Map<string, number>();
      for (const { row, metadata } of await services.projects.visible(request.caller)) {
        const ref = { id: Number(row.id), name: row.name, public: metadata.public === 'true' };
        if (await services.evaluator.canInProject(request.caller, ref, 'repository', 'list'))
          projectIds.set(row.name, ref.id);
      }
      const all = (await services.artifacts.repositories())
        .map((summary) => ({ ...summary, projectId: projectIds.get(summary.name.split('/', 1)[0]!) }))
        .filter(
          (summary): summary is RepositorySummary & { projectId: number } => summary.projectId !== undefined,
        );
      return repositoryPage(request, reply, query, params, all, (item) => item.projectId);
    },
  );

  api.get(
    '/projects/:project_name/repositories/:repository_name',
    {
      schema: {
        tags: ['repository'],
        summary: 'One repository',
        params: RepositoryParams,
        response: { 200: Repository, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request) => {
      // Harbor asks for `list` here, so whoever lists repositories may read each one.
      const { project, repository } = await requireRepository(services, request, 'repository', 'list');
      return repositoryJson(await services.artifacts.repository(repository), project.id);
    },
  );

  api.put(
    '/projects/:project_name/repositories/:repository_name',
    {
      schema: {
        tags: ['repository'],
        summary: "Change a repository's description",
        params: RepositoryParams,
        body: RepositoryUpdate,
        response: { 200: Type.Null(), 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { project, repository } = await requireRepository(services, request, 'repository', 'update');
      const body = request.body as Static<typeof RepositoryUpdate>;
      await services.artifacts.setDescription(repository, body.description ?? '');
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'repository',
        resource: repository,
        operation: 'update',
        result: 'success',
        projectId: project.id,
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/projects/:project_name/repositories/:repository_name',
    {
      schema: {
        tags: ['repository'],
        summary: 'Delete a repository: every artifact and tag in it',
        params: RepositoryParams,
        response: { 200: Type.Null(), 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { project, repository } = await requireRepository(services, request, 'repository', 'delete');
      await services.artifacts.deleteRepository(repository);
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'repository',
        resource: repository,
        operation: 'delete',
        result: 'success',
        projectId: project.id,
      });
      return reply.code(200).send();
    },
  );
}
