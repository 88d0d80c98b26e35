import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Schema } from './schema.ts';

/**
 * A query built and compiled on first use, then run with new parameters each time: the
 * registry's hottest lookups skip Kysely's builder and compiler. `build` receives placeholder
 * values and must use each exactly where the real one goes.
 */
export function preparedQuery<Row, Params extends string[]>(
  db: Kysely<Schema>,
  arity: Params['length'],
  build: (...placeholders: string[]) => Compilable<Row>,
): (...params: Params) => Promise<Row[]> {
  let compiled: CompiledQuery<Row> | undefined;
  let positions: number[] = [];
  return async (...params: Params) => {
    if (!compiled) {
      const placeholders = Array.from({ length: arity }, (_, index) => `\u0000placeholder-${index}\u0000`);
      compiled = build(...placeholders).compile();
      positions = compiled.parameters.map((value) => {
        const position = placeholders.indexOf(value as string);
        if (position === -1)
          throw new Error(`prepared query has a parameter that is not a placeholder: ${String(value)}`);
        return position;
      });
    }
    const query: CompiledQuery<Row> = {
      ...compiled,
      parameters: positions.map((position) => params[position]),
    };
    return (await db.executeQuery(query)).rows;
  };
}
