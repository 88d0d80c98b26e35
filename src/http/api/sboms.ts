import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ArtifactParams, contentErrors } from './content-access.ts';
import type { ApiServices } from './context.ts';
import { requireRepository } from './repositories.ts';

/**
 * Harbor's `sbom` artifact addition: asked of an SBOM accessory (the artifact an image's
 * `sbom_overview.sbom_digest` names), it answers the SBOM document itself. Generation is
 * `POST …/scan` with `scan_type: sbom`, in scans.ts.
 */
const sbomDocumentTypes = new Set(['application/spdx+json', 'application/vnd.cyclonedx+json']);

export async function sbomRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/additions/sbom',
    {
      schema: {
        tags: ['artifact'],
        summary: 'The SBOM document an SBOM artifact holds (SPDX or CycloneDX JSON)',
        params: ArtifactParams,
        produces: ['application/spdx+json', 'application/vnd.cyclonedx+json'],
        response: { 200: Type.Unknown(), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { repository } = await requireRepository(services, request, 'artifact-addition', 'read');
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const row = (await services.artifacts.views.content(repository)).find(reference);
      const document = await services.sboms.artifacts.document(repository, row.digest);
      // The layer's media type is the pusher's word: only the SBOM formats are sent as such.
      const type = sbomDocumentTypes.has(document.mediaType.toLowerCase())
        ? document.mediaType
        : 'application/octet-stream';
      return reply.type(type).header('content-disposition', 'attachment').send(document.bytes);
    },
  );
}
