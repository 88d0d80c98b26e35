import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSysadmin } from '../../access/caller.ts';
import { roles } from '../../access/permissions.ts';
import type { ProjectRef } from '../../access/project-directory.ts';
import { changesVisibility, projectMetadataKeys } from '../../access/project-metadata.ts';
import type { ProjectSummary } from '../../access/project-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { parseCveAllowlist } from '../../policy/cve-allowlist.ts';
import { auditOrigin } from '../audit-origin.ts';
import { requireAuthenticated, requireProject } from './authz.ts';
import type { ApiServices } from './context.ts';
import { CveAllowlistSchema } from './cve-allowlists.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import { CreatedResponses, ErrorsSchema, isoTime, PageQuery } from './schemas.ts';

const Metadata = Type.Record(Type.String(), Type.String(), {
  description: `Harbor's project metadata, string values; keys: ${projectMetadataKeys.join(', ')}`,
});

const ProjectReq = Type.Object(
  {
    project_name: Type.Optional(Type.String({ maxLength: 255 })),
    public: Type.Optional(Type.Boolean({ description: 'deprecated: use metadata.public' })),
    metadata: Type.Optional(Metadata),
    storage_limit: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    registry_id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    cve_allowlist: Type.Optional(CveAllowlistSchema),
  },
  { additionalProperties: true },
);
type ProjectReq = Static<typeof ProjectReq>;

const Project = Type.Object({
  project_id: Type.Integer(),
  owner_id: Type.Integer(),
  name: Type.String(),
  registry_id: Type.Union([Type.Integer(), Type.Null()]),
  creation_time: Type.String(),
  update_time: Type.String(),
  deleted: Type.Boolean(),
  owner_name: Type.String(),
  togglable: Type.Boolean(),
  current_user_role_id: Type.Integer(),
  current_user_role_ids: Type.Array(Type.Integer()),
  repo_count: Type.Integer(),
  metadata: Metadata,
  cve_allowlist: Type.Optional(CveAllowlistSchema),
});

const NameOrId = Type.Object({ project_name_or_id: Type.String() });

async function projectJson(services: ApiServices, request: FastifyRequest, summary: ProjectSummary) {
  const id = Number(summary.row.id);
  const owner = await services.db.users.findById(Number(summary.row.owner_id));
  const caller = request.caller;
  const roleIds = byPrivilege(
    caller.kind === 'user' ? await services.directory.rolesOf(id, caller.id, caller.groupIds) : [],
  );
  return {
    project_id: id,
    owner_id: Number(summary.row.owner_id),
    name: summary.row.name,
    registry_id: null,
    creation_time: isoTime(summary.row.created_at),
    update_time: isoTime(summary.row.updated_at),
    deleted: false,
    owner_name: owner?.username ?? '',
    togglable: true,
    current_user_role_id: roleIds[0] ?? 0,
    current_user_role_ids: roleIds,
    repo_count: (await services.db.repositories.findInProject(summary.row.name)).length,
    metadata: { public: 'false', ...summary.metadata },
  };
}

/** Harbor shows the most privileged of a caller's roles (direct or through groups) first. */
const rolePrivilege: number[] = [
  roles.projectAdmin,
  roles.maintainer,
  roles.developer,
  roles.guest,
  roles.limitedGuest,
];

function byPrivilege(roleIds: readonly number[]): number[] {
  return [...roleIds].sort((a, b) => rolePrivilege.indexOf(a) - rolePrivilege.indexOf(b));
}

/** Audits a change to a project (its creation, metadata, deletion). */
function recordChange(
  services: ApiServices,
  request: FastifyRequest,
  project: ProjectRef,
  operation: 'create' | 'update' | 'delete',
  detail?: string,
): void {
  services.audit.record({
    ...auditOrigin(request),
    resourceType: 'project',
    resource: project.name,
    operation,
    result: 'success',
    projectId: project.id,
    detail,
  });
}

/**
 * The `storage_limit` a request sets: only a system administrator's counts, and null or 0 means
 * the default, as in Harbor; others' is ignored.
 */
