import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Robot, RobotLevel } from '../../access/robot-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireAuthenticated, requireProject } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import {
  errors,
  flatten,
  RobotCreate,
  RobotCreated,
  RobotId,
  RobotJson,
  RobotSec,
  RobotUpdate,
  robotJson,
} from './robot-schemas.ts';
import { ErrorsSchema, isoTime, PageQuery } from './schemas.ts';
import { sortItems } from './sorting.ts';

/** `q=Level=project,ProjectID=N` (Harbor's keys; lower-case spellings accepted too). */
function listScope(conditions: ReturnType<typeof parseQuery>): { level: RobotLevel; projectId: number } {
  const exact = (...keys: string[]) => {
    for (const key of keys) {
      const condition = conditions.get(key);
      if (condition) {
        if (condition.kind !== 'exact')
          throw new RegistryError('BAD_REQUEST', `${key} must be an exact match`);
        return condition.value;
      }
    }
    return undefined;
  };
  const level = exact('Level', 'level') ?? 'system';
  if (level === 'system') return { level, projectId: 0 };
  if (level !== 'project') throw new RegistryError('BAD_REQUEST', `bad request error level input: ${level}`);
  const projectId = exact('ProjectID', 'project_id', 'projectid');
  if (projectId === undefined)
    throw new RegistryError('BAD_REQUEST', 'must with project ID when to query project robots');
  if (!/^\d+$/.test(projectId)) throw new RegistryError('BAD_REQUEST', 'Project ID must be int type.');
  return { level, projectId: Number(projectId) };
}

const ProjectNameOrId = Type.Object({ project_name_or_id: Type.String() });

/** One page of robots, filtered by `q`'s name and sorted by `sort`, with Harbor's page headers. */
function listPage(
  request: FastifyRequest,
  reply: FastifyReply,
  all: Robot[],
  query: Static<typeof PageQuery>,
  conditions: ReturnType<typeof parseQuery>,
) {
  const params = pageParams(query);
  const name = conditions.get('name') ?? conditions.get('Name');
  const named = name
    ? all.filter((robot) => matches(name, robot.name.slice(robot.name.indexOf('$') + 1)))
    : all;
  const robots = sortItems(
    named,
    query.sort,
    { id: (r) => r.id, name: (r) => r.name, creation_time: (r) => r.createdAt },
    'id',
  );
  setPageHeaders(request, reply, params, robots.length);
  return pageOf(robots, params).map(robotJson);
}

