import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import { requireAuthenticated } from './authz.ts';
import type { ApiServices } from './context.ts';

const UserId = Type.Object({ user_id: Type.Integer({ minimum: 1 }) });
const OIDCCliSecretReq = Type.Object({
  secret: Type.String({ description: 'The new secret' }),
});

/**
 * PUT /users/{user_id}/cli_secret: an OIDC user sets the secret registry clients log in with
 * (their own; a system administrator may set anyone's). Only under `oidc_auth` (412 otherwise).
 * The old secret stops working at once.
 */
export async function cliSecretRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.put(
    '/users/:user_id/cli_secret',
    {
      schema: {
        tags: ['user'],
        summary: 'Set the CLI secret of an OIDC user',
        params: UserId,
        body: OIDCCliSecretReq,
      },
    },
    async (request, reply) => {
      const { user_id } = request.params as Static<typeof UserId>;
      const { secret } = request.body as Static<typeof OIDCCliSecretReq>;
      const mode = await services.settings.authMode();
      if (mode !== 'oidc_auth')
        throw new RegistryError('PRECONDITION', `unable to update CLI secret under authmode: ${mode}`);
      requireAuthenticated(request);
      const caller = request.caller;
      const self = caller.kind === 'user' && caller.id === user_id;
      if (!self && !services.evaluator.canInSystem(caller, 'user', 'update'))
        throw new RegistryError('FORBIDDEN', `Not authorized to update the CLI secret for user: ${user_id}`);
      const user = await services.db.users.findById(user_id);
      if (!user) throw new RegistryError('NOT_FOUND', `user ${user_id} not found`);
      if (user.source !== 'oidc')
        throw new RegistryError('BAD_REQUEST', `user ${user_id} does not log in through OIDC`);
      await services.cliSecrets.set(user_id, secret);
      services.authenticator.forgetLogins();
      services.audit.record({
        ...auditOrigin(request),
        resourceType: 'user',
        resource: user.username,
        operation: 'update',
        result: 'success',
        detail: 'cli_secret',
      });
      return reply.code(200).send();
    },
  );
}
