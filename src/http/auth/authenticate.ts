import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../access/authenticator.ts';
import { anonymous } from '../../access/caller.ts';
import type { TokenService } from '../../access/token-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { bearerChallenge } from './challenge.ts';

export interface AuthenticationServices {
  authenticator: Authenticator;
  tokens: TokenService;
}

function refuse(
  request: FastifyRequest,
  tokens: TokenService,
  message: string,
  error?: 'invalid_token',
): RegistryError {
  const headers: Record<string, string> = request.url.startsWith('/v2')
    ? { 'WWW-Authenticate': bearerChallenge(request, tokens.service, undefined, error) }
    : { 'WWW-Authenticate': 'Basic realm="Berth"' };
  return new RegistryError('UNAUTHORIZED', message, { headers });
}

/**
 * Establishes `request.caller` from the Authorization header: none is anonymous, Basic is a
 * user or robot login, Bearer a registry token. Credentials that do not check out end the
 * request with 401 (never a silent downgrade to anonymous).
 */
export function authenticateRequests({ authenticator, tokens }: AuthenticationServices) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    request.caller = anonymous;
    const header = request.headers.authorization;
    if (!header) return;
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw refuse(request, tokens, 'malformed Basic credentials');
      const result = await authenticator.login(decoded.slice(0, colon), decoded.slice(colon + 1));
      if (!result.ok) throw refuse(request, tokens, 'invalid username or password');
      request.caller = result.caller;
      return;
    }
    if (scheme === 'bearer') {
      const verified = await tokens.verify(value);
      if (!verified) throw refuse(request, tokens, 'invalid or expired token', 'invalid_token');
      request.caller = { kind: 'token', name: verified.subject, access: verified.access };
      return;
    }
    throw refuse(
      request,
      tokens,
      `unsupported authorization scheme ${JSON.stringify(header.slice(0, space).slice(0, 20))}`,
    );
  };
}
