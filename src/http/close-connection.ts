import type { FastifyReply } from 'fastify';

/**
 * Asks for the connection to close after this response, so a client still sending a body it
 * should not (too large, interrupted) stops. HTTP/1.x only: HTTP/2 forbids the Connection
 * header, and ending the response there ends just this request's stream, not its session.
 */
export function closeConnectionAfter(reply: FastifyReply): FastifyReply {
  return reply.request.raw.httpVersionMajor === 2 ? reply : reply.header('connection', 'close');
}
