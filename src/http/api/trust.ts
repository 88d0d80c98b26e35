import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { accessoryViews } from '../../registry/artifact-view.ts';
import { trustPolicyDocument } from '../../trust/trust-policy.ts';
import { audited } from './audited.ts';
import { requireProject } from './authz.ts';
import { ArtifactParams, contentErrors, openRepository } from './content-access.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import { ErrorsSchema, PageQuery } from './schemas.ts';

const errors = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema };

const ProjectParams = Type.Object({ project_name_or_id: Type.String() });

const Pem = Type.String({ minLength: 1, maxLength: 64 * 1024 });

/** Berth's own: the keys, identities and certificates whose signatures the project accepts. */
const TrustPolicy = Type.Object(
  {
    cosign_keys: Type.Array(
      Type.Object({ name: Type.String(), public_key: Pem }, { additionalProperties: false }),
      {
        description: 'PEM public keys (ECDSA P-256, RSA 2048+, Ed25519) whose Cosign signatures are accepted',
      },
    ),
    keyless_identities: Type.Array(
      Type.Object(
        { issuer: Type.String({ maxLength: 1024 }), subject: Type.String({ maxLength: 1024 }) },
        { additionalProperties: false },
      ),
      { description: 'Sigstore keyless signers: OIDC issuer and certificate subject (email or URI)' },
    ),
    notation_trust_stores: Type.Array(
      Type.Object({ name: Type.String(), certificates: Type.Array(Pem) }, { additionalProperties: false }),
      { description: 'Named sets of PEM X.509 CA (or signing) certificates' },
    ),
    notation_trusted_identities: Type.Array(Type.String({ maxLength: 2048 }), {
      description: "Notation trusted identities: 'x509.subject: C=US, O=…' or '*'",
    }),
  },
  { additionalProperties: false },
);
const TrustPolicyUpdate = Type.Partial(TrustPolicy, { additionalProperties: false });

const Accessory = Type.Object({
  id: Type.Integer(),
  artifact_id: Type.Integer(),
  subject_artifact_id: Type.Integer(),
  subject_artifact_repo: Type.String(),
  subject_artifact_digest: Type.String(),
  size: Type.Integer(),
  digest: Type.String(),
  type: Type.String({
    description: 'signature.cosign, signature.notation, harbor.sbom or subject.accessory',
  }),
  icon: Type.String(),
  creation_time: Type.String({ format: 'date-time' }),
});

const AccessoryQuery = Type.Intersect([PageQuery, Type.Object({ q: Type.Optional(Type.String()) })]);

/** Harbor's accessories of an artifact, and Berth's per-project trust policy. */
export async function trustRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/accessories',
    {
      schema: {
        tags: ['artifact'],
        summary: "The artifact's accessories: signatures, attestations, SBOMs",
        params: ArtifactParams,
        querystring: AccessoryQuery,
        response: { 200: Type.Array(Accessory), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const query = request.query as Static<typeof AccessoryQuery>;
      const params = pageParams(query);
      const { ref, content } = await openRepository(services, request, 'artifact', 'read');
      const conditions = parseQuery(query.q);
      const type = conditions.get('type');
      const all = accessoryViews(ref, content, content.find(reference)).filter(
        (accessory) => !type || matches(type, accessory.type),
      );
      setPageHeaders(request, reply, params, all.length);
      return pageOf(all, params);
    },
  );

  api.get(
    '/projects/:project_name_or_id/trust-policy',
    {
      schema: {
        tags: ['project'],
        summary: "Berth's own: the project's trust policy for content trust",
        params: ProjectParams,
        response: { 200: TrustPolicy, ...errors },
      },
    },
    async (request) => {
      const { project_name_or_id: nameOrId } = request.params as Static<typeof ProjectParams>;
      const project = await requireProject(services, request, nameOrId, 'configuration', 'read');
      return trustPolicyDocument(await services.trustPolicies.trustOf(project.id));
    },
  );

  api.put(
    '/projects/:project_name_or_id/trust-policy',
    {
      schema: {
        tags: ['project'],
        summary: "Berth's own: replace the project's trust policy (absent lists become empty)",
        params: ProjectParams,
        body: TrustPolicyUpdate,
        response: { 200: TrustPolicy, ...errors },
      },
    },
    async (request) => {
      const { project_name_or_id: nameOrId } = request.params as Static<typeof ProjectParams>;
      return audited(
        services,
        request,
        { resourceType: 'project', resource: nameOrId, operation: 'update', detail: 'trust-policy' },
        async () => {
          const project = await requireProject(services, request, nameOrId, 'configuration', 'update');
          const trust = await services.trustPolicies.replace(
            project,
            request.body as Static<typeof TrustPolicyUpdate>,
          );
          return {
            result: trustPolicyDocument(trust),
            facts: { resource: project.name, projectId: project.id },
          };
        },
      );
    },
  );
}
