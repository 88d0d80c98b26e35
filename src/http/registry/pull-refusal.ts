import type { FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import type { RegistryServices } from './context.ts';

/**
 * Ends a manifest GET that a pull-time policy refuses: audited as a denied pull, answered with
 * OCI `DENIED` and the policy's reason. Returns (the pull goes on) when there is no reason.
 */
export function refusePull(
  services: RegistryServices,
  request: FastifyRequest,
  repository: string,
  digest: string,
  reason: string | undefined,
): void {
  if (reason === undefined) return;
  services.audit?.record({
    ...auditOrigin(request),
    resourceType: 'artifact',
    resource: `${repository}@${digest}`,
    operation: 'pull',
    result: 'denied',
    detail: reason,
  });
  throw new RegistryError('DENIED', reason, { detail: { name: repository, digest } });
}