function requestedStorageLimit(request: FastifyRequest, body: ProjectReq): number | undefined {
  const limit = body.storage_limit;
  if (limit === undefined || limit === null || limit === 0 || !isSysadmin(request.caller)) return undefined;
  return limit;
}

async function summaryOf(services: ApiServices, project: ProjectRef): Promise<ProjectSummary> {
  const row = await services.db.projects.findById(project.id);
  if (!row) throw new RegistryError('NOT_FOUND', `project ${project.name} not found`);
  return { row, metadata: await services.db.projects.metadata(project.id) };
}

/** Harbor's /projects: create, list, look up, update metadata, delete, and metadata entries. */
export async function projectRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects',
    {
      schema: {
        tags: ['project'],
        summary: 'List the projects the caller may see',
        querystring: Type.Intersect([
          PageQuery,
          Type.Object({
            name: Type.Optional(Type.String()),
            public: Type.Optional(Type.Boolean()),
            owner: Type.Optional(Type.String()),
            with_detail: Type.Optional(Type.Boolean()),
          }),
        ]),
        response: { 200: Type.Array(Project), 400: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof PageQuery> & {
        name?: string;
        public?: boolean;
        owner?: string;
      };
      const params = pageParams(query);
      const conditions = parseQuery(query.q);
      let projects = await services.projects.visible(request.caller);
      if (request.caller.kind === 'anonymous' && query.public === false) projects = [];
      if (query.public !== undefined)
        projects = projects.filter((p) => (p.metadata.public === 'true') === query.public);
      if (query.name)
        projects = projects.filter((p) => matches({ kind: 'fuzzy', value: query.name! }, p.row.name));
      const name = conditions.get('name');
      if (name) projects = projects.filter((p) => matches(name, p.row.name));
      if (query.owner) {
        const owner = await services.db.users.findByUsername(query.owner);
        projects = projects.filter((p) => Number(p.row.owner_id) === Number(owner?.id ?? -1));
      }
      setPageHeaders(request, reply, params, projects.length);
      return Promise.all(pageOf(projects, params).map((p) => projectJson(services, request, p)));
    },
  );

  api.head(
    '/projects',
    {
      schema: {
        tags: ['project'],
        summary: 'Whether a project of this name exists',
        querystring: Type.Object({ project_name: Type.String() }),
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const { project_name } = request.query as { project_name: string };
      const exists = await services.db.projects.findByName(project_name);
      return reply.code(exists ? 200 : 404).send();
    },
  );

  api.post(
    '/projects',
    {
      schema: {
        tags: ['project'],
        summary: 'Create a project; the creator becomes its project admin',
        body: ProjectReq,
        response: CreatedResponses,
      },
    },
    async (request, reply) => {
      requireAuthenticated(request);
      const body = request.body as ProjectReq;
      const caller = request.caller;
      if (!body.project_name) throw new RegistryError('BAD_REQUEST', 'project_name is required');
      const allowed =
        isSysadmin(caller) ||
        (caller.kind === 'user' && (await services.settings.projectCreationRestriction()) === 'everyone') ||
        (caller.kind === 'robot' && services.evaluator.canInSystem(caller, 'project', 'create'));
      if (!allowed) throw new RegistryError('FORBIDDEN', 'Only system admin can create project');
      const metadata = { ...body.metadata };
      const isPublic = metadata.public !== undefined ? metadata.public === 'true' : body.public === true;
      if (metadata.public !== undefined && metadata.public !== 'true' && metadata.public !== 'false') {
        throw new RegistryError(
          'BAD_REQUEST',
          `metadata.public should only be 'true' or 'false', but got: '${metadata.public}'`,
        );
      }
      delete metadata.public;
      const allowlist = body.cve_allowlist === undefined ? undefined : parseCveAllowlist(body.cve_allowlist);
      const created = await services.projects.create(caller, {
        name: body.project_name,
        public: isPublic,
        metadata,
        storageLimit: requestedStorageLimit(request, body),
      });
      if (allowlist) await services.cveAllowlists.setProject(created.id, allowlist);
      recordChange(services, request, created, 'create');
      const location = request.headers['x-resource-name-in-location'] === 'true' ? created.name : created.id;
      return reply.code(201).header('location', `/api/v2.0/projects/${location}`).send();
    },
  );

  api.get(
    '/projects/:project_name_or_id',
    { schema: { tags: ['project'], summary: 'One project', params: NameOrId, response: { 200: Project } } },
    async (request) => {
      const { project_name_or_id } = request.params as Static<typeof NameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'project', 'read');
      return {
        ...(await projectJson(services, request, await summaryOf(services, project))),
        cve_allowlist: await services.cveAllowlists.projectJson(project.id),
      };
    },
  );

  api.put(
    '/projects/:project_name_or_id',
    {
      schema: {
        tags: ['project'],
        summary: "Update a project's metadata (the name cannot change)",
        params: NameOrId,
        body: ProjectReq,
      },
    },
    async (request, reply) => {
      const { project_name_or_id } = request.params as Static<typeof NameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'project', 'update');
      const body = request.body as ProjectReq;
      const metadata = { ...body.metadata };
      if (body.public !== undefined && metadata.public === undefined) metadata.public = String(body.public);
      const allowlist =
        body.cve_allowlist === undefined ? undefined : parseCveAllowlist(body.cve_allowlist, project.id);
      await services.projects.setMetadata(project, metadata);
      const storageLimit = requestedStorageLimit(request, body);
      if (storageLimit !== undefined) await services.projects.setStorageLimit(project, storageLimit);
      if (allowlist) await services.cveAllowlists.setProject(project.id, allowlist);
      const allowlistNote = allowlist ? `; cve_allowlist: ${allowlist.ids.length} items` : '';
      recordChange(
        services,
        request,
        project,
        'update',
        `metadata: ${Object.keys(metadata).join(', ')}${allowlistNote}`,
      );
      return reply.code(200).send();
    },
  );

  api.delete(
    '/projects/:project_name_or_id',
    { schema: { tags: ['project'], summary: 'Delete an empty project', params: NameOrId } },
    async (request, reply) => {
      const { project_name_or_id } = request.params as Static<typeof NameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'project', 'delete');
      await services.projects.delete(project);
      recordChange(services, request, project, 'delete');
      return reply.code(200).send();
    },
  );

  api.get(
    '/projects/:project_name_or_id/_deletable',
    {
      schema: {
        tags: ['project'],
        summary: 'Whether the project can be deleted',
        params: NameOrId,
        response: { 200: Type.Object({ deletable: Type.Boolean(), message: Type.String() }) },
      },
    },
    async (request) => {
      const { project_name_or_id } = request.params as Static<typeof NameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'project', 'delete');
      const problem = await services.projects.deletionProblem(project);
      return { deletable: problem === undefined, message: problem ?? '' };
    },
  );

  api.get(
    '/projects/:project_name_or_id/summary',
    {
      schema: {
        tags: ['project'],
        summary: 'Counts of repositories and members by role',
        params: NameOrId,
      },
    },
    async (request) => {
      const { project_name_or_id } = request.params as Static<typeof NameOrId>;
      const project = await requireProject(services, request, project_name_or_id, 'project', 'read');
      const summary: Record<string, number> = {
        repo_count: (await services.db.repositories.findInProject(project.name)).length,
      };
      if (await services.evaluator.canInProject(request.caller, project, 'member', 'list')) {
        const counts = await services.db.members.countByRole(project.id);
        summary.project_admin_count = counts.get(1) ?? 0;
        summary.developer_count = counts.get(2) ?? 0;
        summary.guest_count = counts.get(3) ?? 0;
        summary.maintainer_count = counts.get(4) ?? 0;
        summary.limited_guest_count = counts.get(5) ?? 0;
      }
      if (await services.evaluator.canInProject(request.caller, project, 'quota', 'read')) {
        const quota = await services.db.quotas.findByProject(project.id);
        if (quota)
          return { ...summary, quota: { hard: { storage: quota.hard }, used: { storage: quota.used } } };
      }
      return summary;
    },
  );

  registerMetadataRoutes(api, services);
}

