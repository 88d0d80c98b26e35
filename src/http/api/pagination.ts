import type { FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';

export interface PageParams {
  page: number;
  pageSize: number;
}

/** Harbor's paging: `page` from 1 (default 1), `page_size` 1..100 (default 10). */
export function pageParams(query: { page?: number; page_size?: number }): PageParams {
  const page = query.page ?? 1;
  const pageSize = query.page_size ?? 10;
  if (!Number.isInteger(page) || page < 1)
    throw new RegistryError('BAD_REQUEST', 'page must be a positive integer');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
    throw new RegistryError('BAD_REQUEST', 'page_size must be an integer from 1 to 100');
  }
  return { page, pageSize };
}

/**
 * `X-Total-Count` and Harbor's `Link` header (`<path?query>; rel="prev" , <…>; rel="next"`,
 * path only, the request's own query with `page` and `page_size` replaced).
 */
export function setPageHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  params: PageParams,
  total: number,
): void {
  reply.header('x-total-count', total);
  const url = new URL(request.url, 'http://berth');
  const link = (page: number) => {
    url.searchParams.set('page', String(page));
    url.searchParams.set('page_size', String(params.pageSize));
    return `<${url.pathname}?${decodeURIComponent(url.searchParams.toString())}>`;
  };
  const links: string[] = [];
  if (params.page > 1 && (params.page - 1) * params.pageSize < total)
    links.push(`${link(params.page - 1)}; rel="prev"`);
  if (params.page * params.pageSize < total) links.push(`${link(params.page + 1)}; rel="next"`);
  if (links.length > 0) reply.header('link', links.join(' , '));
}

/** The slice of `items` a page shows. */
export function pageOf<T>(items: readonly T[], params: PageParams): T[] {
  return items.slice((params.page - 1) * params.pageSize, params.page * params.pageSize);
}
