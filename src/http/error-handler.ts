import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorBody, isRegistryError, RegistryError } from '../oci/errors.ts';
import { closeConnectionAfter } from './close-connection.ts';

/** Errors that mean the client hung up mid-request, judged by where they come from. */
const hangUpCodes = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

function clientWentAway(error: unknown): boolean {
  const failure = error as NodeJS.ErrnoException;
  return hangUpCodes.has(failure.code ?? '') || failure.message === 'aborted';
}

/** Storage that cannot take more: the server's problem, but one the operator must see. */
const storageFullCodes = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Fastify's own 4xx errors (bad headers, unsupported media types) in the registry's vocabulary. */
function fromFastify(error: FastifyError): RegistryError {
  const status = error.statusCode ?? 400;
  const codes: Record<number, ErrorCode> = { 404: 'NOT_FOUND', 405: 'UNSUPPORTED', 413: 'SIZE_INVALID' };
  return new RegistryError(codes[status] ?? 'BAD_REQUEST', error.message, { status });
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
  if (clientWentAway(error)) {
    request.log.info({ reason: (error as Error).message }, 'client closed the connection mid-request');
    closeConnectionAfter(reply);
    return reply
      .code(400)
      .type('application/json')
      .send(errorBody(new RegistryError('BLOB_UPLOAD_INVALID', 'request body was interrupted')));
  }
  if (storageFullCodes.has((error as NodeJS.ErrnoException).code ?? '')) {
    request.log.error({ err: error }, 'storage is full');
    closeConnectionAfter(reply);
    return reply
      .code(507)
      .type('application/json')
      .send(errorBody(new RegistryError('UNAVAILABLE', 'the registry has no space left', { status: 507 })));
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
