import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ArtifactRow } from '../../db/manifests.ts';
import type { TagRow } from '../../db/tags.ts';
import { RegistryError } from '../../oci/errors.ts';
import { artifactKind, type RepositoryContent } from '../../registry/artifact-view.ts';
import { ArtifactParams, auditContent, contentErrors, openRepository } from './content-access.ts';
import type { ApiServices } from './context.ts';
import { markImmutableArtifactTags } from './immutable-status.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery, type QueryCondition } from './query.ts';
import { ErrorsSchema, PageQuery } from './schemas.ts';
import { sortItems } from './sorting.ts';
import { Tag, tagRoutes } from './tags.ts';
import { timeCondition } from './time-range.ts';

const Loose = Type.Object({}, { additionalProperties: true });
const Strings = Type.Record(Type.String(), Type.String());

const Reference = Type.Object({
  parent_id: Type.Integer(),
  child_id: Type.Integer(),
  child_digest: Type.String(),
  platform: Type.Optional(Loose),
  annotations: Type.Optional(Strings),
  urls: Type.Optional(Type.Array(Type.String())),
});

const Artifact = Type.Object({
  id: Type.Integer(),
  type: Type.String({ description: 'IMAGE, CHART, CNAB or UNKNOWN' }),
  media_type: Type.String(),
  manifest_media_type: Type.String(),
  artifact_type: Type.String(),
  project_id: Type.Integer(),
  repository_id: Type.Integer(),
  repository_name: Type.String(),
  digest: Type.String(),
  size: Type.Integer(),
  icon: Type.String(),
  push_time: Type.String({ format: 'date-time' }),
  pull_time: Type.String({ format: 'date-time' }),
  extra_attrs: Loose,
  annotations: Strings,
  references: Type.Array(Reference),
  tags: Type.Optional(Type.Array(Tag)),
  labels: Type.Array(Loose),
  addition_links: Loose,
  scan_overview: Type.Optional(Loose),
  sbom_overview: Type.Optional(Loose),
  accessories: Type.Optional(Type.Array(Loose)),
  signatures: Type.Optional(
    Type.Array(Loose, {
      description: "Berth's own (with_signature=true): signatures the pull gate verified",
    }),
  ),
});

const RepositoryParams = Type.Object({ project_name: Type.String(), repository_name: Type.String() });

const ViewQuery = Type.Object({
  with_tag: Type.Optional(Type.Boolean({ default: true })),
  with_label: Type.Optional(Type.Boolean({ default: false })),
  with_scan_overview: Type.Optional(Type.Boolean({ default: false })),
  with_sbom_overview: Type.Optional(Type.Boolean({ default: false })),
  with_signature: Type.Optional(Type.Boolean({ default: false })),
  with_immutable_status: Type.Optional(Type.Boolean({ default: false })),
  with_accessory: Type.Optional(Type.Boolean({ default: false })),
});
type ViewQuery = Static<typeof ViewQuery>;
const ListQuery = Type.Intersect([PageQuery, ViewQuery]);

function viewOptions(query: ViewQuery) {
  return {
    withTag: query.with_tag !== false,
    withAccessory: query.with_accessory === true,
    withScanOverview: query.with_scan_overview === true,
    withSbomOverview: query.with_sbom_overview === true,
    withSignatures: query.with_signature === true,
  };
}

/** Artifacts a `q` selects: `digest`, `tags` (`*` tagged, `nil` untagged), `type`, `media_type`, `push_time`; `base=*` lists children and accessories too. */
function filterArtifacts(content: RepositoryContent, q: string | undefined): ArtifactRow[] {
  const conditions = parseQuery(q);
  const base = conditions.get('base');
  conditions.delete('base');
  let rows = content.artifacts.filter(
    (row) => (base?.kind === 'exact' && base.value === '*') || content.listed(row),
  );
  for (const [key, condition] of conditions) {
    const test = artifactTests[key];
    if (!test)
      throw new RegistryError('BAD_REQUEST', `unsupported query key ${JSON.stringify(key.slice(0, 100))}`);
    const prepared = key === 'push_time' ? timeCondition(condition) : condition;
    rows = rows.filter((row) => test(prepared, row, content.tagsByDigest.get(row.digest) ?? []));
  }
  return rows;
}

