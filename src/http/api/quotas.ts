import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { storageLimitProblem } from '../../access/project-service.ts';
import type { QuotaView } from '../../db/quotas.ts';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { ErrorsSchema, isoTime } from './schemas.ts';
import { sortItems } from './sorting.ts';

/** Harbor's ResourceList: bytes of storage (-1 unlimited). */
export const ResourceList = Type.Record(Type.String(), Type.Integer());

const Quota = Type.Object({
  id: Type.Integer(),
  ref: Type.Object({ id: Type.Integer(), name: Type.String(), owner_name: Type.String() }),
  hard: ResourceList,
  used: ResourceList,
  creation_time: Type.String(),
  update_time: Type.String(),
});

const QuotaUpdateReq = Type.Object({ hard: ResourceList }, { additionalProperties: true });

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  reference: Type.Optional(Type.String({ description: 'the kind of object a quota limits: project' })),
  reference_id: Type.Optional(Type.String({ description: 'the id of that object' })),
  sort: Type.Optional(
    Type.String({ description: 'hard.storage, used.storage, creation_time, update_time; -field descends' }),
  ),
});

const IdParams = Type.Object({ id: Type.Integer() });

function quotaJson(quota: QuotaView) {
  return {
    id: quota.id,
    ref: { id: quota.projectId, name: quota.projectName, owner_name: quota.ownerName },
    hard: { storage: quota.hard },
    used: { storage: quota.used },
    creation_time: isoTime(quota.createdAt),
    update_time: isoTime(quota.updatedAt),
  };
}

const sortKeys: Record<string, (quota: QuotaView) => number> = {
  // Unlimited sorts above every limit, as it is the largest.
  'hard.storage': (quota) => (quota.hard < 0 ? Number.MAX_SAFE_INTEGER : quota.hard),
  'used.storage': (quota) => quota.used,
  creation_time: (quota) => quota.createdAt,
  update_time: (quota) => quota.updatedAt,
  id: (quota) => quota.id,
};

async function findQuota(services: ApiServices, id: number): Promise<QuotaView> {
  const quota = await services.db.quotas.find(id);
  if (!quota) throw new RegistryError('NOT_FOUND', `quota ${id} not found`);
  return quota;
}

/** Harbor's /quotas: every project's storage limit and usage, for system administrators. */
export async function quotaRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/quotas',
    {
      schema: {
        tags: ['quota'],
        summary: "List the projects' storage quotas",
        querystring: ListQuery,
        response: { 200: Type.Array(Quota), 400: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'quota', 'list');
      const query = request.query as Static<typeof ListQuery>;
      const params = pageParams(query);
      let quotas = await services.db.quotas.findAll();
      if (query.reference !== undefined && query.reference !== 'project') quotas = [];
      if (query.reference_id !== undefined)
        quotas = quotas.filter((quota) => String(quota.projectId) === query.reference_id);
      const sorted = sortItems(quotas, query.sort, sortKeys, 'id');
      setPageHeaders(request, reply, params, sorted.length);
      return pageOf(sorted, params).map(quotaJson);
    },
  );

  api.get(
    '/quotas/:id',
    {
      schema: {
        tags: ['quota'],
        summary: 'One quota',
        params: IdParams,
        response: { 200: Quota, 404: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'quota', 'read');
      const { id } = request.params as Static<typeof IdParams>;
      return quotaJson(await findQuota(services, id));
    },
  );

  api.put(
    '/quotas/:id',
    {
      schema: {
        tags: ['quota'],
        summary: "Change a quota's hard limits",
        params: IdParams,
        body: QuotaUpdateReq,
        response: { 200: Type.Null(), 400: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'quota', 'update');
      const { id } = request.params as Static<typeof IdParams>;
      const { hard } = request.body as Static<typeof QuotaUpdateReq>;
      const unknown = Object.keys(hard).find((resource) => resource !== 'storage');
      if (unknown !== undefined)
        throw new RegistryError('BAD_REQUEST', `resource ${unknown.slice(0, 100)} is not supported`);
      if (hard.storage === undefined) throw new RegistryError('BAD_REQUEST', 'hard.storage is required');
      const problem = storageLimitProblem(hard.storage);
      if (problem) throw new RegistryError('BAD_REQUEST', problem);
      const quota = await findQuota(services, id);
      await services.db.quotas.setHard(quota.id, hard.storage, services.clock.now());
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'quota',
        resource: quota.projectName,
        operation: 'update',
        result: 'success',
        projectId: quota.projectId,
        detail: `hard.storage: ${hard.storage}`,
      });
      return reply.code(200).send();
    },
  );
}
