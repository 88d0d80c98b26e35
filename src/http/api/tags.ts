import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TagRow } from '../../db/tags.ts';
import { RegistryError } from '../../oci/errors.ts';
import { ArtifactParams, auditContent, contentErrors, openRepository } from './content-access.ts';
import type { ApiServices } from './context.ts';
import { markImmutableTags } from './immutable-status.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { matches, parseQuery } from './query.ts';
import { ErrorsSchema, PageQuery } from './schemas.ts';
import { sortItems } from './sorting.ts';
import { timeCondition } from './time-range.ts';

export const Tag = Type.Object({
  id: Type.Integer(),
  repository_id: Type.Integer(),
  artifact_id: Type.Integer(),
  name: Type.String(),
  push_time: Type.String({ format: 'date-time' }),
  pull_time: Type.String({ format: 'date-time', description: 'Berth does not record pulls' }),
  immutable: Type.Boolean(),
});

const TagParams = Type.Object({ ...ArtifactParams.properties, tag_name: Type.String() });
const TagListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    with_signature: Type.Optional(Type.Boolean()),
    with_immutable_status: Type.Optional(Type.Boolean()),
  }),
]);
const TagCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: true },
);

const tagSortKeys = {
  id: (tag: TagRow) => tag.id,
  name: (tag: TagRow) => tag.name,
  push_time: (tag: TagRow) => tag.updated_at,
};

/** Harbor's tags of an artifact: list, create (pointing at the artifact), delete. */
export async function tagRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/tags',
    {
      schema: {
        tags: ['artifact'],
        summary: "An artifact's tags",
        params: ArtifactParams,
        querystring: TagListQuery,
        response: { 200: Type.Array(Tag), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const query = request.query as Static<typeof TagListQuery>;
      const params = pageParams(query);
      const { ref, content } = await openRepository(services, request, 'tag', 'list');
      const row = content.find(reference);
      let tags = content.tagsByDigest.get(row.digest) ?? [];
      for (const [key, condition] of parseQuery(query.q)) {
        if (key === 'name') tags = tags.filter((tag) => matches(condition, tag.name));
        else if (key === 'push_time') {
          const range = timeCondition(condition);
          tags = tags.filter((tag) => matches(range, tag.updated_at));
        } else
          throw new RegistryError(
            'BAD_REQUEST',
            `unsupported query key ${JSON.stringify(key.slice(0, 100))}`,
          );
      }
      const sorted = sortItems(tags, query.sort, tagSortKeys, '-push_time,-id');
      setPageHeaders(request, reply, params, sorted.length);
      const views = pageOf(sorted, params).map((tag) => services.artifacts.views.tagView(ref, tag, row.id));
      if (query.with_immutable_status) await markImmutableTags(services, ref.name, views);
      return views;
    },
  );

  api.post(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/tags',
    {
      schema: {
        tags: ['artifact'],
        summary: 'Tag the artifact',
        params: ArtifactParams,
        body: TagCreate,
        response: { 201: Type.Null(), ...contentErrors, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { reference } = request.params as Static<typeof ArtifactParams>;
      const { name } = request.body as Static<typeof TagCreate>;
      const opened = await openRepository(services, request, 'tag', 'create');
      const { content } = opened;
      await services.artifacts.createTag(content, content.find(reference), name);
      auditContent(services, request, opened, {
        resourceType: 'tag',
        resource: `${content.repository}:${name}`,
        operation: 'create',
      });
      const location = `${request.url.split('?', 1)[0]}/${encodeURIComponent(name)}`;
      return reply.code(201).header('location', location).send();
    },
  );

  api.delete(
    '/projects/:project_name/repositories/:repository_name/artifacts/:reference/tags/:tag_name',
    {
      schema: {
        tags: ['artifact'],
        summary: 'Remove a tag from the artifact',
        params: TagParams,
        response: { 200: Type.Null(), ...contentErrors },
      },
    },
    async (request, reply) => {
      const { reference, tag_name } = request.params as Static<typeof TagParams>;
      const opened = await openRepository(services, request, 'tag', 'delete');
      const { content } = opened;
      await services.artifacts.deleteTag(content, content.find(reference), tag_name);
      auditContent(services, request, opened, {
        resourceType: 'tag',
        resource: `${content.repository}:${tag_name}`,
        operation: 'delete',
      });
      return reply.code(200).send();
    },
  );
}
