import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VulnerabilityReport } from '../../scan/scan-service.ts';
import type { AdapterCredential } from '../../scanner-adapter/adapter-credential.ts';
import {
  type AdapterScanRequest,
  type AdapterScanService,
  InvalidScanRequest,
  producedMimeTypes,
  reportAs,
} from '../../scanner-adapter/adapter-scan-service.ts';

export const adapterPrefix = '/api/v1';
const errorMime = 'application/vnd.scanner.adapter.error+json; version=1.0';
/** Seconds a client is told to wait before asking for a report that is not ready. */
const refreshAfterSeconds = 2;

export interface ScannerAdapterServices {
  scans: AdapterScanService;
  credential: AdapterCredential;
}

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', errorMime)
    .send(Buffer.from(JSON.stringify({ error: { message } })));
}

/** The report type an Accept header asks for: the first produced type it names, or the default. */
function chosenMime(accept: string | undefined): string | undefined {
  if (!accept || accept.includes('*/*')) return producedMimeTypes[0];
  const normalise = (value: string) => value.replace(/\s+/g, '').toLowerCase();
  const wanted = accept.split(',').map(normalise);
  return producedMimeTypes.find((mime) => wanted.includes(normalise(mime)));
}

function scanRequestOf(body: unknown): AdapterScanRequest | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { registry, artifact } = body as Record<string, unknown>;
  if (typeof registry !== 'object' || registry === null || typeof artifact !== 'object' || artifact === null)
    return undefined;
  const { url, authorization } = registry as Record<string, unknown>;
  const { repository, digest, tag, mime_type } = artifact as Record<string, unknown>;
  const optional = (value: unknown) => value === undefined || typeof value === 'string';
  if (typeof url !== 'string' || typeof repository !== 'string' || typeof digest !== 'string')
    return undefined;
  if (!optional(authorization) || !optional(tag) || !optional(mime_type)) return undefined;
  return body as AdapterScanRequest;
}

/**
 * Harbor's pluggable scanner API (scanner adapter spec 1.1) under /api/v1: metadata, accept a
 * scan, fetch its report. Its own credential guards it, not Berth's users: the server's
 * authentication leaves this prefix to these routes.
 */
export async function scannerAdapterRoutes(
  app: FastifyInstance,
  services: ScannerAdapterServices,
): Promise<void> {
  await app.register(
    async (adapter) => {
      adapter.addContentTypeParser(
        /^application\/(vnd\.scanner\.adapter\.scan\.request\+)?json/,
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_request, body, done) => {
          try {
            done(null, JSON.parse(body as string));
          } catch {
            done(null, undefined);
          }
        },
      );
      adapter.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        request.routeName = 'scanner-adapter';
        const apiKey = request.headers['x-scanneradapter-api-key'];
        if (
          !services.credential.accepts(
            request.headers.authorization,
            typeof apiKey === 'string' ? apiKey : undefined,
          )
        ) {
          reply.header('www-authenticate', 'Bearer realm="Berth scanner adapter"');
          return fail(reply, 401, 'a valid scanner-adapter credential is required');
        }
      });

      adapter.get('/metadata', { schema: { hide: true } }, async (_request, reply) =>
        reply
          .header('content-type', 'application/vnd.scanner.adapter.metadata+json; version=1.0')
          .send(Buffer.from(JSON.stringify(await services.scans.metadata()))),
      );

      adapter.post('/scan', { schema: { hide: true } }, async (request, reply) => {
        const scanRequest = scanRequestOf(request.body);
        if (!scanRequest)
          return fail(
            reply,
            400,
            'the body is not a ScanRequest (registry.url, artifact.repository, artifact.digest)',
          );
        try {
          const id = await services.scans.accept(scanRequest);
          return reply
            .code(202)
            .header('content-type', 'application/vnd.scanner.adapter.scan.response+json; version=1.0')
            .send(Buffer.from(JSON.stringify({ id })));
        } catch (error) {
          if (error instanceof InvalidScanRequest) return fail(reply, 422, error.message);
          throw error;
        }
      });

      adapter.get('/scan/:scan_request_id/report', { schema: { hide: true } }, async (request, reply) => {
        const { scan_request_id: id } = request.params as { scan_request_id: string };
        const mime = chosenMime(request.headers.accept);
        if (!mime) return fail(reply, 400, `reports are produced as ${producedMimeTypes.join(' or ')}`);
        const row = /^[0-9a-f-]{36}$/.test(id) ? await services.scans.find(id) : undefined;
        if (!row) return fail(reply, 404, `no scan request ${id.slice(0, 64)}`);
        if (row.status === 'Error')
          return fail(reply, 500, `the scan failed: ${row.error ?? 'unknown error'}`);
        if (row.status !== 'Success' || row.report === null)
          return reply.code(302).header('refresh-after', String(refreshAfterSeconds)).send();
        const report = JSON.parse(row.report) as VulnerabilityReport;
        return reply.header('content-type', mime).send(Buffer.from(JSON.stringify(reportAs(report, mime))));
      });
    },
    { prefix: adapterPrefix },
  );
}
