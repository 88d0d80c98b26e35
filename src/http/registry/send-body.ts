import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { isDirectBody } from '../../storage/blob-store.ts';

/**
 * Sends a blob body with the status and headers already set on the reply. Bodies that can
 * write themselves (reusing their buffers) do so on the raw response; others are piped.
 */
export async function sendBody(reply: FastifyReply, body: Readable): Promise<unknown> {
  if (!isDirectBody(body)) return reply.send(body);
  reply.hijack();
  const response = reply.raw;
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  try {
    await body.writeTo(response);
    response.end();
  } catch (error) {
    reply.log.info({ reason: (error as Error).message }, 'blob body interrupted');
    response.destroy();
  }
  return reply;
}
