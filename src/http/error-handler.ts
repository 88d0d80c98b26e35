import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, isRegistryError, RegistryError } from '../oci/errors.ts';

function clientWentAway(request: FastifyRequest, error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (request.raw.destroyed && !request.raw.complete) ||
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (error as Error).message === 'aborted'
  );
}

/** Fastify's own 4xx errors (bad headers, unsupported media types) in the registry's vocabulary. */
function fromFastify(error: FastifyError): RegistryError {
  const status = error.statusCode ?? 400;
  const code =
    status === 404
      ? 'NAME_UNKNOWN'
      : status === 405
        ? 'UNSUPPORTED'
        : status === 413
          ? 'SIZE_INVALID'
          : 'UNSUPPORTED';
  return new RegistryError(code, error.message, { status });
}

/**
 * The one place errors become responses. Registry errors carry their status and code; client
 * mistakes Fastify caught keep their 4xx; anything else is logged with its cause and answered
 * `UNKNOWN`, nothing more. A client that hung up gets no answer, and nothing is logged as an error.
 */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (isRegistryError(error)) {
    if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(error.status).headers(error.headers).type('application/json').send(errorBody(error));
  }
  if (clientWentAway(request, error)) {
    request.log.info({ reason: (error as Error).message }, 'client closed the connection mid-request');
    reply.header('connection', 'close');
    return reply
      .code(400)
      .type('application/json')
      .send(errorBody(new RegistryError('BLOB_UPLOAD_INVALID', 'request body was interrupted')));
  }
  const statusCode = (error as FastifyError).statusCode;
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return reply
      .code(statusCode)
      .type('application/json')
      .send(errorBody(fromFastify(error as FastifyError)));
  }
  request.log.error({ err: error }, 'unexpected error');
  return reply
    .code(500)
    .type('application/json')
    .send(errorBody(new RegistryError('UNKNOWN')));
}
