import { RegistryError } from '../../oci/errors.ts';

/** One condition of Harbor's `q` language. */
export type QueryCondition =
  | { kind: 'exact'; value: string }
  | { kind: 'fuzzy'; value: string }
  | { kind: 'range'; min?: string; max?: string }
  | { kind: 'or'; values: string[] }
  | { kind: 'and'; values: string[] };

/**
 * Parses `q` (`k=v,k=~v,k=[min~max],k={a b},k=(a b)`; a leading `\` escapes the first
 * character of a value) into key → condition.
 */
export function parseQuery(q: string | undefined): Map<string, QueryCondition> {
  const conditions = new Map<string, QueryCondition>();
  if (!q) return conditions;
  for (const item of q.split(',')) {
    const equals = item.indexOf('=');
    const key = equals < 0 ? '' : item.slice(0, equals).trim();
    const value = equals < 0 ? '' : item.slice(equals + 1).trim();
    if (!key || !value) {
      throw new RegistryError(
        'BAD_REQUEST',
        'the query string must contain "=" and the key/value cannot be empty',
      );
    }
    conditions.set(key, parseValue(value));
  }
  return conditions;
}

function parseValue(value: string): QueryCondition {
  if (value.startsWith('\\')) return { kind: 'exact', value: value.slice(1) };
  if (value.startsWith('~')) {
    if (value.length < 2)
      throw new RegistryError('BAD_REQUEST', `invalid fuzzy match ${JSON.stringify(value)}`);
    return { kind: 'fuzzy', value: value.slice(1) };
  }
  if (value.startsWith('[') && value.endsWith(']')) {
    const parts = value.slice(1, -1).split('~');
    if (parts.length !== 2 || (!parts[0] && !parts[1])) {
      throw new RegistryError('BAD_REQUEST', `invalid range ${JSON.stringify(value)}`);
    }
    return { kind: 'range', min: parts[0] || undefined, max: parts[1] || undefined };
  }
  if (value.startsWith('{') && value.endsWith('}')) {
    return { kind: 'or', values: value.slice(1, -1).split(' ').filter(Boolean) };
  }
  if (value.startsWith('(') && value.endsWith(')')) {
    return { kind: 'and', values: value.slice(1, -1).split(' ').filter(Boolean) };
  }
  return { kind: 'exact', value };
}

/** Whether a string field satisfies a condition (in-memory filtering of small lists). */
export function matches(condition: QueryCondition, field: string | number | undefined | null): boolean {
  if (field === undefined || field === null) return false;
  const text = String(field);
  switch (condition.kind) {
    case 'exact':
      return text === condition.value;
    case 'fuzzy':
      return text.toLowerCase().includes(condition.value.toLowerCase());
    case 'or':
      return condition.values.includes(text);
    case 'and':
      return condition.values.every((value) => text.includes(value));
    case 'range': {
      const compare = (a: string, b: string) => {
        const na = Number(a);
        const nb = Number(b);
        return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
      };
      return (
        (condition.min === undefined || compare(text, condition.min) >= 0) &&
        (condition.max === undefined || compare(text, condition.max) <= 0)
      );
    }
  }
}
