import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { anonymous, type Caller } from '../access/caller.ts';
import type { Logger } from '../lib/logger.ts';
import { errorBody, RegistryError } from '../oci/errors.ts';
import { authenticateRequests } from './auth/authenticate.ts';
import { registerTokenRoutes, type TokenRouteServices } from './auth/token-routes.ts';
import { handleError } from './error-handler.ts';
import type { HttpMetrics } from './metrics.ts';
import type { RegistryServices } from './registry/context.ts';
import { dispatchRegistry } from './registry/routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Route label for metrics and logs. */
    routeName: string;
    caller: Caller;
  }
}

export interface ServerOptions {
  registry: RegistryServices;
  auth: TokenRouteServices;
  /** Further route groups (the management API), registered after the registry's. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  log: Logger;
  metrics?: HttpMetrics;
  /** One info line per request. */
  requestLogging: boolean;
  /** Connections silent this long are closed, so a stalled upload cannot hold its lock for ever. */
  idleTimeoutMs: number;
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds the HTTP server: transport only; every decision is made by the services it is given. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    return503OnClosing: true,
    connectionTimeout: options.idleTimeoutMs,
    routerOptions: { maxParamLength: 2048 },
    requestIdHeader: false,
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
  app.addHook('onRequest', async (request, reply) => {
    request.caller = anonymous;
    reply.header('x-request-id', request.id);
  });
  app.addHook('onRequest', authenticateRequests(options.auth));
  app.addHook('onResponse', async (request, reply) => {
    const seconds = reply.elapsedTime / 1000;
    const route = request.routeName || request.routeOptions.url || 'other';
    options.metrics?.observe(request.method, route, reply.statusCode, seconds);
    if (options.requestLogging) {
      request.log.info(
        {
          method: request.method,
          url: request.url,
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
  app.route({ method: [...methods], url: '/v2', handler: registry });
  app.route({ method: [...methods], url: '/v2/*', handler: registry });
  registerTokenRoutes(app, options.auth);
  for (const plugin of options.plugins ?? []) await plugin(app);

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
  return app;
}
