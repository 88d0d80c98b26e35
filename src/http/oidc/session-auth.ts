import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../access/authenticator.ts';
import type { Caller } from '../../access/caller.ts';
import type { SessionStore } from '../../access/session-store.ts';
import type { Database } from '../../db/database.ts';
import { RegistryError } from '../../oci/errors.ts';
import { readCookie, sessionCookie } from './cookies.ts';

export interface SessionAuthServices {
  sessions: SessionStore;
  db: Database;
  authenticator: Authenticator;
}

/** Harbor's header: the UI echoes the token it was given on every state-changing request. */
export const csrfHeader = 'x-harbor-csrf-token';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(expected: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Browser sessions count for the management API only: never for /v2 or the token service. */
function acceptsSessions(url: string): boolean {
  return url.startsWith('/api/');
}

/**
 * The user of the browser session named by the `sid` cookie, or undefined (no cookie, an
 * expired session, a disabled or deleted user: the request goes on as anonymous). A cookie is
 * sent by the browser whoever made the page, so a state-changing request must also carry the
 * session's CSRF token in `X-Harbor-CSRF-Token`; each response hands the token out.
 */
export async function sessionCaller(
  request: FastifyRequest,
  reply: FastifyReply,
  services: SessionAuthServices,
): Promise<Caller | undefined> {
  if (!acceptsSessions(request.url)) return undefined;
  const id = readCookie(request, sessionCookie);
  if (!id) return undefined;
  const session = services.sessions.find(id);
  if (!session) return undefined;
  const user = await services.db.users.findById(session.userId);
  if (!user || user.disabled === 1) {
    services.sessions.delete(id);
    return undefined;
  }
  if (!safeMethods.has(request.method) && !sameToken(session.csrfToken, request.headers[csrfHeader])) {
    throw new RegistryError('FORBIDDEN', 'CSRF token invalid');
  }
  reply.header('X-Harbor-CSRF-Token', session.csrfToken);
  return services.authenticator.callerFor(user);
}
