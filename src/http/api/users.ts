import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UserRow } from '../../db/users.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireAuthenticated, requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import { CreatedResponses, ErrorsSchema, PageQuery } from './schemas.ts';
import { sortItems } from './sorting.ts';
import {
  Changed,
  CurrentUserResp,
  PasswordReq,
  SysadminFlag,
  sortKeys,
  UserCreationReq,
  UserId,
  UserProfile,
  UserResp,
  userJson,
} from './user-schemas.ts';

/** Harbor's /users: accounts, profiles, passwords, the sysadmin flag, and the caller's own view. */
export async function userRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const userId = (request: FastifyRequest) => (request.params as Static<typeof UserId>).user_id;
  const attempt = (request: FastifyRequest, operation: string) => ({
    resourceType: 'user',
    resource: String(userId(request)),
    operation,
  });

  api.get(
    '/users',
    {
      schema: {
        tags: ['user'],
        summary: 'List users (system administrators)',
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({ username: Type.Optional(Type.String()), email: Type.Optional(Type.String()) }),
        ]),
        response: { 200: Type.Array(UserResp), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'user', 'list');
      const query = request.query as Static<typeof PageQuery> & { username?: string; email?: string };
      const params = pageParams(query);
      const conditions = parseQuery(query.q);
      if (query.username) conditions.set('username', { kind: 'fuzzy', value: query.username });
      if (query.email) conditions.set('email', { kind: 'fuzzy', value: query.email });
      const fields = (user: UserRow): Record<string, string | number | null> => ({
        user_id: Number(user.id),
        username: user.username,
        email: user.email,
        realname: user.realname,
      });
      const users = (await services.users.list()).filter((user) =>
        [...conditions].every(
          ([key, condition]) => !(key in fields(user)) || matches(condition, fields(user)[key]),
        ),
      );
      const sorted = sortItems(users, query.sort, sortKeys, 'user_id');
      setPageHeaders(request, reply, params, sorted.length);
      return pageOf(sorted, params).map(userJson);
    },
  );

  api.post(
    '/users',
    {
      schema: {
        tags: ['user'],
        summary: 'Create a local user (database auth mode, system administrators)',
        body: UserCreationReq,
        response: CreatedResponses,
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as UserCreationReq;
      const created = await audited(
        services,
        request,
        { resourceType: 'user', resource: body.username ?? '', operation: 'create' },
        async () => {
          requireSystem(services, request, 'user', 'create');
          const user = await services.users.create({
            username: body.username ?? '',
            email: body.email ?? '',
            realname: body.realname ?? '',
            comment: body.comment ?? '',
            password: body.password ?? '',
          });
          return { result: user };
        },
      );
      return reply.code(201).header('location', `/api/v2.0/users/${created.id}`).send();
    },
  );

  api.get(
    '/users/current',
    {
      schema: {
        tags: ['user'],
        summary: 'The logged-in user (with their CLI secret, for OIDC users)',
        response: { 200: CurrentUserResp, 401: ErrorsSchema, 412: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const caller = request.caller;
      if (caller.kind !== 'user') {
        throw new RegistryError(
          'PRECONDITION',
          `get current user not available for security context: ${caller.kind}`,
        );
      }
      const user = await services.users.get(caller.id);
      const meta = services.cliSecrets.metaFor(user);
      reply.header('cache-control', 'no-store');
      return meta ? { ...userJson(user), oidc_user_meta: meta } : userJson(user);
    },
  );

  api.get(
    '/users/current/permissions',
    {
      schema: {
        tags: ['user'],
        summary: "The caller's permissions in a scope (/project/{id} or /system)",
        querystring: Type.Object({
          scope: Type.Optional(Type.String()),
          relative: Type.Optional(Type.Boolean()),
        }),
        response: {
          200: Type.Array(Type.Object({ resource: Type.String(), action: Type.String() })),
          401: ErrorsSchema,
        },
      },
    },
    async (request) => {
      requireAuthenticated(request);
      const { scope, relative } = request.query as { scope?: string; relative?: boolean };
      return services.permissions.list(request.caller, scope ?? '', relative ?? false);
    },
  );

  api.get(
    '/users/search',
    {
      schema: {
        tags: ['user'],
        summary: 'Find users by a non-empty fragment of their name (any logged-in user, not robots)',
        querystring: Type.Intersect([
          Type.Object({ username: Type.String({ minLength: 1 }) }),
          Type.Pick(PageQuery, ['page', 'page_size']),
        ]),
        response: {
          200: Type.Array(Type.Object({ user_id: Type.Integer(), username: Type.String() })),
          400: ErrorsSchema,
          401: ErrorsSchema,
          403: ErrorsSchema,
        },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      // A directory of people is for people: robots have no use for it.
      if (request.caller.kind === 'robot')
        throw new RegistryError('FORBIDDEN', 'robots may not search users');
      const query = request.query as { username: string; page?: number; page_size?: number };
      // An empty fragment would match everyone and turn the search into a full user list.
      if (query.username.trim() === '') throw new RegistryError('BAD_REQUEST', 'username is required');
      const params = pageParams(query);
      const found = await services.users.search(query.username);
      setPageHeaders(request, reply, params, found.length);
      return pageOf(found, params).map((user) => ({ user_id: Number(user.id), username: user.username }));
    },
  );

  api.get(
    '/users/:user_id',
    {
      schema: {
        tags: ['user'],
        summary: "A user's profile (themselves, or system administrators)",
        params: UserId,
        response: { 200: UserResp, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request) => {
      requireAuthenticated(request);
      const id = userId(request);
      const caller = request.caller;
      const self = caller.kind === 'user' && caller.id === id;
      if (!self && !services.evaluator.canInSystem(caller, 'user', 'read')) {
        throw new RegistryError('FORBIDDEN', `Not authorized to read user: ${id}`);
      }
      return userJson(await services.users.get(id));
    },
  );

  api.put(
    '/users/:user_id',
    {
      schema: {
        tags: ['user'],
        summary: "Change a user's email, real name or comment",
        params: UserId,
        body: UserProfile,
        response: { ...Changed, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const changes = (request.body ?? {}) as Static<typeof UserProfile>;
      await audited(services, request, attempt(request, 'update'), async () => {
        requireAuthenticated(request);
        const user = await services.users.updateProfile(request.caller, userId(request), changes);
        return {
          result: user,
          facts: { resource: user.username, detail: `profile: ${Object.keys(changes).join(', ')}` },
        };
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/users/:user_id',
    {
      schema: {
        tags: ['user'],
        summary: 'Delete a user and their memberships (system administrators)',
        params: UserId,
        response: Changed,
      },
    },
    async (request, reply) => {
      await audited(services, request, attempt(request, 'delete'), async () => {
        requireAuthenticated(request);
        if (!services.evaluator.canInSystem(request.caller, 'user', 'delete')) {
          throw new RegistryError('FORBIDDEN', 'Not authorized to delete users');
        }
        const user = await services.users.delete(request.caller, userId(request));
        return { result: user, facts: { resource: user.username } };
      });
      return reply.code(200).send();
    },
  );

  api.put(
    '/users/:user_id/sysadmin',
    {
      schema: {
        tags: ['user'],
        summary: 'Make a user a system administrator, or not',
        params: UserId,
        body: SysadminFlag,
        response: Changed,
      },
    },
    async (request, reply) => {
      const { sysadmin_flag } = request.body as Static<typeof SysadminFlag>;
      await audited(services, request, attempt(request, 'update'), async () => {
        requireSystem(services, request, 'user', 'update');
        const user = await services.users.setSysadmin(userId(request), sysadmin_flag);
        return {
          result: user,
          facts: { resource: user.username, detail: `sysadmin_flag: ${sysadmin_flag}` },
        };
      });
      return reply.code(200).send();
    },
  );

  api.put(
    '/users/:user_id/password',
    {
      schema: {
        tags: ['user'],
        summary: 'Change a password (your own with the old one; administrators anyone else’s without)',
        params: UserId,
        body: PasswordReq,
        response: Changed,
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof PasswordReq>;
      await audited(services, request, attempt(request, 'update'), async () => {
        requireAuthenticated(request);
        const user = await services.users.changePassword(request.caller, userId(request), {
          oldPassword: body.old_password,
          newPassword: body.new_password,
        });
        return { result: user, facts: { resource: user.username, detail: 'password' } };
      });
      return reply.code(200).send();
    },
  );
}
