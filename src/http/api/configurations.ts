import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type SettingKey, settingSpecs } from '../../access/settings-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema } from './schemas.ts';

const settingKeys = Object.keys(settingSpecs) as SettingKey[];

function valueSchema(key: SettingKey): TSchema {
  const kind = settingSpecs[key].kind;
  return kind === 'boolean' ? Type.Boolean() : kind === 'integer' ? Type.Integer() : Type.String();
}

/** GET's answer: every setting but the secrets, each as {value, editable}. */
const ConfigurationsResponse = Type.Object(
  Object.fromEntries(
    settingKeys
      .filter((key) => settingSpecs[key].kind !== 'secret')
      .map((key) => [key, Type.Object({ value: valueSchema(key), editable: Type.Boolean() })]),
  ),
);

/** PUT's body: any subset of the settings, secrets included (write-only). */
const Configurations = Type.Object(
  Object.fromEntries(settingKeys.map((key) => [key, Type.Optional(valueSchema(key))])),
  { description: 'a subset of the settings to change; unknown keys and wrong types are refused' },
);

/** Harbor's /configurations: the run-time settings, system administrators only. */
export async function configurationRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/configurations',
    {
      schema: {
        tags: ['configure'],
        summary: 'The system settings (secrets are never shown)',
        response: { 200: ConfigurationsResponse, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'configuration', 'read');
      return services.configurations.describe();
    },
  );

  api.put(
    '/configurations',
    {
      schema: {
        tags: ['configure'],
        summary: 'Change some settings',
        body: Configurations,
        response: { 200: Type.Null(), 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema },
      },
      // The settings check every key and type themselves: the schema above documents the body,
      // and must not coerce a wrong type ("5" to 5) or drop an unknown key before they look.
      validatorCompiler: () => (body: unknown) =>
        typeof body === 'object' && body !== null && !Array.isArray(body)
          ? { value: body }
          : { error: new RegistryError('BAD_REQUEST', 'the body must be a JSON object of settings') },
    },
    async (request, reply) => {
      const entries = request.body as Record<string, unknown>;
      await audited(
        services,
        request,
        { resourceType: 'configuration', resource: 'configurations', operation: 'update' },
        async () => {
          requireSystem(services, request, 'configuration', 'update');
          const keys = await services.configurations.update(entries);
          // Key names only: the values of secret keys never reach the audit log.
          return { result: keys, facts: { detail: `changed: ${keys.join(', ')}`.slice(0, 2048) } };
        },
      );
      return reply.code(200).send();
    },
  );
}