const artifactTests: Record<
  string,
  (condition: QueryCondition, row: ArtifactRow, tags: TagRow[]) => boolean
> = {
  digest: (condition, row) => matches(condition, row.digest),
  type: (condition, row) => matches(condition, artifactKind(row)),
  media_type: (condition, row) => matches(condition, row.artifact_type) || matches(condition, row.media_type),
  push_time: (condition, row) => matches(condition, row.created_at),
  tags: (condition, _row, tags) => {
    if (condition.kind === 'exact' && condition.value === '*') return tags.length > 0;
    if (condition.kind === 'exact' && condition.value === 'nil') return tags.length === 0;
    return tags.some((tag) => matches(condition, tag.name));
  },
};

const artifactSortKeys = {
  id: (row: ArtifactRow) => row.id,
  push_time: (row: ArtifactRow) => Number(row.created_at),
  digest: (row: ArtifactRow) => row.digest,
  size: (row: ArtifactRow) => Number(row.size),
};

/** Harbor's artifacts and their tags, inside a repository. */
export async function artifactRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts',
    {
      schema: {
        tags: ['artifact'],
        summary: 'List the artifacts of a repository',
        params: RepositoryParams,
        querystring: ListQuery,
        response: { 200: Type.Array(Artifact), ...contentErrors },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof ListQuery>;
      const params = pageParams(query);
      const { ref, content } = await openRepository(services, request, 'artifact', 'list');
      const rows = sortItems(
        filterArtifacts(content, query.q),
        query.sort,
        artifactSortKeys,
        '-push_time,-id',
      );
      setPageHeaders(request, reply, params, rows.length);
      const views = await Promise.all(
        pageOf(rows, params).map((row) =>
          services.artifacts.views.artifactView(ref, content, row, viewOptions(query)),
        ),
      );
      if (query.with_immutable_status) await markImmutableArtifactTags(services, ref.name, views);
      return views;
    },
  );

  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference',
    {
      schema: {
        tags: ['artifact'],
        summary: 'One artifact, by digest or tag',
        params: ArtifactParams,
        querystring: ViewQuery,
        response: { 200: Artifact, ...contentErrors },
      },
    },
    async (request) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const { ref, content } = await openRepository(services, request, 'artifact', 'read');
      const row = content.find(reference);
      const query = request.query as ViewQuery;
      const view = await services.artifacts.views.artifactView(ref, content, row, viewOptions(query));
      if (query.with_immutable_status) await markImmutableArtifactTags(services, ref.name, [view]);
      return view;
    },
  );

  api.delete(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference',
    {
      schema: {
        tags: ['artifact'],
        summary: 'Delete an artifact: its manifest, tags and accessories',
        params: ArtifactParams,
        response: { 200: Type.Null(), ...contentErrors, 412: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const opened = await openRepository(services, request, 'artifact', 'delete');
      const { content } = opened;
      const row = content.find(reference);
      await services.artifacts.deleteArtifact(content, row);
      auditContent(services, request, opened, {
        resourceType: 'artifact',
        resource: `${content.repository}@${row.digest}`,
        operation: 'delete',
      });
      return reply.code(200).send();
    },
  );

  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/references',
    {
      schema: {
        tags: ['artifact'],
        summary: "An index's references to its child artifacts",
        params: ArtifactParams,
        querystring: PageQuery,
        response: { 200: Type.Array(Reference), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const params = pageParams(request.query as Static<typeof PageQuery>);
      const { ref, content } = await openRepository(services, request, 'artifact', 'read');
      const view = await services.artifacts.views.artifactView(ref, content, content.find(reference), {
        withTag: false,
      });
      const references = view.references as unknown[];
      setPageHeaders(request, reply, params, references.length);
      return pageOf(references, params);
    },
  );

  await tagRoutes(api, services);
}
