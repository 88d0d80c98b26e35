/**
 * The registry's error vocabulary: every code of the OCI Distribution Spec (plus the few that
 * distribution added and clients know), registered once with its HTTP status and message.
 * Services throw `RegistryError`; only the HTTP error handler turns one into a response.
 */
export const errorCodes = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: {
    status: 400,
    message: 'manifest references a manifest or blob unknown to registry',
  },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  BAD_REQUEST: { status: 400, message: 'the request is malformed' },
  FORBIDDEN: { status: 403, message: 'forbidden' },
  CONFLICT: { status: 409, message: 'resource conflict' },
  PRECONDITION: { status: 412, message: 'precondition failed' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorOptions {
  /** Overrides the code's default status where the spec asks for another one (e.g. 413, 416). */
  status?: number;
  detail?: unknown;
  /** Extra response headers the client needs to recover (e.g. `Range` on a 416). */
  headers?: Record<string, string>;
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, options: ErrorOptions = {}) {
    super(message ?? errorCodes[code].message);
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? errorCodes[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}

/** The spec's error body: `{"errors":[{"code","message","detail"}]}`. */
export function errorBody(error: RegistryError): {
  errors: { code: string; message: string; detail?: unknown }[];
} {
  const entry: { code: string; message: string; detail?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.detail !== undefined) entry.detail = error.detail;
  return { errors: [entry] };
}
