import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {
  AuditLogFilter,
  AuditLogOrder,
  AuditLogRow,
  AuditLogSortColumn,
  TextMatch,
} from '../../db/audit-logs.ts';
import { RegistryError } from '../../oci/errors.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageParams, setPageHeaders } from './pagination.ts';
import { parseQuery, type QueryCondition } from './query.ts';
import { requireNamedProject } from './repositories.ts';
import { ErrorsSchema, isoTime, PageQuery } from './schemas.ts';
import { timeCondition } from './time-range.ts';

const AuditLog = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  resource: Type.String(),
  resource_type: Type.String(),
  operation: Type.String(),
  op_time: Type.String({ format: 'date-time' }),
  result: Type.String({ description: 'success, failure or denied (a Berth addition)' }),
  client_ip: Type.String({ description: 'where the request came from (a Berth addition)' }),
  user_agent: Type.String({ description: 'the client program (a Berth addition)' }),
  detail: Type.Optional(
    Type.String({ description: 'why it was refused, what changed, or how many times (a Berth addition)' }),
  ),
});

const textKeys: Record<string, 'username' | 'operation' | 'resourceType' | 'resource'> = {
  username: 'username',
  operation: 'operation',
  resource_type: 'resourceType',
  resource: 'resource',
};

const sortColumns: Record<string, AuditLogSortColumn> = {
  id: 'id',
  op_time: 'op_time',
  username: 'username',
  operation: 'operation',
  resource: 'resource',
  resource_type: 'resource_type',
};

function textMatch(key: string, condition: QueryCondition): TextMatch {
  if (condition.kind === 'exact') return { exact: condition.value };
  if (condition.kind === 'fuzzy') return { contains: condition.value };
  if (condition.kind === 'or') return { oneOf: condition.values };
  throw new RegistryError('BAD_REQUEST', `${key} takes a value, ~fuzzy value or {a b} list`);
}

/** Harbor's `q` for audit logs: username, operation, resource_type, resource, op_time=[a~b]. */
export function auditLogFilter(q: string | undefined): AuditLogFilter {
  const filter: AuditLogFilter = {};
  for (const [key, condition] of parseQuery(q)) {
    const field = textKeys[key];
    if (field) filter[field] = textMatch(key, condition);
    else if (key === 'result' && condition.kind === 'exact') filter.result = condition.value;
    else if (key === 'op_time') {
      const range = timeCondition(condition) as { min?: string; max?: string };
      if (range.min !== undefined) filter.from = Number(range.min);
      if (range.max !== undefined) filter.to = Number(range.max);
    } else
      throw new RegistryError('BAD_REQUEST', `unsupported query key ${JSON.stringify(key.slice(0, 100))}`);
  }
  return filter;
}

export function auditLogOrder(sort: string | undefined): AuditLogOrder[] {
  if (!sort) return [{ column: 'op_time', descending: true }];
  return sort
    .split(',')
    .map((field) => field.trim())
    .filter(Boolean)
    .map((field) => {
      const descending = field.startsWith('-');
      const column = sortColumns[descending ? field.slice(1) : field];
      if (!column)
        throw new RegistryError('BAD_REQUEST', `cannot sort by ${JSON.stringify(field.slice(0, 100))}`);
      return { column, descending };
    });
}

function auditLogJson(row: AuditLogRow) {
  return {
    id: Number(row.id),
    username: row.username,
    resource: row.resource,
    resource_type: row.resource_type,
    operation: row.operation,
    op_time: isoTime(row.op_time),
    result: row.result,
    client_ip: row.client_ip,
    user_agent: row.user_agent,
    ...(row.detail === null ? {} : { detail: row.detail }),
  };
}

/** Harbor's audit logs: the whole log for administrators, a project's for its members. */
export async function auditLogRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const list = async (
    request: FastifyRequest,
    reply: FastifyReply,
    project?: { id: number; name: string },
  ) => {
    const query = request.query as Static<typeof PageQuery>;
    const params = pageParams(query);
    const filter = { ...auditLogFilter(query.q), ...(project ? { project } : {}) };
    const { rows, total } = await services.db.auditLogs.find(
      filter,
      params.pageSize,
      (params.page - 1) * params.pageSize,
      auditLogOrder(query.sort),
    );
    setPageHeaders(request, reply, params, total);
    return rows.map(auditLogJson);
  };

  api.get(
    '/audit-logs',
    {
      schema: {
        tags: ['auditlog'],
        summary: 'The audit log, newest first',
        querystring: PageQuery,
        response: { 200: Type.Array(AuditLog), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'audit-log', 'list');
      return list(request, reply);
    },
  );

  api.get(
    '/projects/:project_name/logs',
    {
      schema: {
        tags: ['project'],
        summary: "A project's audit log, newest first",
        params: Type.Object({ project_name: Type.String() }),
        querystring: PageQuery,
        response: { 200: Type.Array(AuditLog), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { project_name } = request.params as { project_name: string };
      const project = await requireNamedProject(services, request, project_name, 'log', 'list');
      return list(request, reply, { id: project.id, name: project.name });
    },
  );
}
