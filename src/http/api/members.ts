import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleName } from '../../access/permissions.ts';
import type { NamedMemberRow } from '../../db/members.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireProject } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { ErrorsSchema, PageQuery } from './schemas.ts';

const RoleId = Type.Integer({
  description: '1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest',
});

const ProjectMember = Type.Object({
  role_id: Type.Optional(RoleId),
  member_user: Type.Optional(
    Type.Object({ user_id: Type.Optional(Type.Integer()), username: Type.Optional(Type.String()) }),
  ),
  member_group: Type.Optional(
    Type.Object({
      id: Type.Optional(Type.Integer()),
      group_name: Type.Optional(Type.String()),
      group_type: Type.Optional(Type.Integer()),
      ldap_group_dn: Type.Optional(Type.String()),
    }),
  ),
});
type ProjectMember = Static<typeof ProjectMember>;

const ProjectMemberEntity = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  entity_name: Type.String(),
  role_name: Type.String(),
  role_id: Type.Integer(),
  entity_id: Type.Integer(),
  entity_type: Type.String({ description: 'u for a user, g for a group' }),
});

const ProjectParams = Type.Object({ project_name_or_id: Type.String() });
const MemberParams = Type.Object({ project_name_or_id: Type.String(), mid: Type.Integer() });
const Refusals = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema };

function memberJson(member: NamedMemberRow): Static<typeof ProjectMemberEntity> {
  return {
    id: Number(member.id),
    project_id: Number(member.project_id),
    entity_name: member.entity_name,
    role_name: roleName(Number(member.role_id)) ?? '',
    role_id: Number(member.role_id),
    entity_id: Number(member.entity_id),
    entity_type: member.entity_type,
  };
}

function memberId(request: FastifyRequest): number {
  const { mid } = request.params as Static<typeof MemberParams>;
  if (mid <= 0) throw new RegistryError('BAD_REQUEST', 'the project member id is required');
  return mid;
}

/** Harbor's /projects/{p}/members: who holds which role in a project. */
export async function memberRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const project = (request: FastifyRequest, action: 'list' | 'read' | 'create' | 'update' | 'delete') =>
    requireProject(
      services,
      request,
      (request.params as Static<typeof ProjectParams>).project_name_or_id,
      'member',
      action,
    );
  const attempt = (request: FastifyRequest, operation: string) => {
    const { project_name_or_id, mid } = request.params as { project_name_or_id: string; mid?: number };
    const resource = mid === undefined ? project_name_or_id : `${project_name_or_id}/members/${mid}`;
    return { resourceType: 'member', resource, operation };
  };
  const changed = (member: NamedMemberRow, detail?: string) => ({
    resource: member.entity_name || `${member.entity_type}${member.entity_id}`,
    projectId: Number(member.project_id),
    detail,
  });

  api.get(
    '/projects/:project_name_or_id/members',
    {
      schema: {
        tags: ['member'],
        summary: "A project's members",
        params: ProjectParams,
        querystring: Type.Intersect([
          Type.Pick(PageQuery, ['page', 'page_size']),
          Type.Object({ entityname: Type.Optional(Type.String()) }),
        ]),
        response: { 200: Type.Array(ProjectMemberEntity), ...Refusals },
      },
    },
    async (request, reply) => {
      const query = request.query as { page?: number; page_size?: number; entityname?: string };
      const params = pageParams(query);
      const members = await services.members.list(await project(request, 'list'), query.entityname);
      setPageHeaders(request, reply, params, members.length);
      return pageOf(members, params).map(memberJson);
    },
  );

  api.post(
    '/projects/:project_name_or_id/members',
    {
      schema: {
        tags: ['member'],
        summary: 'Add a user or group to a project with a role',
        params: ProjectParams,
        body: ProjectMember,
        response: { 201: Type.Null(), ...Refusals, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as ProjectMember;
      const member = await audited(services, request, attempt(request, 'create'), async () => {
        const target = await project(request, 'create');
        const added = await services.members.add(target, {
          roleId: body.role_id ?? 0,
          user: body.member_user && { id: body.member_user.user_id, username: body.member_user.username },
          group: body.member_group && {
            id: body.member_group.id,
            name: body.member_group.group_name,
            type: body.member_group.group_type,
            ldapDn: body.member_group.ldap_group_dn,
          },
        });
        return { result: added, facts: changed(added, `role: ${roleName(Number(added.role_id))}`) };
      });
      const { project_name_or_id } = request.params as Static<typeof ProjectParams>;
      return reply
        .code(201)
        .header('location', `/api/v2.0/projects/${project_name_or_id}/members/${member.id}`)
        .send();
    },
  );

  api.get(
    '/projects/:project_name_or_id/members/:mid',
    {
      schema: {
        tags: ['member'],
        summary: 'One member of a project',
        params: MemberParams,
        response: { 200: ProjectMemberEntity, ...Refusals },
      },
    },
    async (request) => {
      const target = await project(request, 'read');
      return memberJson(await services.members.get(target, memberId(request)));
    },
  );

  api.put(
    '/projects/:project_name_or_id/members/:mid',
    {
      schema: {
        tags: ['member'],
        summary: "Change a member's role",
        params: MemberParams,
        body: Type.Object({ role_id: Type.Optional(RoleId) }),
        response: { 200: Type.Null(), ...Refusals },
      },
    },
    async (request, reply) => {
      const { role_id } = (request.body ?? {}) as { role_id?: number };
      await audited(services, request, attempt(request, 'update'), async () => {
        const target = await project(request, 'update');
        if (role_id === undefined) throw new RegistryError('BAD_REQUEST', 'role can not be empty');
        const member = await services.members.updateRole(target, memberId(request), role_id);
        return { result: member, facts: changed(member, `role: ${roleName(role_id)}`) };
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/projects/:project_name_or_id/members/:mid',
    {
      schema: {
        tags: ['member'],
        summary: 'Remove a member from a project',
        params: MemberParams,
        response: { 200: Type.Null(), ...Refusals },
      },
    },
    async (request, reply) => {
      await audited(services, request, attempt(request, 'delete'), async () => {
        const target = await project(request, 'delete');
        const member = await services.members.remove(target, memberId(request));
        return { result: member, facts: member ? changed(member) : { projectId: target.id } };
      });
      return reply.code(200).send();
    },
  );
}
