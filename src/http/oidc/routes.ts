import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OidcClient, OidcIdentity, OidcLoginAttempt } from '../../access/oidc-client.ts';
import type { OidcPending } from '../../access/oidc-pending.ts';
import { readOidcSettings } from '../../access/oidc-settings.ts';
import type { OidcUsers } from '../../access/oidc-users.ts';
import type { SessionStore } from '../../access/session-store.ts';
import type { SettingsService } from '../../access/settings-service.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { UserRow } from '../../db/users.ts';
import { BodyTooLargeError, readAll } from '../../lib/streams.ts';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import { externalBase } from '../auth/challenge.ts';
import { clearCookie, readCookie, sessionCookie, setCookie } from './cookies.ts';

/** An identity the provider vouched for, waiting for the user to choose a username. */
export interface PendingOnboarding {
  identity: OidcIdentity;
}

export interface OidcRouteServices {
  settings: SettingsService;
  client: OidcClient;
  users: OidcUsers;
  sessions: SessionStore;
  audit: AuditLog;
  logins: OidcPending<OidcLoginAttempt>;
  onboardings: OidcPending<PendingOnboarding>;
}

const loginCookie = 'berth_oidc_login';
const onboardCookie = 'berth_oidc_onboard';
const oidcPath = '/c/oidc';

/** Stands in for Berth's own origin: only where a path leads matters, not the host. */
const ownOrigin = 'https://berth.invalid';

/**
 * A local path to return to after login; anything else becomes `/`. Browsers drop tabs and
 * newlines and read `\\` as `/` in a URL, so `/\t/evil.example` would leave the site: any
 * whitespace, control character or backslash is refused before the same-origin check.
 */
function localPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s\p{Cc}\\]/u.test(value)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(value, ownOrigin);
  } catch {
    return '/';
  }
  if (resolved.origin !== ownOrigin) return '/';
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

function queryOf(request: FastifyRequest): string {
  const question = request.url.indexOf('?');
  return question < 0 ? '' : request.url.slice(question);
}

/**
 * Harbor's browser login through the OpenID Provider: `/c/oidc/login` sends the browser there
 * (state, nonce, PKCE S256), `/c/oidc/callback` takes the code back, onboards or finds the
 * user and starts a session (`sid` cookie); `/c/oidc/onboard` lets a new user pick a username
 * when `oidc_auto_onboard` is off; `/c/log_out` ends the session.
 */