/** Harbor's /robots: create, list, read, update, refresh the secret of, and delete robot accounts. */
export async function robotRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const attempt = (operation: 'create' | 'update' | 'delete', resource: string) =>
    ({ resourceType: 'robot', resource, operation }) as const;
  const factsOf = (robot: Robot, detail?: string) => ({
    resource: robot.name,
    projectId: robot.projectId || undefined,
    detail,
  });

  api.get(
    '/robots',
    {
      schema: {
        tags: ['robot'],
        summary: 'List system robots, or with q=Level=project,ProjectID=N the robots of a project',
        querystring: PageQuery,
        response: { 200: Type.Array(RobotJson), ...errors },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const query = request.query as Static<typeof PageQuery>;
      const conditions = parseQuery(query.q);
      const { level, projectId } = listScope(conditions);
      const robots = await services.robots.list(request.caller, level, projectId);
      return listPage(request, reply, robots, query, conditions);
    },
  );

  api.get(
    '/projects/:project_name_or_id/robots',
    {
      schema: {
        tags: ['robot'],
        summary: "A project's robots (Harbor's legacy robot v1 listing; prefer /robots)",
        deprecated: true,
        params: ProjectNameOrId,
        querystring: PageQuery,
        response: { 200: Type.Array(RobotJson), ...errors },
      },
    },
    async (request, reply) => {
      const { project_name_or_id } = request.params as Static<typeof ProjectNameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'robot', 'list');
      const query = request.query as Static<typeof PageQuery>;
      const robots = await services.robots.list(request.caller, 'project', project.id);
      return listPage(request, reply, robots, query, parseQuery(query.q));
    },
  );

  api.post(
    '/robots',
    {
      schema: {
        tags: ['robot'],
        summary: 'Create a robot account; its secret is in this response only',
        body: RobotCreate,
        response: { 201: RobotCreated, ...errors, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const body = request.body as RobotCreate;
      const created = await audited(services, request, attempt('create', body.name), async () => {
        const { robot, secret } = await services.robots.create(request.caller, {
          name: body.name,
          description: body.description,
          level: body.level,
          duration: body.duration,
          disabled: body.disable,
          secret: body.secret,
          permissions: flatten(body.permissions),
        });
        return { result: { robot, secret }, facts: factsOf(robot) };
      });
      const { robot, secret } = created;
      return reply
        .code(201)
        .header('location', `/api/v2.0/robots/${robot.id}`)
        .header('cache-control', 'no-store')
        .send({
          id: robot.id,
          name: robot.name,
          secret,
          creation_time: isoTime(robot.createdAt),
          expires_at: robot.expiresAt,
        });
    },
  );

  api.get(
    '/robots/:robot_id',
    {
      schema: {
        tags: ['robot'],
        summary: 'One robot account (without its secret)',
        params: RobotId,
        response: { 200: RobotJson, ...errors },
      },
    },
    async (request) => {
      requireAuthenticated(request);
      const { robot_id } = request.params as Static<typeof RobotId>;
      return robotJson(await services.robots.find(request.caller, robot_id, 'read'));
    },
  );

  api.put(
    '/robots/:robot_id',
    {
      schema: {
        tags: ['robot'],
        summary: 'Update description, duration, disable and permissions (not the name or level)',
        params: RobotId,
        body: RobotUpdate,
        response: { 200: Type.Null(), ...errors, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const { robot_id } = request.params as Static<typeof RobotId>;
      const body = request.body as RobotUpdate;
      await audited(services, request, attempt('update', String(robot_id)), async () => {
        const robot = await services.robots.find(request.caller, robot_id, 'update');
        const updated = await services.robots.update(request.caller, robot, {
          name: body.name,
          level: body.level,
          description: body.description,
          duration: body.duration,
          disabled: body.disable,
          permissions: body.permissions === undefined ? undefined : flatten(body.permissions),
        });
        return { result: undefined, facts: factsOf(updated, updated.disabled ? 'disabled' : undefined) };
      });
      return reply.code(200).send();
    },
  );

  api.patch(
    '/robots/:robot_id',
    {
      schema: {
        tags: ['robot'],
        summary: 'Refresh the secret: set the given one, or generate one (returned only here)',
        params: RobotId,
        body: RobotSec,
        response: { 200: RobotSec, ...errors },
      },
      // No body at all asks for a generated secret, as an empty one does.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const { robot_id } = request.params as Static<typeof RobotId>;
      const body = request.body as Static<typeof RobotSec>;
      const generated = await audited(services, request, attempt('update', String(robot_id)), async () => {
        const robot = await services.robots.find(request.caller, robot_id, 'update');
        const secret = await services.robots.refreshSecret(robot, body.secret);
        return { result: secret, facts: factsOf(robot, 'secret refreshed') };
      });
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .send(generated === undefined ? {} : { secret: generated });
    },
  );

  api.delete(
    '/robots/:robot_id',
    {
      schema: {
        tags: ['robot'],
        summary: 'Delete a robot account',
        params: RobotId,
        response: { 200: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const { robot_id } = request.params as Static<typeof RobotId>;
      await audited(services, request, attempt('delete', String(robot_id)), async () => {
        const robot = await services.robots.find(request.caller, robot_id, 'delete');
        await services.robots.delete(robot);
        return { result: undefined, facts: factsOf(robot) };
      });
      return reply.code(200).send();
    },
  );
}
