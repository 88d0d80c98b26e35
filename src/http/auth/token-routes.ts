import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../access/authenticator.ts';
import type { Caller } from '../../access/caller.ts';
import { credentialStamp } from '../../access/credential-stamp.ts';
import type { RegistryAccess } from '../../access/registry-access.ts';
import type { TokenService } from '../../access/token-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../db/database.ts';
import type { RateLimiter } from '../../lib/rate-limiter.ts';
import { readAll } from '../../lib/streams.ts';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';

export interface TokenRouteServices {
  authenticator: Authenticator;
  tokens: TokenService;
  access: RegistryAccess;
  db: Database;
  audit?: AuditLog;
  /** Failed logins per client address (shared with Basic authentication). */
  failedLogins?: RateLimiter;
  /** Per client address; refused requests get 429 with Retry-After. */
  tokenLimiter?: RateLimiter;
}

function invalid(message: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', message, {
    headers: { 'WWW-Authenticate': 'Basic realm="Berth"' },
  });
}

/** Scopes from repeated `scope` parameters, each of which may hold several, space-separated. */
function scopesOf(values: string | string[] | null | undefined): string[] {
  const list = values === undefined || values === null ? [] : Array.isArray(values) ? values : [values];
  return list.flatMap((value) => value.split(' ')).filter(Boolean);
}

/**
 * The token endpoint, `/service/token`: Docker's GET flow (Basic credentials, `service` and
 * `scope` in the query: docker, skopeo, podman) and the OAuth2 form POST with
 * `grant_type=password|refresh_token` (containerd). Also the JWKS of the signing keys.
 */
export function registerTokenRoutes(app: FastifyInstance, services: TokenRouteServices): void {
  const { tokens } = services;

  function limit(request: FastifyRequest): void {
    const wait = services.tokenLimiter?.take(request.ip) ?? 0;
    if (wait > 0) {
      throw new RegistryError('TOOMANYREQUESTS', 'too many token requests; slow down', {
        headers: { 'Retry-After': String(wait) },
      });
    }
  }

  function refuseLogin(request: FastifyRequest, username: string, reason: string): RegistryError {
    services.audit?.record({
      ...auditOrigin(request, username.slice(0, 255)),
      resourceType: 'token',
      resource: tokens.service,
      operation: 'grant',
      result: 'failure',
      detail: reason,
    });
    // One answer for every refusal (wrong password, locked, disabled, unknown): the reason is
    // for the audit log only, so the answer does not tell which accounts exist.
    services.failedLogins?.take(request.ip);
    return invalid('invalid username or password');
  }

  async function respond(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    scopes: string[],
    refresh: boolean,
  ) {
    const access = await services.access.grant(caller, scopes);
    services.audit?.record({
      ...auditOrigin(request, caller.name),
      resourceType: 'token',
      resource: tokens.service,
      operation: 'grant',
      result: 'success',
      detail: JSON.stringify({
        requested: scopes.slice(0, 20),
        granted: access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).slice(0, 20),
      }),
    });
    const issued = await tokens.issue(caller.name ?? '', access);
    const body: Record<string, unknown> = {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
    };
    if (scopes.length > 0) body.scope = scopes.join(' ');
    if (refresh && caller.kind === 'user') {
      const user = await services.db.users.findById(caller.id);
      if (user) body.refresh_token = await tokens.issueRefresh(caller.name, credentialStamp(user));
    }
    return reply.code(200).header('cache-control', 'no-store').type('application/json').send(body);
  }

  function checkService(service: string | undefined): void {
    if (service !== undefined && service !== tokens.service) {
      throw new RegistryError(
        'BAD_REQUEST',
        `unknown service ${JSON.stringify(service.slice(0, 100))}; this is ${tokens.service}`,
      );
    }
  }

  app.get('/service/token', async (request: FastifyRequest, reply) => {
    request.routeName = 'token';
    limit(request);
    const query = request.query as Record<string, string | string[] | undefined>;
    checkService(typeof query.service === 'string' ? query.service : undefined);
    const caller = request.caller;
    if (caller.kind === 'token') throw invalid('a token cannot be exchanged for a token; send credentials');
    const scopes = scopesOf(query.scope);
    // `docker login` asks with credentials and no scope: anonymous callers have nothing to log in to.
    if (caller.kind === 'anonymous' && scopes.length === 0) throw invalid('authentication required');
    return respond(
      request,
      reply,
      caller,
      scopes,
      query.offline_token === 'true' || query.offline_token === '1',
    );
  });

  app.post('/service/token', async (request: FastifyRequest, reply) => {
    request.routeName = 'token';
    limit(request);
    const form = new URLSearchParams((await readAll(request.raw, 64 * 1024)).toString('utf8'));
    checkService(form.get('service') ?? undefined);
    const scopes = scopesOf(form.getAll('scope'));
    const grant = form.get('grant_type');
    if (grant === 'password') {
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const known = services.authenticator.recentlyVerified(username, password);
      if (known) return respond(request, reply, known, scopes, form.get('access_type') === 'offline');
      const wait = services.failedLogins?.waiting(request.ip) ?? 0;
      if (wait > 0) {
        throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try later', {
          headers: { 'Retry-After': String(wait) },
        });
      }
      const result = await services.authenticator.login(username, password);
      if (!result.ok) throw refuseLogin(request, username, result.reason);
      return respond(request, reply, result.caller, scopes, form.get('access_type') === 'offline');
    }
    if (grant === 'refresh_token') {
      const refresh = await tokens.verifyRefresh(form.get('refresh_token') ?? '');
      const user =
        refresh === undefined ? undefined : await services.db.users.findByUsername(refresh.subject);
      if (!user || user.disabled === 1 || credentialStamp(user) !== refresh?.stamp)
        throw refuseLogin(request, refresh?.subject ?? '', 'invalid refresh token');
      return respond(request, reply, await services.authenticator.callerFor(user), scopes, false);
    }
    throw new RegistryError('BAD_REQUEST', 'grant_type must be password or refresh_token');
  });

  app.get('/.well-known/jwks.json', async (request, reply) => {
    request.routeName = 'jwks';
    return reply.type('application/json').send(await tokens.jwks());
  });
}
