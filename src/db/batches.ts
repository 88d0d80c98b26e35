/**
 * Splits a list into pieces small enough for one statement: SQLite allows 32,766 bound
 * parameters, and a manifest may list tens of thousands of descriptors.
 */
export function inBatches<T>(items: readonly T[], size = 500): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}
