import { parseRangeHeader } from '../../lib/http-range.ts';
import { type Digest, parseDigest } from '../../oci/digest.ts';
import { RegistryError } from '../../oci/errors.ts';
import type { ByteRange } from '../../storage/blob-store.ts';
import type { RegistryHandler } from './context.ts';
import { matchesEtag } from './etag.ts';
import { sendBody } from './send-body.ts';

function blobHeaders(digest: Digest): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    etag: `"${digest}"`,
    'accept-ranges': 'bytes',
    'cache-control': 'max-age=31536000',
  };
}

export const headBlob: RegistryHandler = async ({ blobs }, request, reply, { name, target }) => {
  const { digest } = parseDigest(target);
  const size = await blobs.stat(name, digest);
  reply.headers(blobHeaders(digest)).header('content-length', size);
  return reply.code(matchesEtag(request.headers['if-none-match'], digest) ? 304 : 200).send();
};

export const getBlob: RegistryHandler = async ({ blobs }, request, reply, { name, target }) => {
  const { digest } = parseDigest(target);
  if (matchesEtag(request.headers['if-none-match'], digest)) {
    await blobs.stat(name, digest);
    return reply.code(304).headers(blobHeaders(digest)).send();
  }
  const location = await blobs.redirect(name, digest);
  if (location) {
    return reply
      .code(307)
      .headers({ 'docker-content-digest': digest, location, 'cache-control': 'no-store' })
      .send();
  }
  const rangeHeader = request.headers.range;
  const selectRange = (size: number): ByteRange | undefined => {
    const requested = parseRangeHeader(rangeHeader, size);
    if (requested.kind === 'unsatisfiable') {
      throw new RegistryError('RANGE_INVALID', `range ${rangeHeader} is not satisfiable for ${size} bytes`, {
        headers: { 'Content-Range': `bytes */${size}` },
      });
    }
    return requested.kind === 'satisfiable' ? requested.range : undefined;
  };
  const { size, range, body } = await blobs.open(name, digest, selectRange);
  reply.headers(blobHeaders(digest));
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    return sendBody(reply.header('content-length', range.end - range.start + 1), body);
  }
  return sendBody(reply.code(200).header('content-length', size), body);
};

export const deleteBlob: RegistryHandler = async ({ blobs }, _request, reply, { name, target }) => {
  const { digest } = parseDigest(target);
  await blobs.delete(name, digest);
  return reply.code(202).header('content-length', 0).send();
};