export function registerOidcRoutes(app: FastifyInstance, services: OidcRouteServices): void {
  const { sessions, audit } = services;

  function startSession(request: FastifyRequest, reply: FastifyReply, user: UserRow): void {
    const { id } = sessions.create(Number(user.id));
    setCookie(request, reply, sessionCookie, id, { maxAge: sessions.cookieMaxAgeSeconds });
    audit.record({
      ...auditOrigin(request, user.username),
      resourceType: 'login',
      resource: user.username,
      operation: 'login',
      result: 'success',
      detail: 'oidc',
    });
  }

  function refuseLogin(request: FastifyRequest, error: RegistryError, username = 'anonymous'): RegistryError {
    audit.record({
      ...auditOrigin(request, username),
      resourceType: 'login',
      resource: username,
      operation: 'login',
      result: 'failure',
      detail: `oidc: ${error.message}`.slice(0, 200),
    });
    return error;
  }

  app.get(`${oidcPath}/login`, async (request, reply) => {
    request.routeName = 'oidc login';
    const settings = await readOidcSettings(services.settings);
    const returnTo = localPath((request.query as Record<string, unknown>).redirect_url);
    const { url, attempt } = await services.client.beginLogin(
      settings,
      `${externalBase(request)}${oidcPath}/callback`,
      returnTo,
    );
    setCookie(request, reply, loginCookie, services.logins.put(attempt), {
      path: oidcPath,
      maxAge: services.logins.ttlSeconds,
    });
    return reply.header('cache-control', 'no-store').redirect(url.href, 302);
  });

  app.get(`${oidcPath}/callback`, async (request, reply) => {
    request.routeName = 'oidc callback';
    const settings = await readOidcSettings(services.settings);
    const cookie = readCookie(request, loginCookie);
    // One try per login: whatever happens next, this attempt is spent.
    const attempt = cookie ? services.logins.take(cookie) : undefined;
    clearCookie(request, reply, loginCookie, oidcPath);
    const query = request.query as Record<string, unknown>;
    if (!attempt || query.state !== attempt.state)
      throw refuseLogin(request, new RegistryError('BAD_REQUEST', 'State mismatch'));
    if (typeof query.error === 'string') {
      const description = typeof query.error_description === 'string' ? ` - ${query.error_description}` : '';
      throw refuseLogin(
        request,
        new RegistryError(
          'BAD_REQUEST',
          `OIDC callback returned error: ${query.error}${description}`.slice(0, 500),
        ),
      );
    }
    let identity: OidcIdentity;
    try {
      identity = await services.client.completeLogin(settings, attempt, queryOf(request));
    } catch (error) {
      throw error instanceof RegistryError ? refuseLogin(request, error) : error;
    }
    let user = await services.users.find(identity);
    if (!user) {
      if (!settings.autoOnboard) {
        const id = services.onboardings.put({ identity });
        setCookie(request, reply, onboardCookie, id, {
          path: oidcPath,
          maxAge: services.onboardings.ttlSeconds,
        });
        return reply.redirect(`/oidc-onboard?username=${encodeURIComponent(identity.username)}`, 302);
      }
      user = await onboard(request, identity, identity.username);
    }
    if (user.disabled === 1)
      throw refuseLogin(request, new RegistryError('FORBIDDEN', 'the user is disabled'), user.username);
    user = await services.users.applyMembership(user, identity, settings.adminGroup);
    startSession(request, reply, user);
    return reply.header('cache-control', 'no-store').redirect(attempt.returnTo, 302);
  });

  async function onboard(
    request: FastifyRequest,
    identity: OidcIdentity,
    username: string,
  ): Promise<UserRow> {
    try {
      const user = await services.users.onboard(identity, username);
      audit.record({
        ...auditOrigin(request, username),
        resourceType: 'user',
        resource: username,
        operation: 'create',
        result: 'success',
        detail: 'onboarded via OIDC',
      });
      return user;
    } catch (error) {
      throw error instanceof RegistryError ? refuseLogin(request, error, username.slice(0, 255)) : error;
    }
  }

  app.post(`${oidcPath}/onboard`, async (request, reply) => {
    request.routeName = 'oidc onboard';
    const settings = await readOidcSettings(services.settings);
    // JSON only: a cross-site form cannot send it without the browser asking first (CORS).
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json'))
      throw new RegistryError('BAD_REQUEST', 'the body must be JSON: {"username": "..."}');
    let username: unknown;
    try {
      username = (
        JSON.parse((await readAll(request.raw, 64 * 1024)).toString('utf8')) as { username?: unknown }
      )?.username;
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new RegistryError('BAD_REQUEST', 'the body is too large');
      throw new RegistryError('BAD_REQUEST', 'the body is not valid JSON');
    }
    if (typeof username !== 'string') throw new RegistryError('BAD_REQUEST', 'username is required');
    const cookie = readCookie(request, onboardCookie);
    const pending = cookie ? services.onboardings.peek(cookie) : undefined;
    if (!cookie || !pending)
      throw new RegistryError('BAD_REQUEST', 'Failed to get OIDC user info from session');
    let user =
      (await services.users.find(pending.identity)) ?? (await onboard(request, pending.identity, username));
    services.onboardings.delete(cookie);
    clearCookie(request, reply, onboardCookie, oidcPath);
    user = await services.users.applyMembership(user, pending.identity, settings.adminGroup);
    startSession(request, reply, user);
    return reply.code(200).send();
  });

  app.get('/c/log_out', async (request, reply) => {
    request.routeName = 'log out';
    const id = readCookie(request, sessionCookie);
    if (id) sessions.delete(id);
    clearCookie(request, reply, sessionCookie);
    return reply.code(200).send();
  });
}
