import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDigest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import type { ListPage, PageRequest } from '../../registry/listing-service.ts';
import { queryParam, type RegistryHandler } from './context.ts';

function pageRequest(request: FastifyRequest): PageRequest {
  const n = queryParam(request, 'n');
  const last = queryParam(request, 'last');
  if (n !== undefined && !/^\d{1,9}$/.test(n)) {
    throw new RegistryError(
      'PAGINATION_NUMBER_INVALID',
      `n must be a non-negative integer, got ${JSON.stringify(n.slice(0, 20))}`,
    );
  }
  return { limit: n === undefined ? undefined : Number(n), last: last === '' ? undefined : last };
}

/** RFC 8288 `Link` to the next page, in distribution's form. */
function linkNext(reply: FastifyReply, path: string, page: ListPage, request: PageRequest): void {
  if (page.next === undefined) return;
  const query = new URLSearchParams({ last: page.next, n: String(request.limit ?? page.items.length) });
  reply.header('link', `<${path}?${query}>; rel="next"`);
}

export const listTags: RegistryHandler = async ({ listing }, request, reply, { name }) => {
  const requested = pageRequest(request);
  const page = await listing.tags(name, requested);
  linkNext(reply, `/v2/${name}/tags/list`, page, requested);
  return reply
    .code(200)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ name, tags: page.items }));
};

export const listCatalog: RegistryHandler = async ({ listing }, request, reply) => {
  const requested = pageRequest(request);
  const page = await listing.catalog(requested);
  linkNext(reply, '/v2/_catalog', page, requested);
  return reply
    .code(200)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ repositories: page.items }));
};

export const listReferrers: RegistryHandler = async ({ manifests }, request, reply, { name, target }) => {
  const { digest } = parseDigest(target);
  const artifactType = queryParam(request, 'artifactType') || undefined;
  const after = queryParam(request, 'last') || undefined;
  const page = await manifests.referrers(name, digest, { artifactType, after });
  if (artifactType) reply.header('oci-filters-applied', 'artifactType');
  if (page.next) {
    const query = new URLSearchParams({ ...(artifactType ? { artifactType } : {}), last: page.next });
    reply.header('link', `</v2/${name}/referrers/${digest}?${query}>; rel="next"`);
  }
  return reply.code(200).header('content-type', mediaTypes.ociIndex).send(page.index);
};
