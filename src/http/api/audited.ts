import type { FastifyRequest } from 'fastify';
import type { AuditEvent } from '../../audit/audit-log.ts';
import { isRegistryError } from '../../oci/errors.ts';
import { auditOrigin } from '../audit-origin.ts';
import type { ApiServices } from './context.ts';

export type AuditedFacts = Pick<
  AuditEvent,
  'resourceType' | 'resource' | 'operation' | 'projectId' | 'detail'
>;

/**
 * Runs a change and audits it: its success (with the facts `change` returns, which name what
 * was changed), or a refusal for lack of permission (with the facts known beforehand). Details
 * name fields and keys, never a value of a secret.
 */
export async function audited<T>(
  services: ApiServices,
  request: FastifyRequest,
  attempted: AuditedFacts,
  change: () => Promise<{ result: T; facts?: Partial<AuditedFacts> }>,
): Promise<T> {
  try {
    const { result, facts } = await change();
    services.audit.record({ ...auditOrigin(request), ...attempted, ...facts, result: 'success' });
    return result;
  } catch (error) {
    if (isRegistryError(error) && error.status === 403) {
      services.audit.record({ ...auditOrigin(request), ...attempted, result: 'denied' });
    }
    throw error;
  }
}
