import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';
import { artifactRoutes } from './artifacts.ts';
import { auditLogRoutes } from './audit-logs.ts';
import { cliSecretRoutes } from './cli-secret.ts';
import { configurationRoutes } from './configurations.ts';
import type { ApiServices } from './context.ts';
import { cveAllowlistRoutes } from './cve-allowlists.ts';
import { immutableRuleRoutes } from './immutable-rules.ts';
import { jobServiceRoutes } from './jobservice.ts';
import { ldapRoutes } from './ldap.ts';
import { memberRoutes } from './members.ts';
import { projectRoutes } from './projects.ts';
import { quotaRoutes } from './quotas.ts';
import { repositoryRoutes } from './repositories.ts';
import { robotRoutes } from './robots.ts';
import { sbomRoutes } from './sboms.ts';
import { scanAllRoutes } from './scan-all.ts';
import { scannerRoutes } from './scanners.ts';
import { scanRoutes } from './scans.ts';
import { systemRoutes } from './system.ts';
import { trustRoutes } from './trust.ts';
import { userGroupRoutes } from './usergroups.ts';
import { userRoutes } from './users.ts';
import { vulndbRoutes } from './vulndb.ts';

/** Every resource of the management API, each in a file of its own. */
const resources: ((api: FastifyInstance, services: ApiServices) => Promise<void>)[] = [
  systemRoutes,
  projectRoutes,
  quotaRoutes,
  robotRoutes,
  ldapRoutes,
  cliSecretRoutes,
  userRoutes,
  userGroupRoutes,
  memberRoutes,
  immutableRuleRoutes,
  configurationRoutes,
  cveAllowlistRoutes,
  repositoryRoutes,
  artifactRoutes,
  trustRoutes,
  scanRoutes,
  sbomRoutes,
  scannerRoutes,
  scanAllRoutes,
  vulndbRoutes,
  auditLogRoutes,
  jobServiceRoutes,
];

/**
 * The Harbor-compatible management API under /api/v2.0: JSON bodies validated against each
 * route's TypeBox schema, and the OpenAPI document generated from those schemas at
 * /api/v2.0/openapi.json.
 */
export async function registerApi(app: FastifyInstance, services: ApiServices): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Berth management API',
        description: "Harbor's v2.0 API, as far as Berth implements it",
        version: services.version,
      },
      servers: [{ url: '/api/v2.0' }],
      components: { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } },
      security: [{ basic: [] }],
    },
    transform: ({ schema, url }) => ({
      schema: url.startsWith('/api/v2.0/') ? schema : { ...schema, hide: true },
      url: url.replace(/^\/api\/v2\.0/, ''),
    }),
  });

  await app.register(
    async (api) => {
      api.addContentTypeParser(
        'application/json',
        { parseAs: 'string', bodyLimit: 1024 * 1024 },
        (_request, body, done) => {
          if (body === '') return done(null, undefined);
          try {
            done(null, JSON.parse(body as string));
          } catch {
            done(new RegistryError('BAD_REQUEST', 'the body is not valid JSON'), undefined);
          }
        },
      );
      for (const register of resources) await register(api, services);
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v2.0' },
  );
}
