import type { FastifyRequest } from 'fastify';

/** The base URL clients reached this server by (scheme and host of the request). */
export function externalBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * The `WWW-Authenticate` challenge of a /v2 401: where to get a token, for which service, and
 * (when known) the scope the request needs; `error` tells a token holder its token fell short.
 */
export function bearerChallenge(
  request: FastifyRequest,
  service: string,
  scope?: string,
  error?: 'invalid_token' | 'insufficient_scope',
): string {
  let challenge = `Bearer realm="${externalBase(request)}/service/token",service="${service}"`;
  if (scope) challenge += `,scope="${scope}"`;
  if (error) challenge += `,error="${error}"`;
  return challenge;
}
