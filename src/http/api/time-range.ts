import { RegistryError } from '../../oci/errors.ts';
import type { QueryCondition } from './query.ts';

/** A time range in Harbor's words (`[2024-01-01 00:00:00~2024-02-01 00:00:00]`, UTC) as epoch ms. */
export function timeCondition(condition: QueryCondition): QueryCondition {
  if (condition.kind !== 'range')
    throw new RegistryError('BAD_REQUEST', 'a time must be given as a range [from~to]');
  const toMs = (value: string | undefined) => {
    if (value === undefined) return undefined;
    const text = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value)
      ? `${value.replace(' ', 'T')}Z`
      : value;
    const ms = Date.parse(text);
    if (Number.isNaN(ms))
      throw new RegistryError('BAD_REQUEST', `invalid time ${JSON.stringify(value.slice(0, 100))}`);
    return String(ms);
  };
  return { kind: 'range', min: toMs(condition.min), max: toMs(condition.max) };
}
