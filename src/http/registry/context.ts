import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessPolicy, RegistryAction } from '../../access/registry-access.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { PullGate } from '../../policy/pull-gate.ts';
import type { BlobService } from '../../registry/blob-service.ts';
import type { ListingService } from '../../registry/listing-service.ts';
import type { ManifestService } from '../../registry/manifest-service.ts';
import type { UploadService } from '../../registry/upload-service.ts';

export interface RegistryServices {
  blobs: BlobService;
  uploads: UploadService;
  manifests: ManifestService;
  listing: ListingService;
  access: AccessPolicy;
  /** The `service` named in token challenges. */
  tokenService: string;
  manifestMaxBytes: number;
  /** Records pulls, pushes, deletes and refusals of logged-in callers. */
  audit?: AuditLog;
  /** Pull-time policies (content trust, vulnerability prevention) asked on manifest GET. */
  pullGate?: PullGate;
}

/** Path parameters a registry route captured, percent-decoded. */
export interface RouteParams {
  name: string;
  /** Digest, tag, or upload id: the last path segment where the route has one. */
  target: string;
}

export type RegistryHandler = (
  services: RegistryServices,
  request: FastifyRequest,
  reply: FastifyReply,
  params: RouteParams,
) => Promise<unknown>;

export interface MethodBinding {
  /** The permission the request needs on the repository. */
  action: RegistryAction;
  handle: RegistryHandler;
}

export interface RegistryRoute {
  /** Label for metrics and logs. */
  name: string;
  /** Matched against the path after `/v2/`; group 1 is the repository name, group 2 the target. */
  pattern: RegExp;
  methods: Partial<Record<string, MethodBinding>>;
}

/**
 * True when the request carries a body (a chunk), by Content-Length, else by chunked encoding
 * (HTTP/1.1) or a HEADERS frame that did not end the stream (HTTP/2, which has no chunking).
 */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  const stream = (request.raw as { stream?: { endAfterHeaders: boolean } }).stream;
  if (request.raw.httpVersionMajor === 2 && stream) return !stream.endAfterHeaders;
  return request.headers['transfer-encoding'] !== undefined;
}

/** One query parameter (the first, if repeated). */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}
