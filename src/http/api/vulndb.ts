import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';
import { mirrorUrls } from '../../vuln/vulndb-sync.ts';
import { audited } from './audited.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema, isoTime } from './schemas.ts';

const optionalTime = Type.Optional(Type.String({ format: 'date-time' }));

const MirrorSource = Type.Object({
  url: Type.String(),
  outcome: Type.String({
    description: 'imported, not-modified or failed: what the last sync of this URL did',
  }),
  checked_time: optionalTime,
  error: Type.Optional(Type.String()),
  etag: Type.Optional(Type.String()),
  last_modified: Type.Optional(Type.String()),
  bytes: Type.Optional(Type.Integer()),
  import_time: optionalTime,
  imported_records: Type.Optional(Type.Integer({ description: 'records in the last download imported' })),
  changed_records: Type.Optional(Type.Integer({ description: 'of those, new or updated advisories' })),
});

const VulndbStatus = Type.Object({
  advisories: Type.Integer(),
  withdrawn: Type.Integer(),
  affected_packages: Type.Integer(),
  ecosystems: Type.Array(Type.Object({ ecosystem: Type.String(), count: Type.Integer() })),
  last_import: Type.Optional(
    Type.Object({
      source: Type.String(),
      import_time: Type.String({ format: 'date-time' }),
      count: Type.Integer(),
    }),
  ),
  rescan_on_update: Type.Boolean(),
  mirror: Type.Object({
    urls: Type.Array(Type.String()),
    schedule: Type.String({ description: 'cron of the sync; empty when it only runs on request' }),
    next_sync_time: optionalTime,
    sources: Type.Array(MirrorSource),
  }),
});

const defined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Berth's own API for the offline vulnerability database: its state, and a mirror sync on request. */
export async function vulndbRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/vulndb/status',
    {
      schema: {
        tags: ['vulndb'],
        summary: "The vulnerability database's contents, last import and mirror syncs (Berth's addition)",
        response: { 200: VulndbStatus, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'scanner', 'read');
      const { database, rescanOnUpdate, mirror } = await services.vulndb.overview();
      return {
        advisories: database.advisories,
        withdrawn: database.withdrawn,
        affected_packages: database.affectedPackages,
        ecosystems: database.ecosystems,
        ...(database.lastImport
          ? {
              last_import: {
                source: database.lastImport.source,
                import_time: isoTime(database.lastImport.importedAt),
                count: database.lastImport.count,
              },
            }
          : {}),
        rescan_on_update: rescanOnUpdate,
        mirror: {
          urls: mirror.urls,
          schedule: mirror.schedule,
          next_sync_time: mirror.nextRunAt === null ? undefined : isoTime(mirror.nextRunAt),
          sources: mirror.sources.map((source) => ({
            url: source.url,
            outcome: source.outcome,
            checked_time: source.checked_at ? isoTime(source.checked_at) : undefined,
            error: defined(source.error),
            etag: defined(source.etag),
            last_modified: defined(source.last_modified),
            bytes: source.bytes === null ? undefined : Number(source.bytes),
            import_time: source.imported_at === null ? undefined : isoTime(source.imported_at),
            imported_records: defined(source.imported_records),
            changed_records: defined(source.changed_records),
          })),
        },
      };
    },
  );

  api.post(
    '/vulndb/sync',
    {
      schema: {
        tags: ['vulndb'],
        summary: "Sync the vulnerability database from its mirror now, as a job (Berth's addition)",
        response: {
          202: Type.Object({ job_id: Type.Integer() }),
          401: ErrorsSchema,
          403: ErrorsSchema,
          412: ErrorsSchema,
        },
      },
    },
    async (request, reply) => {
      const jobId = await audited(
        services,
        request,
        { resourceType: 'vulndb', resource: 'vulndb', operation: 'sync' },
        async () => {
          requireSystem(services, request, 'scanner', 'update');
          if (mirrorUrls(services.vulndb.mirror).length === 0) {
            throw new RegistryError(
              'PRECONDITION',
              'no vulnerability database mirror is configured (vulndb.mirror.url)',
            );
          }
          return { result: await services.vulndb.requestSync() };
        },
      );
      return reply.code(202).send({ job_id: jobId });
    },
  );
}
