import { Type } from '@sinclair/typebox';

/** The error envelope every API error uses (Harbor's, and the registry's). */
export const ErrorsSchema = Type.Object({
  errors: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
});

/** The answers of a route that creates something: 201 with a Location, or Harbor's refusals. */
export const CreatedResponses = {
  201: Type.Null(),
  400: ErrorsSchema,
  401: ErrorsSchema,
  403: ErrorsSchema,
  409: ErrorsSchema,
};

/** `q`, `sort`, `page`, `page_size`: the list parameters of every collection. */
export const PageQuery = Type.Object({
  q: Type.Optional(Type.String({ description: 'k=v, k=~fuzzy, k=[min~max], k={a b}, comma-separated' })),
  sort: Type.Optional(Type.String({ description: 'field or -field, comma-separated' })),
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
});

/** Epoch milliseconds as the RFC 3339 times the API speaks. */
export function isoTime(ms: number | bigint): string {
  return new Date(Number(ms)).toISOString();
}
