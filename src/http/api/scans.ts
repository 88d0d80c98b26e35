import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatJobLog } from '../../jobs/job-log.ts';
import { RegistryError } from '../../oci/errors.ts';
import { vulnerabilityReportMime } from '../../scan/scan-service.ts';
import { auditOrigin } from '../audit-origin.ts';
import { ArtifactParams, contentErrors } from './content-access.ts';
import type { ApiServices } from './context.ts';
import { requireRepository } from './repositories.ts';
import { ErrorsSchema } from './schemas.ts';

const ScanRequest = Type.Object(
  { scan_type: Type.Optional(Type.String({ description: 'vulnerability (default) or sbom' })) },
  { additionalProperties: true },
);

/** Harbor's `scan_type`: `vulnerability` (the default) or `sbom`; anything else is BAD_REQUEST. */
function scanTypeOf(request: FastifyRequest): 'vulnerability' | 'sbom' {
  const scanType = (request.body as Static<typeof ScanRequest> | null | undefined)?.scan_type;
  if (scanType === undefined || scanType === 'vulnerability' || scanType === 'sbom')
    return scanType ?? 'vulnerability';
  throw new RegistryError(
    'BAD_REQUEST',
    `scan type ${JSON.stringify(scanType.slice(0, 50))} is not supported`,
  );
}

/** The artifact a scan route names, once the caller may do `action` on `resource` in its project. */
async function scannedArtifact(
  services: ApiServices,
  request: FastifyRequest,
  resource: 'scan' | 'sbom' | 'artifact-addition',
  action: 'create' | 'read' | 'stop',
) {
  const { project, repository } = await requireRepository(services, request, resource, action);
  const { reference } = request.params as Static<typeof ArtifactParams>;
  const content = await services.artifacts.views.content(repository);
  return { project, repository, row: content.find(reference) };
}

/** Harbor's vulnerability scans of artifacts: start, stop, and the report as an artifact addition. */
export async function scanRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const base = '/projects/:project_name/repositories/:repository_name/artifacts/:reference';

  api.post(
    `${base}/scan`,
    {
      schema: {
        tags: ['scan'],
        summary: 'Scan an artifact for vulnerabilities (in the background)',
        params: ArtifactParams,
        body: Type.Optional(Type.Union([ScanRequest, Type.Null()])),
        response: { 202: Type.Null(), ...contentErrors, 422: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const scanType = scanTypeOf(request);
      // Harbor checks SBOM generation against its own resource, not the vulnerability scan's.
      const resource = scanType === 'sbom' ? 'sbom' : 'scan';
      const { project, repository, row } = await scannedArtifact(services, request, resource, 'create');
      if (scanType === 'sbom') await services.sboms.requestSbom(repository, row.digest, request.host);
      else await services.scans.requestScan(repository, row.digest);
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'artifact',
        resource: `${repository}@${row.digest}`,
        operation: scanType === 'sbom' ? 'generate sbom' : 'scan',
        result: 'success',
        projectId: project.id,
      });
      return reply.code(202).send();
    },
  );

  api.post(
    `${base}/scan/stop`,
    {
      schema: {
        tags: ['scan'],
        summary: 'Stop the running scan of an artifact',
        params: ArtifactParams,
        body: Type.Optional(Type.Union([ScanRequest, Type.Null()])),
        response: { 202: Type.Null(), ...contentErrors },
      },
    },
    async (request, reply) => {
      const sbom = scanTypeOf(request) === 'sbom';
      const { project, repository, row } = await scannedArtifact(
        services,
        request,
        sbom ? 'sbom' : 'scan',
        'stop',
      );
      const stopped = sbom
        ? await services.sboms.stop(repository, row.digest)
        : await services.scans.stopScan(row.digest, repository);
      if (!stopped) {
        const what = sbom ? 'SBOM generation' : 'scan';
        throw new RegistryError('BAD_REQUEST', `no ${what} of ${repository}@${row.digest} is running`);
      }
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'artifact',
        resource: `${repository}@${row.digest}`,
        operation: sbom ? 'stop sbom generation' : 'stop scan',
        result: 'success',
        projectId: project.id,
      });
      return reply.code(202).send();
    },
  );

  api.get(
    `${base}/additions/vulnerabilities`,
    {
      schema: {
        tags: ['artifact'],
        summary: "The artifact's vulnerability report, keyed by report MIME type",
        params: ArtifactParams,
        response: { 200: Type.Record(Type.String(), Type.Unknown()), ...contentErrors },
      },
    },
    async (request) => {
      const { repository, row } = await scannedArtifact(services, request, 'artifact-addition', 'read');
      const report = await services.scans.report(row.digest, repository);
      if (!report?.report) {
        throw new RegistryError('NOT_FOUND', `${repository}@${row.digest} has no vulnerability report`);
      }
      return { [vulnerabilityReportMime]: JSON.parse(report.report) as unknown };
    },
  );

  api.get(
    `${base}/scan/:report_id/log`,
    {
      schema: {
        tags: ['scan'],
        summary: "The log of an artifact's scan, the reason included when it failed",
        produces: ['text/plain'],
        params: Type.Composite([ArtifactParams, Type.Object({ report_id: Type.String() })]),
        response: { 200: Type.String(), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { report_id: reportId } = request.params as { report_id: string };
      const { repository, row } = await scannedArtifact(services, request, 'scan', 'read');
      const report = await services.scans.report(row.digest, repository);
      if (!report || String(report.id) !== reportId || report.job_id === null) {
        throw new RegistryError(
          'NOT_FOUND',
          `${repository}@${row.digest} has no scan report ${reportId.slice(0, 40)}`,
        );
      }
      const log = formatJobLog(await services.jobs.logs(report.job_id));
      const failure = report.error === null ? '' : `scan failed: ${report.error}\n`;
      return reply.type('text/plain; charset=utf-8').send(log + failure);
    },
  );
}
