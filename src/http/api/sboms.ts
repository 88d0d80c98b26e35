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
      return reply.type(document.mediaType).send(document.bytes);
    },
  );
}
