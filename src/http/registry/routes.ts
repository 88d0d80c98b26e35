import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryAction } from '../../access/registry-access.ts';
import { RegistryError } from '../../oci/errors.ts';
import { assertRepositoryName } from '../../oci/reference.ts';
import { auditOrigin } from '../audit-origin.ts';
import { bearerChallenge } from '../auth/challenge.ts';
import { deleteBlob, getBlob, headBlob } from './blobs.ts';
import type { RegistryRoute, RegistryServices } from './context.ts';
import { listCatalog, listReferrers, listTags } from './listing.ts';
import { deleteManifest, getManifest, headManifest, putManifest } from './manifests.ts';
import { deleteUpload, getUpload, patchUpload, postUpload, putUpload } from './uploads.ts';

/**
 * Every /v2 route, the permission each method needs, and its handler: the one list to read to
 * know what the registry API does and what it checks. Patterns match the path after `/v2/`; the
 * repository name is greedy, so names may themselves contain `blobs` or `manifests`.
 */
export const registryRoutes: readonly RegistryRoute[] = [
  {
    name: 'uploads',
    pattern: /^(.+)\/blobs\/uploads\/?$/,
    methods: { POST: { action: 'push', handle: postUpload } },
  },
  {
    name: 'upload',
    pattern: /^(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: {
      GET: { action: 'push', handle: getUpload },
      PATCH: { action: 'push', handle: patchUpload },
      PUT: { action: 'push', handle: putUpload },
      DELETE: { action: 'push', handle: deleteUpload },
    },
  },
  {
    name: 'blob',
    pattern: /^(.+)\/blobs\/([^/]+)$/,
    methods: {
      GET: { action: 'pull', handle: getBlob },
      HEAD: { action: 'pull', handle: headBlob },
      DELETE: { action: 'delete', handle: deleteBlob },
    },
  },
  {
    name: 'manifest',
    pattern: /^(.+)\/manifests\/([^/]+)$/,
    methods: {
      GET: { action: 'pull', handle: getManifest },
      HEAD: { action: 'pull', handle: headManifest },
      PUT: { action: 'push', handle: putManifest },
      DELETE: { action: 'delete', handle: deleteManifest },
    },
  },
  {
    name: 'tags',
    pattern: /^(.+)\/tags\/list$/,
    methods: { GET: { action: 'pull', handle: listTags } },
  },
  {
    name: 'referrers',
    pattern: /^(.+)\/referrers\/([^/]+)$/,
    methods: { GET: { action: 'pull', handle: listReferrers } },
  },
];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the path');
  }
}

function unsupported(reply: FastifyReply, methods: string[]): RegistryError {
  reply.header('allow', methods.join(', '));
  return new RegistryError('UNSUPPORTED', 'method not allowed on this resource');
}

/**
 * Lets the request through, or refuses it the way clients expect: a 401 challenge naming the
 * scope to ask a token for (anonymous callers, and tokens that fall short), a 403 otherwise.
 */
async function authorize(
  services: RegistryServices,
  request: FastifyRequest,
  allowed: Promise<boolean>,
  scope: string,
): Promise<void> {
  if (await allowed) return;
  const caller = request.caller;
  if (caller.kind === 'anonymous' || caller.kind === 'token') {
    const error = caller.kind === 'token' ? 'insufficient_scope' : undefined;
    throw new RegistryError('UNAUTHORIZED', 'authentication required', {
      headers: { 'WWW-Authenticate': bearerChallenge(request, services.tokenService, scope, error) },
      detail: [
        {
          Type: scope.split(':')[0],
          Name: scope.split(':').slice(1, -1).join(':'),
          Action: scope.split(':').at(-1),
        },
      ],
    });
  }
  services.audit?.record({
    ...auditOrigin(request),
    resourceType: scope.split(':')[0] === 'registry' ? 'catalog' : 'repository',
    resource: scope.split(':').slice(1, -1).join(':'),
    operation: scope.split(':').at(-1) ?? '',
    result: 'denied',
  });
  throw new RegistryError(
    'DENIED',
    `${caller.name} may not ${scope.split(':').at(-1)} ${scope.split(':').slice(1, -1).join(':')}`,
  );
}

/** Harbor audits what happens to artifacts: manifest pulls, pushes and deletes, and blob deletes. */
const auditedOperation: Record<string, string> = { GET: 'pull', PUT: 'create', DELETE: 'delete' };

function audited(route: string, method: string): boolean {
  return (route === 'manifest' && method !== 'HEAD') || (route === 'blob' && method === 'DELETE');
}

const scopeActions: Record<RegistryAction, string> = { pull: 'pull', push: 'pull,push', delete: 'delete' };

/** Routes a request under /v2/ to its handler after checking the name and the caller's rights. */
export async function dispatchRegistry(
  services: RegistryServices,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  reply.header('docker-distribution-api-version', 'registry/2.0');
  const url = request.raw.url ?? '';
  const queryStart = url.indexOf('?');
  const path = (queryStart === -1 ? url : url.slice(0, queryStart)).replace(/^\/v2\/?/, '');
  const method = request.method;

  if (path === '' || path === '/') {
    request.routeName = 'base';
    if (method !== 'GET' && method !== 'HEAD') throw unsupported(reply, ['GET', 'HEAD']);
    // The version check doubles as the login probe: anonymous callers learn where to authenticate.
    if (request.caller.kind === 'anonymous') {
      throw new RegistryError('UNAUTHORIZED', 'authentication required', {
        headers: { 'WWW-Authenticate': bearerChallenge(request, services.tokenService) },
      });
    }
    return reply.code(200).header('content-type', 'application/json').send('{}');
  }
  if (path === '_catalog') {
    request.routeName = 'catalog';
    if (method !== 'GET') throw unsupported(reply, ['GET']);
    await authorize(services, request, services.access.allowsCatalog(request.caller), 'registry:catalog:*');
    return listCatalog(services, request, reply, { name: '', target: '' });
  }
  for (const route of registryRoutes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    request.routeName = route.name;
    const binding = route.methods[method];
    if (!binding) throw unsupported(reply, Object.keys(route.methods));
    const name = assertRepositoryName(decode(match[1]!));
    const target = decode(match[2] ?? '');
    const scope = `repository:${name}:${scopeActions[binding.action]}`;
    await authorize(services, request, services.access.allows(request.caller, name, binding.action), scope);
    const result = await binding.handle(services, request, reply, { name, target });
    if (services.audit && audited(route.name, method) && reply.statusCode < 400) {
      services.audit.recordArtifact(
        request.caller.name ?? 'anonymous',
        request.ip,
        request.headers['user-agent'] ?? '',
        `${name}${target.includes(':') ? '@' : ':'}${target}`,
        auditedOperation[method] ?? method.toLowerCase(),
      );
    }
    return result;
  }
  request.routeName = 'unknown';
  throw new RegistryError('NAME_UNKNOWN', `no registry endpoint at /v2/${path.slice(0, 200)}`, {
    status: 404,
  });
}
