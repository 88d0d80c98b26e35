import type { FastifyReply, FastifyRequest } from 'fastify';

/** The browser session cookie (a random id; the session itself stays on the server). */
export const sessionCookie = 'sid';

/** The value of cookie `name` in the request, if present. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0 || part.slice(0, equals).trim() !== name) continue;
    const value = part.slice(equals + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface CookieOptions {
  path?: string;
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
}

/**
 * Sets an HttpOnly, SameSite=Lax cookie (Lax: sent on the provider's top-level redirect back
 * to the callback, not on cross-site subrequests), Secure when the request came over TLS.
 */
export function setCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  value: string,
  options: CookieOptions,
): void {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path ?? '/'}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (request.protocol === 'https') parts.push('Secure');
  // Fastify appends to an existing set-cookie header rather than replacing it.
  reply.header('set-cookie', parts.join('; '));
}

export function clearCookie(request: FastifyRequest, reply: FastifyReply, name: string, path = '/'): void {
  setCookie(request, reply, name, '', { path, maxAge: 0 });
}
