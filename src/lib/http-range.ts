import type { ByteRange } from './byte-range.ts';

export type RangeRequest =
  | { kind: 'none' }
  | { kind: 'satisfiable'; range: ByteRange }
  | { kind: 'unsatisfiable' };

/**
 * Interprets a `Range` header against a resource of `size` bytes (RFC 9110 §14): one
 * `bytes=` range, open-ended or suffix. Multiple ranges and unknown units are ignored, which the
 * RFC allows (the whole resource is sent).
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'satisfiable', range: { start: Math.max(size - suffix, 0), end: size - 1 } };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'satisfiable', range: { start, end } };
}

/**
 * A blob upload's `Content-Range` (`<start>-<end>`, inclusive, as the distribution spec writes
 * it; `bytes <start>-<end>/<total>` is accepted too). Undefined when absent; null when malformed.
 */
export function parseContentRange(header: string | undefined): ByteRange | undefined | null {
  if (header === undefined) return undefined;
  const match = /^\s*(?:bytes[ =])?\s*(\d+)\s*-\s*(\d+)\s*(?:\/\s*(?:\d+|\*))?\s*$/i.exec(header);
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}
