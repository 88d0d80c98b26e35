import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { pingLdap } from '../../access/ldap-ping.ts';
import { readLdapSettings, withOverrides } from '../../access/ldap-settings.ts';
import { groupTypes } from '../../db/groups.ts';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema } from './schemas.ts';

const LdapConf = Type.Object(
  {
    ldap_url: Type.Optional(Type.String()),
    ldap_search_dn: Type.Optional(Type.String()),
    ldap_search_password: Type.Optional(Type.String({ description: 'empty: the stored one' })),
    ldap_base_dn: Type.Optional(Type.String()),
    ldap_filter: Type.Optional(Type.String()),
    ldap_uid: Type.Optional(Type.String()),
    ldap_scope: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
    ldap_connection_timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 300 })),
    ldap_verify_cert: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true, description: 'fields to test instead of the stored settings' },
);

const LdapPingResult = Type.Object({ success: Type.Boolean(), message: Type.String() });

const LdapUser = Type.Object({ username: Type.String(), realname: Type.String(), email: Type.String() });

const LdapImportUsers = Type.Object({ ldap_uid_list: Type.Array(Type.String(), { maxItems: 1000 }) });

const LdapFailedImportUser = Type.Object({ uid: Type.String(), error: Type.String() });

const UserGroup = Type.Object({
  id: Type.Integer({ description: "the group's id in Berth; 0 when it has not been added yet" }),
  group_name: Type.String(),
  group_type: Type.Integer({ description: '1: LDAP group' }),
  ldap_group_dn: Type.String(),
});

const errors = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 503: ErrorsSchema };

/** Harbor's /ldap: test the connection, search users and groups, import users. */
export async function ldapRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.post(
    '/ldap/ping',
    {
      schema: {
        tags: ['Ldap'],
        summary: 'Test the LDAP settings (the stored ones, or those given)',
        body: LdapConf,
        response: { 200: LdapPingResult, ...errors },
      },
      // Harbor's body is optional: none means "the stored settings".
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      requireSystem(services, request, 'configuration', 'read');
      const body = request.body as Static<typeof LdapConf>;
      return pingLdap(withOverrides(await readLdapSettings(services.settings), body));
    },
  );

  api.get(
    '/ldap/users/search',
    {
      schema: {
        tags: ['Ldap'],
        summary: 'Search users in the directory',
        querystring: Type.Object({ username: Type.Optional(Type.String({ maxLength: 255 })) }),
        response: { 200: Type.Array(LdapUser), ...errors },
      },
    },
    async (request) => {
      requireSystem(services, request, 'ldap-user', 'list');
      const { username = '' } = request.query as { username?: string };
      const users = await services.ldap.searchUsers(username);
      return users.map((user) => ({
        username: user.username,
        realname: user.realname,
        email: user.email ?? '',
      }));
    },
  );

  api.post(
    '/ldap/users/import',
    {
      schema: {
        tags: ['Ldap'],
        summary: 'Add directory users to Berth before their first login',
        body: LdapImportUsers,
        response: { 200: Type.Null(), 404: Type.Array(LdapFailedImportUser), ...errors },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'ldap-user', 'create');
      const { ldap_uid_list: uids } = request.body as Static<typeof LdapImportUsers>;
      const { imported, failed } = await services.ldap.importUsers(uids);
      for (const username of imported) {
        services.audit.record({
          ...auditOrigin(request),
          resourceType: 'user',
          resource: username,
          operation: 'create',
          result: 'success',
          detail: 'imported from LDAP',
        });
      }
      for (const failure of failed) {
        services.audit.record({
          ...auditOrigin(request),
          resourceType: 'user',
          resource: failure.uid.slice(0, 255),
          operation: 'create',
          result: 'failure',
          detail: `LDAP import: ${failure.error}`,
        });
      }
      if (failed.length > 0) return reply.code(404).send(failed);
      return reply.code(200).send();
    },
  );

  api.get(
    '/ldap/groups/search',
    {
      schema: {
        tags: ['Ldap'],
        summary: 'Search groups in the directory, by name or by DN',
        querystring: Type.Object({
          groupname: Type.Optional(Type.String({ maxLength: 255 })),
          groupdn: Type.Optional(Type.String({ maxLength: 1024 })),
        }),
        response: { 200: Type.Array(UserGroup), 404: ErrorsSchema, ...errors },
      },
    },
    async (request) => {
      requireSystem(services, request, 'ldap-user', 'list');
      const { groupname, groupdn } = request.query as { groupname?: string; groupdn?: string };
      const groups = await services.ldap.searchGroups({ name: groupname, dn: groupdn });
      if (groups.length === 0)
        throw new RegistryError(
          'NOT_FOUND',
          `no LDAP group with name ${groupname ?? ''} or DN ${groupdn ?? ''}`,
        );
      return Promise.all(
        groups.map(async (group) => {
          const known = await services.db.groups.findByLdapDn(group.dn);
          return {
            id: known ? Number(known.id) : 0,
            group_name: group.name,
            group_type: groupTypes.ldap,
            ldap_group_dn: group.dn,
          };
        }),
      );
    },
  );
}
