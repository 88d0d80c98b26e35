import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ByteRange } from '../../lib/byte-range.ts';
import { parseContentRange } from '../../lib/http-range.ts';
import { parseDigest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import { isRepositoryName } from '../../oci/reference.ts';
import { UploadRangeError, type UploadState } from '../../registry/upload-service.ts';
import { hasBody, queryParam, type RegistryHandler } from './context.ts';

/** Where the upload stands: the headers of every answer about one, 416s included. */
function progressHeaders(reply: FastifyReply, state: UploadState): FastifyReply {
  return reply
    .header('location', `/v2/${state.repository}/blobs/uploads/${state.id}`)
    .header('range', `0-${Math.max(state.size - 1, 0)}`)
    .header('docker-upload-uuid', state.id);
}

function sendProgress(reply: FastifyReply, state: UploadState, status: 202 | 204) {
  progressHeaders(reply, state).code(status);
  if (status === 202) reply.header('content-length', 0);
  return reply.send();
}

function sendCreated(reply: FastifyReply, repository: string, digest: string) {
  return reply
    .code(201)
    .header('location', `/v2/${repository}/blobs/${digest}`)
    .header('docker-content-digest', digest)
    .header('content-length', 0)
    .send();
}

/** Runs an upload operation; a 416 also tells the client where to resume. */
async function resumable<T>(reply: FastifyReply, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof UploadRangeError) progressHeaders(reply, error.state);
    throw error;
  }
}

function body(request: FastifyRequest): AsyncIterable<Buffer> {
  return request.raw as AsyncIterable<Buffer>;
}

/** The chunk's Content-Range, checked against Content-Length when both are given. */
function chunkRange(request: FastifyRequest): ByteRange | undefined {
  const range = parseContentRange(request.headers['content-range']);
  if (range === null) {
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      `malformed Content-Range ${request.headers['content-range']}`,
      {
        status: 416,
      },
    );
  }
  const length = request.headers['content-length'];
  if (range && length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw new RegistryError(
      'SIZE_INVALID',
      `Content-Range covers ${range.end - range.start + 1} bytes, Content-Length is ${length}`,
    );
  }
  return range;
}

/** POST: start an upload, push a whole blob (`?digest=`), or mount one (`?mount=&from=`). */
export const postUpload: RegistryHandler = async ({ uploads, blobs, access }, request, reply, { name }) => {
  const digest = queryParam(request, 'digest');
  if (digest !== undefined) {
    const expected = parseDigest(digest);
    return sendCreated(reply, name, await uploads.pushMonolithic(name, expected, body(request)));
  }
  const mount = queryParam(request, 'mount');
  const from = queryParam(request, 'from');
  if (mount !== undefined && from !== undefined && isRepositoryName(from)) {
    const { digest: mountDigest } = parseDigest(mount);
    // Mounting needs pull rights on the source; without them this is an ordinary upload start,
    // so the answer never tells whether the blob exists there.
    if ((await access.allows(request.caller, from, 'pull')) && (await blobs.mount(name, mountDigest, from))) {
      return sendCreated(reply, name, mountDigest);
    }
  }
  const state = await uploads.start(name);
  if (uploads.minChunkLength > 0) reply.header('oci-chunk-min-length', uploads.minChunkLength);
  return sendProgress(reply, state, 202);
};

export const patchUpload: RegistryHandler = async ({ uploads }, request, reply, { name, target }) => {
  const range = chunkRange(request);
  return sendProgress(reply, await resumable(reply, uploads.append(name, target, body(request), range)), 202);
};

export const putUpload: RegistryHandler = async ({ uploads }, request, reply, { name, target }) => {
  const digest = queryParam(request, 'digest');
  if (digest === undefined) {
    throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
  }
  const expected = parseDigest(digest);
  const range = chunkRange(request);
  const lastChunk = hasBody(request) || range ? body(request) : undefined;
  return sendCreated(
    reply,
    name,
    await resumable(reply, uploads.complete(name, target, expected, lastChunk, range)),
  );
};

export const getUpload: RegistryHandler = async ({ uploads }, _request, reply, { name, target }) => {
  return sendProgress(reply, await uploads.status(name, target), 204);
};

export const deleteUpload: RegistryHandler = async ({ uploads }, _request, reply, { name, target }) => {
  await uploads.cancel(name, target);
  return reply.code(204).send();
};
