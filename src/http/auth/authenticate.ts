import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../access/authenticator.ts';
import { anonymous, type Caller } from '../../access/caller.ts';
import type { TokenService, VerifiedToken } from '../../access/token-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import { type SessionAuthServices, sessionCaller } from '../oidc/session-auth.ts';
import { bearerChallenge } from './challenge.ts';

export interface AuthenticationServices {
  authenticator: Authenticator;
  tokens: TokenService;
  audit?: AuditLog;
  /** Counts failed logins per client address; an address over the limit gets 429. */
  failedLogins?: RateLimiter;
  /** Browser sessions (`sid` cookie, after an OIDC login) for the API; unsafe methods need the CSRF header. */
  browserSessions?: SessionAuthServices;
}

const tokenCallers = new WeakMap<VerifiedToken, Caller>();

/** One caller object per verified token, reused while the token is cached. */
function callerOf(verified: VerifiedToken): Caller {
  let caller = tokenCallers.get(verified);
  if (!caller) {
    caller = { kind: 'token', name: verified.subject, access: verified.access };
    tokenCallers.set(verified, caller);
  }
  return caller;
}

function refuse(
  request: FastifyRequest,
  tokens: TokenService,
  message: string,
  error?: 'invalid_token',
): RegistryError {
  const headers: Record<string, string> = request.url.startsWith('/v2')
    ? { 'WWW-Authenticate': bearerChallenge(request, tokens.service, undefined, error) }
    : { 'WWW-Authenticate': 'Basic realm="Berth"' };
  return new RegistryError('UNAUTHORIZED', message, { headers });
}

/**
 * Establishes `request.caller` from the Authorization header: none is anonymous, Basic is a
 * user or robot login, Bearer a registry token. Credentials that do not check out end the
 * request with 401 (never a silent downgrade to anonymous). Without the header, a browser
 * session cookie may name a user for the API.
 */
export function authenticateRequests({
  authenticator,
  tokens,
  audit,
  failedLogins,
  browserSessions,
}: AuthenticationServices) {
  function tooManyFailures(request: FastifyRequest): void {
    const wait = failedLogins?.waiting(request.ip) ?? 0;
    if (wait > 0) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try later', {
        headers: { 'Retry-After': String(wait) },
      });
    }
  }

  return async (request: FastifyRequest, reply: FastifyReply) => {
    request.caller = anonymous;
    const header = request.headers.authorization;
    if (!header) {
      if (browserSessions)
        request.caller = (await sessionCaller(request, reply, browserSessions)) ?? anonymous;
      return;
    }
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw refuse(request, tokens, 'malformed Basic credentials');
      const username = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      // Credentials verified moments ago are no guess: the failure limit applies to the others.
      const known = authenticator.recentlyVerified(username, password);
      if (known) {
        request.caller = known;
        return;
      }
      tooManyFailures(request);
      const result = await authenticator.login(username, password);
      if (!result.ok || !result.cached) {
        audit?.record({
          ...auditOrigin(request, username.slice(0, 255)),
          resourceType: 'login',
          resource: username.slice(0, 255),
          operation: 'login',
          result: result.ok ? 'success' : 'failure',
          detail: result.ok ? undefined : result.reason,
        });
      }
      if (!result.ok) {
        failedLogins?.take(request.ip);
        throw refuse(request, tokens, 'invalid username or password');
      }
      request.caller = result.caller;
      return;
    }
    if (scheme === 'bearer') {
      // The hot path of token-authenticated pulls: a token verified moments ago, whose user is
      // known to be active, costs one keyed hash and two map lookups, nothing asynchronous.
      const recent = tokens.recentlyVerified(value);
      if (recent && authenticator.knownActiveUser(recent.subject) === true) {
        request.caller = callerOf(recent);
        return;
      }
      const verified = await tokens.verify(value);
      if (!verified || !(await authenticator.tokenSubjectActive(verified.subject)))
        throw refuse(request, tokens, 'invalid or expired token', 'invalid_token');
      request.caller = callerOf(verified);
      return;
    }
    throw refuse(
      request,
      tokens,
      `unsupported authorization scheme ${JSON.stringify(header.slice(0, space).slice(0, 20))}`,
    );
  };
}
