import { randomUUID } from 'node:crypto';
import type { Http2Session } from 'node:http2';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { anonymous, type Caller } from '../access/caller.ts';
import type { Logger } from '../lib/logger.ts';
import { errorBody, RegistryError } from '../oci/errors.ts';
import { type AuthenticationServices, authenticateRequests } from './auth/authenticate.ts';
import { registerTokenRoutes, type TokenRouteServices } from './auth/token-routes.ts';
import { handleError } from './error-handler.ts';
import type { HttpMetrics } from './metrics.ts';
import { loggableUrl } from './oidc/loggable-url.ts';
import { type ReadinessCheck, readinessRoute } from './readiness.ts';
import type { RegistryServices } from './registry/context.ts';
import { dispatchRegistry } from './registry/routes.ts';
import { modernCiphers } from './tls/tls-settings.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Route label for metrics and logs. */
    routeName: string;
    caller: Caller;
  }
}

export interface ServerOptions {
  registry: RegistryServices;
  auth: TokenRouteServices & AuthenticationServices;
  /** Further route groups (the management API), registered after the registry's. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  log: Logger;
  metrics?: HttpMetrics;
  /** One info line per request. */
  requestLogging: boolean;
  /** Connections silent this long are closed, so a stalled upload cannot hold its lock for ever. */
  idleTimeoutMs: number;
  /** Proxies (addresses, CIDRs) whose X-Forwarded-* headers are believed; none by default. */
  trustProxy?: readonly string[];
  /** URL prefixes (`/api/v1/`) whose routes authenticate callers themselves. */
  selfAuthenticatedPrefixes?: readonly string[];
  /** Serve HTTPS (HTTP/2, and HTTP/1.1 for clients that do not offer h2) instead of plain HTTP. */
  tls?: ServerTls;
  /** Backs `GET /readyz`. */
  readiness: ReadinessCheck;
  /** A worker node: only /healthz, /readyz and /metrics, no registry, token or API routes. */
  healthOnly?: boolean;
}

export interface ServerTls {
  key: Buffer;
  cert: Buffer;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Strict-Transport-Security max-age; 0 sends none. */
  hstsSeconds: number;
}

/**
 * Fastify's options for HTTPS with HTTP/2. Typed as a plain object so the app keeps the HTTP/1
 * types the routes are written against: node's HTTP/2 compatibility API gives them requests
 * and responses of the same shape.
 */
function secureTransport(tls: ServerTls, idleTimeoutMs: number): object {
  return {
    http2: true,
    http2SessionTimeout: idleTimeoutMs,
    https: {
      allowHTTP1: true,
      key: tls.key,
      cert: tls.cert,
      minVersion: tls.minVersion,
      ciphers: modernCiphers,
      honorCipherOrder: true,
    },
  };
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * HTTP/2 sessions stay open between requests and Node 20's server.close() waits for them, so
 * on shutdown each is told to finish (GOAWAY): streams under way complete, no new ones start.
 */
function closeSessionsOnClose(app: FastifyInstance): void {
  const sessions = new Set<Http2Session>();
  app.server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  app.addHook('preClose', async () => {
    for (const session of sessions) session.close();
  });
}

/** Builds the HTTP server: transport only; every decision is made by the services it is given. */
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox";

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: true,
    connectionTimeout: options.idleTimeoutMs,
    ...(options.trustProxy?.length ? { trustProxy: [...options.trustProxy] } : {}),
    routerOptions: { maxParamLength: 2048 },
    requestIdHeader: false,
    ...(options.tls ? secureTransport(options.tls, options.idleTimeoutMs) : {}),
    // Requests the router cannot even parse (bad percent-encoding) get the registry's error shape too.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode ?? 400;
      const body = JSON.stringify(errorBody(new RegistryError('BAD_REQUEST', error.message, { status })));
      (reply as FastifyReply).code(status).type('application/json').send(body);
    },
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
  });

  // Bodies stay raw streams: blobs are piped to storage as they arrive, manifests are read
  // with a size limit by their handler.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.decorateRequest('routeName', '');
  app.decorateRequest('caller', null as never);
  if (options.tls) closeSessionsOnClose(app);
  const hsts = options.tls?.hstsSeconds ? `max-age=${options.tls.hstsSeconds}` : undefined;
  app.addHook('onRequest', async (request, reply) => {
    request.caller = anonymous;
    reply.header('x-request-id', request.id);
    // Stored content (SBOMs, manifests, blobs) is served with the type it was pushed with:
    // browsers must not guess a type, and API answers must never run as a page of this origin.
    reply.header('x-content-type-options', 'nosniff');
    if (request.url.startsWith('/api/')) reply.header('content-security-policy', apiContentSecurityPolicy);
    if (hsts) reply.header('strict-transport-security', hsts);
  });
  const authenticate = authenticateRequests(options.auth);
  const ownAuth = options.selfAuthenticatedPrefixes ?? [];
  app.addHook('onRequest', async (request, reply) => {
    // Routes that check a credential of their own (the scanner-adapter API) are left to it.
    if (ownAuth.some((prefix) => request.url.startsWith(prefix))) return;
    return authenticate(request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    const seconds = reply.elapsedTime / 1000;
    const route = request.routeName || request.routeOptions.url || 'other';
    options.metrics?.observe(request.method, route, reply.statusCode, seconds);
    if (options.requestLogging) {
      request.log.info(
        {
          method: request.method,
          url: loggableUrl(request.url),
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      );
    }
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    request.routeName = 'unknown';
    const path = request.url.split('?')[0];
    return reply
      .code(404)
      .type('application/json')
      .send(errorBody(new RegistryError('NOT_FOUND', `no route ${request.method} ${path}`)));
  });

  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  const registry = (
    request: Parameters<typeof dispatchRegistry>[1],
    reply: Parameters<typeof dispatchRegistry>[2],
  ) => dispatchRegistry(options.registry, request, reply);
  if (!options.healthOnly) {
    app.route({ method: [...methods], url: '/v2', handler: registry });
    app.route({ method: [...methods], url: '/v2/*', handler: registry });
    registerTokenRoutes(app, options.auth);
    for (const plugin of options.plugins ?? []) await plugin(app);
  }

  if (options.metrics) {
    const metricsRegistry = options.metrics.registry;
    app.get('/metrics', async (request, reply) => {
      request.routeName = 'metrics';
      return reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
    });
  }
  app.get('/healthz', async (request, reply) => {
    request.routeName = 'health';
    return reply.type('application/json').send('{"status":"ok"}');
  });
  readinessRoute(app, options.readiness);
  return app;
}
