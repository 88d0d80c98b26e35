import type { FastifyReply, FastifyRequest } from 'fastify';
import { BodyTooLargeError, readAll } from '../../lib/streams.ts';
import { AcceptList } from '../../oci/content-negotiation.ts';
import { RegistryError } from '../../oci/errors.ts';
import { parseReference, type Reference } from '../../oci/reference.ts';
import type { StoredManifest } from '../../registry/manifest-service.ts';
import { closeConnectionAfter } from '../close-connection.ts';
import type { RegistryHandler } from './context.ts';
import { matchesEtag } from './etag.ts';
import { refusePull } from './pull-refusal.ts';

/**
 * A reference read from a GET/HEAD/DELETE URL. A malformed tag names nothing that can exist, so
 * it is unknown (404), as the conformance suite expects; a malformed digest stays DIGEST_INVALID.
 */
function lookupReference(name: string, target: string): Reference {
  try {
    return parseReference(target);
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'TAG_INVALID') {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${target} is unknown to repository ${name}`, {
        detail: { name, reference: target },
      });
    }
    throw error;
  }
}

function manifestHeaders(reply: FastifyReply, manifest: StoredManifest): FastifyReply {
  return reply
    .header('content-type', manifest.mediaType)
    .header('docker-content-digest', manifest.digest)
    .header('etag', `"${manifest.digest}"`)
    .header('content-length', manifest.size);
}

async function fetchManifest(
  request: FastifyRequest,
  services: Parameters<RegistryHandler>[0],
  name: string,
  target: string,
) {
  return services.manifests.get(name, lookupReference(name, target), new AcceptList(request.headers.accept));
}

export const headManifest: RegistryHandler = async (services, request, reply, { name, target }) => {
  const manifest = await fetchManifest(request, services, name, target);
  const status = matchesEtag(request.headers['if-none-match'], manifest.digest) ? 304 : 200;
  return manifestHeaders(reply, manifest).code(status).send();
};

export const getManifest: RegistryHandler = async (services, request, reply, { name, target }) => {
  const manifest = await fetchManifest(request, services, name, target);
  // Only GET is gated: HEAD serves no content, as in Harbor.
  const refusal = services.pullGate?.check(request.caller, name, manifest);
  if (refusal) refusePull(services, request, name, manifest.digest, await refusal);
  if (matchesEtag(request.headers['if-none-match'], manifest.digest)) {
    return manifestHeaders(reply, manifest).code(304).send();
  }
  return manifestHeaders(reply, manifest).code(200).send(manifest.bytes);
};

export const putManifest: RegistryHandler = async (
  { manifests, manifestMaxBytes },
  request,
  reply,
  { name, target },
) => {
  const reference = parseReference(target);
  const tooLarge = () =>
    new RegistryError('MANIFEST_INVALID', `manifest exceeds the ${manifestMaxBytes}-byte limit`, {
      status: 413,
      detail: { limit: manifestMaxBytes },
    });
  if (Number(request.headers['content-length'] ?? 0) > manifestMaxBytes) {
    closeConnectionAfter(reply);
    throw tooLarge();
  }
  let bytes: Buffer;
  try {
    bytes = await readAll(request.raw, manifestMaxBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      closeConnectionAfter(reply);
      throw tooLarge();
    }
    throw error;
  }
  const result = await manifests.put(name, reference, bytes, request.headers['content-type']);
  reply
    .code(201)
    .header('location', `/v2/${name}/manifests/${result.digest}`)
    .header('docker-content-digest', result.digest)
    .header('content-length', 0);
  if (result.subject) reply.header('oci-subject', result.subject);
  return reply.send();
};

export const deleteManifest: RegistryHandler = async ({ manifests }, _request, reply, { name, target }) => {
  await manifests.delete(name, lookupReference(name, target));
  return reply.code(202).header('content-length', 0).send();
};
