import { RegistryError } from '../../oci/errors.ts';

type SortKey<T> = (item: T) => string | number;

/**
 * Sorts by Harbor's `sort` parameter (`field` or `-field`, comma-separated), then by
 * `fallback`; a field outside `keys` is a BAD_REQUEST.
 */
export function sortItems<T>(
  items: readonly T[],
  sort: string | undefined,
  keys: Record<string, SortKey<T>>,
  fallback: string,
): T[] {
  const fields = [...(sort ? sort.split(',') : []), ...fallback.split(',')]
    .map((field) => field.trim())
    .filter(Boolean)
    .map((field) => {
      const descending = field.startsWith('-');
      const name = descending ? field.slice(1) : field;
      const key = keys[name];
      if (!key)
        throw new RegistryError('BAD_REQUEST', `cannot sort by ${JSON.stringify(name.slice(0, 100))}`);
      return { key, descending };
    });
  return [...items].sort((a, b) => {
    for (const { key, descending } of fields) {
      const left = key(a);
      const right = key(b);
      const order =
        typeof left === 'number' && typeof right === 'number'
          ? left - right
          : String(left) < String(right)
            ? -1
            : String(left) > String(right)
              ? 1
              : 0;
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  });
}
