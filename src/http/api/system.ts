import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiServices } from './context.ts';

/** Liveness and facts about this installation: /ping, /health, /systeminfo. */
export async function systemRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/ping',
    { schema: { tags: ['system'], summary: 'Answers Pong', response: { 200: Type.String() } } },
    async (_request, reply) => reply.type('text/plain').send('Pong'),
  );

  api.get(
    '/health',
    {
      schema: {
        tags: ['system'],
        summary: 'Health of each component',
        response: {
          200: Type.Object({
            status: Type.String(),
            components: Type.Array(
              Type.Object({
                name: Type.String(),
                status: Type.String(),
                error: Type.Optional(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const components = [{ name: 'core', status: 'healthy' }];
      let database: { name: string; status: string; error?: string } = {
        name: 'database',
        status: 'healthy',
      };
      try {
        await services.db.settings.all();
      } catch (error) {
        database = { name: 'database', status: 'unhealthy', error: (error as Error).message };
      }
      components.push(database);
      return {
        status: components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy',
        components,
      };
    },
  );

  api.get(
    '/systeminfo',
    {
      schema: {
        tags: ['system'],
        summary: 'General settings clients need (auth mode, version)',
        response: {
          200: Type.Object({
            auth_mode: Type.String(),
            harbor_version: Type.String(),
            registry_url: Type.String(),
            project_creation_restriction: Type.String(),
            self_registration: Type.Boolean(),
            has_ca_root: Type.Boolean(),
            read_only: Type.Boolean(),
            primary_auth_mode: Type.Boolean(),
            oidc_provider_name: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const info: Record<string, unknown> = {
        auth_mode: await services.settings.authMode(),
        harbor_version: `berth-${services.version}`,
        registry_url: request.host,
        project_creation_restriction: await services.settings.projectCreationRestriction(),
        self_registration: await services.settings.get('self_registration'),
        has_ca_root: false,
        read_only: await services.settings.get('read_only'),
        primary_auth_mode: false,
      };
      if (info.auth_mode === 'oidc_auth') info.oidc_provider_name = await services.settings.get('oidc_name');
      return info;
    },
  );
}