function registerMetadataRoutes(api: FastifyInstance, services: ApiServices): void {
  const MetaParams = Type.Object({ project_name_or_id: Type.String(), meta_name: Type.String() });
  const metadataOf = async (request: FastifyRequest, action: 'read' | 'create' | 'update' | 'delete') => {
    const { project_name_or_id } = request.params as Static<typeof NameOrId>;
    return requireProject(services, request, project_name_or_id, 'metadata', action);
  };
  /** Metadata rights cover scanning and trust switches; visibility needs project:update too. */
  const requireVisibilityChange = async (request: FastifyRequest, project: ProjectRef, keys: string[]) => {
    if (!changesVisibility(keys)) return;
    if (!(await services.evaluator.canInProject(request.caller, project, 'project', 'update'))) {
      throw new RegistryError('FORBIDDEN', 'changing the visibility of a project needs project admin rights');
    }
  };
  const setEntries = async (request: FastifyRequest, reply: FastifyReply, action: 'create' | 'update') => {
    const project = await metadataOf(request, action);
    const entries = request.body as Record<string, string>;
    const keys = Object.keys(entries);
    const { meta_name } = request.params as { meta_name?: string };
    if (meta_name !== undefined && (keys.length !== 1 || keys[0] !== meta_name)) {
      throw new RegistryError('BAD_REQUEST', `the body must hold exactly the metadata ${meta_name}`);
    }
    await requireVisibilityChange(request, project, keys);
    await services.projects.setMetadata(project, entries);
    recordChange(services, request, project, 'update', `metadata: ${Object.keys(entries).join(', ')}`);
    return reply.code(200).send();
  };

  api.get(
    '/projects/:project_name_or_id/metadatas/',
    {
      schema: {
        tags: ['project'],
        summary: "A project's metadata",
        params: NameOrId,
        response: { 200: Metadata },
      },
    },
    async (request) => services.db.projects.metadata((await metadataOf(request, 'read')).id),
  );
  api.post(
    '/projects/:project_name_or_id/metadatas/',
    { schema: { tags: ['project'], summary: 'Add metadata entries', params: NameOrId, body: Metadata } },
    async (request, reply) => setEntries(request, reply, 'create'),
  );
  api.get(
    '/projects/:project_name_or_id/metadatas/:meta_name',
    {
      schema: {
        tags: ['project'],
        summary: 'One metadata entry',
        params: MetaParams,
        response: { 200: Metadata },
      },
    },
    async (request) => {
      const { meta_name } = request.params as Static<typeof MetaParams>;
      const metadata = await services.db.projects.metadata((await metadataOf(request, 'read')).id);
      if (metadata[meta_name] === undefined)
        throw new RegistryError('NOT_FOUND', `metadata ${meta_name} not found`);
      return { [meta_name]: metadata[meta_name] };
    },
  );
  api.put(
    '/projects/:project_name_or_id/metadatas/:meta_name',
    { schema: { tags: ['project'], summary: 'Change a metadata entry', params: MetaParams, body: Metadata } },
    async (request, reply) => setEntries(request, reply, 'update'),
  );
  api.delete(
    '/projects/:project_name_or_id/metadatas/:meta_name',
    { schema: { tags: ['project'], summary: 'Remove a metadata entry', params: MetaParams } },
    async (request, reply) => {
      const { meta_name } = request.params as Static<typeof MetaParams>;
      const project = await metadataOf(request, 'delete');
      await requireVisibilityChange(request, project, [meta_name]);
      if (!(await services.projects.deleteMetadata(project, meta_name))) {
        throw new RegistryError('NOT_FOUND', `metadata ${meta_name} not found`);
      }
      recordChange(services, request, project, 'update', `metadata deleted: ${meta_name}`);
      return reply.code(200).send();
    },
  );
}
