import type { FastifyRequest } from 'fastify';
import type { AuditEvent } from '../audit/audit-log.ts';

/** The who and from-where of an audit event, taken from the request. */
export function auditOrigin(
  request: FastifyRequest,
  username?: string,
): Pick<AuditEvent, 'username' | 'clientIp' | 'userAgent'> {
  return {
    username: username ?? request.caller?.name ?? 'anonymous',
    clientIp: request.ip,
    userAgent: request.headers['user-agent'] ?? '',
  };
}
