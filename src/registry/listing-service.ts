import type { Database } from '../db/database.ts';
import { RegistryError } from '../oci/errors.ts';

export interface ListPage {
  items: string[];
  /** Present when more items follow: the `last` to ask for next. */
  next?: string;
}

export interface PageRequest {
  /** Maximum items; undefined means the service's default for that list. */
  limit?: number;
  last?: string;
}

/** Page sizes when the client gives no `n`; clients follow the `Link` to the rest. */
export const defaultCatalogPageSize = 1000;
export const defaultTagsPageSize = 10_000;

async function page(request: PageRequest, fallback: number, fetch: (limit: number) => Promise<string[]>) {
  const limit = request.limit ?? fallback;
  if (limit === 0) return { items: [] };
  const rows = await fetch(Math.min(limit, Number.MAX_SAFE_INTEGER - 1) + 1);
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: items[items.length - 1]! };
}

/** Tag lists and the catalog, in lexical order, with `n`/`last` pagination. */
export class ListingService {
  constructor(private readonly db: Database) {}

  async tags(repository: string, request: PageRequest): Promise<ListPage> {
    if (!(await this.db.repositories.exists(repository))) {
      throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known`, {
        detail: { name: repository },
      });
    }
    return page(request, defaultTagsPageSize, (limit) =>
      this.db.tags.list(repository, { last: request.last, limit }),
    );
  }

  async catalog(request: PageRequest): Promise<ListPage> {
    return page(request, defaultCatalogPageSize, (limit) =>
      this.db.repositories.findWithManifests({ last: request.last, limit }),
    );
  }
}
