import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GroupRow } from '../../db/groups.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireAuthenticated, requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { CreatedResponses, ErrorsSchema, PageQuery } from './schemas.ts';

const UserGroup = Type.Object({
  id: Type.Optional(Type.Integer()),
  group_name: Type.Optional(Type.String({ maxLength: 255 })),
  group_type: Type.Optional(Type.Integer({ description: '1 LDAP, 2 HTTP, 3 OIDC' })),
  ldap_group_dn: Type.Optional(Type.String({ description: 'the DN of an LDAP group (type 1)' })),
});
type UserGroup = Static<typeof UserGroup>;

const UserGroupResp = Type.Object({
  id: Type.Integer(),
  group_name: Type.String(),
  group_type: Type.Integer(),
  ldap_group_dn: Type.String(),
});

const GroupId = Type.Object({ group_id: Type.Integer() });
const Paging = Type.Pick(PageQuery, ['page', 'page_size']);
const Changed = {
  200: Type.Null(),
  400: ErrorsSchema,
  401: ErrorsSchema,
  403: ErrorsSchema,
  404: ErrorsSchema,
};

function groupJson(group: GroupRow): Static<typeof UserGroupResp> {
  return {
    id: Number(group.id),
    group_name: group.name,
    group_type: Number(group.type),
    ldap_group_dn: group.ldap_dn ?? '',
  };
}

function groupId(request: FastifyRequest): number {
  const { group_id } = request.params as Static<typeof GroupId>;
  if (group_id <= 0) throw new RegistryError('BAD_REQUEST', 'the group id should be provided');
  return group_id;
}

/** Harbor's /usergroups: LDAP, HTTP and OIDC groups that can be made project members. */
export async function userGroupRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const attempt = (request: FastifyRequest, operation: string) => ({
    resourceType: 'user-group',
    resource: String((request.params as Static<typeof GroupId>).group_id),
    operation,
  });

  api.get(
    '/usergroups',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'List user groups (system administrators)',
        querystring: Type.Intersect([
          Paging,
          Type.Object({
            ldap_group_dn: Type.Optional(Type.String()),
            group_name: Type.Optional(Type.String()),
          }),
        ]),
        response: { 200: Type.Array(UserGroupResp), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'user-group', 'list');
      const query = request.query as {
        page?: number;
        page_size?: number;
        ldap_group_dn?: string;
        group_name?: string;
      };
      const params = pageParams(query);
      const groups = await services.groups.list({ ldapDn: query.ldap_group_dn, name: query.group_name });
      setPageHeaders(request, reply, params, groups.length);
      return pageOf(groups, params).map(groupJson);
    },
  );

  api.post(
    '/usergroups',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'Create a user group (system administrators)',
        body: UserGroup,
        response: CreatedResponses,
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as UserGroup;
      const created = await audited(
        services,
        request,
        { resourceType: 'user-group', resource: body.group_name ?? '', operation: 'create' },
        async () => {
          requireSystem(services, request, 'user-group', 'create');
          const group = await services.groups.create({
            name: body.group_name ?? '',
            type: body.group_type ?? 0,
            ldapDn: body.ldap_group_dn,
          });
          return { result: group, facts: { detail: `group_type: ${group.type}` } };
        },
      );
      return reply.code(201).header('location', `/api/v2.0/usergroups/${created.id}`).send();
    },
  );

  api.get(
    '/usergroups/search',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'Find groups by a fragment of their name (any logged-in user)',
        querystring: Type.Intersect([Paging, Type.Object({ groupname: Type.Optional(Type.String()) })]),
        response: {
          200: Type.Array(
            Type.Object({ id: Type.Integer(), group_name: Type.String(), group_type: Type.Integer() }),
          ),
          400: ErrorsSchema,
          401: ErrorsSchema,
        },
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const query = request.query as { page?: number; page_size?: number; groupname?: string };
      const params = pageParams(query);
      if (!query.groupname) {
        throw new RegistryError('BAD_REQUEST', 'need to provide groupname to search user group');
      }
      const found = await services.groups.search(query.groupname);
      setPageHeaders(request, reply, params, found.length);
      return pageOf(found, params).map(groupJson);
    },
  );

  api.get(
    '/usergroups/:group_id',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'One user group (system administrators)',
        params: GroupId,
        response: {
          200: UserGroupResp,
          400: ErrorsSchema,
          401: ErrorsSchema,
          403: ErrorsSchema,
          404: ErrorsSchema,
        },
      },
    },
    async (request) => {
      requireSystem(services, request, 'user-group', 'read');
      return groupJson(await services.groups.get(groupId(request)));
    },
  );

  api.put(
    '/usergroups/:group_id',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'Rename a user group (system administrators)',
        params: GroupId,
        body: UserGroup,
        response: { ...Changed, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as UserGroup;
      await audited(services, request, attempt(request, 'update'), async () => {
        requireSystem(services, request, 'user-group', 'update');
        const group = await services.groups.rename(groupId(request), body.group_name ?? '');
        return { result: group, facts: { resource: group.name } };
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/usergroups/:group_id',
    {
      schema: {
        tags: ['usergroup'],
        summary: 'Delete a user group and its project memberships (system administrators)',
        params: GroupId,
        response: Changed,
      },
    },
    async (request, reply) => {
      await audited(services, request, attempt(request, 'delete'), async () => {
        requireSystem(services, request, 'user-group', 'delete');
        const group = await services.groups.delete(groupId(request));
        return { result: group, facts: group ? { resource: group.name } : {} };
      });
      return reply.code(200).send();
    },
  );
}
