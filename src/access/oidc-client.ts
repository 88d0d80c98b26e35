import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { RegistryError } from '../oci/errors.ts';
import { insecureFetch } from './oidc-insecure-fetch.ts';
import type { OidcSettings } from './oidc-settings.ts';

/** What Berth keeps between sending the browser to the provider and its return. */
export interface OidcLoginAttempt {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** Where in Berth to send the browser after login (a local path). */
  returnTo: string;
}

/** Who the provider says logged in, with the claims Berth uses. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  /** From `oidc_user_claim` (default `name`), blanks replaced by `_` as Harbor does. */
  username: string;
  email: string | undefined;
  groups: string[];
  adminGroupMember: boolean;
}

type Claims = Record<string, unknown>;

const discoveryTtlMs = 5 * 60 * 1000;

function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The groups claim: an array of strings (other entries ignored), or undefined when absent. */
function groupsClaim(claims: Claims, name: string): string[] | undefined {
  const value = claims[name];
  if (!Array.isArray(value)) return undefined;
  return value.filter((group): group is string => typeof group === 'string' && group !== '');
}

/**
 * Berth as an OpenID Connect relying party (authorization code flow with PKCE S256, state and
 * nonce), on `openid-client`: discovery, the authorization URL, the code exchange with ID
 * token validation, and the claims merged from the ID token and the userinfo endpoint.
 */
export class OidcClient {
  private cached: { key: string; config: client.Configuration; until: number } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The provider's authorization URL for a new login, and what to keep until the callback. */
  async beginLogin(
    settings: OidcSettings,
    redirectUri: string,
    returnTo: string,
  ): Promise<{ url: URL; attempt: OidcLoginAttempt }> {
    const config = await this.configuration(settings);
    const attempt: OidcLoginAttempt = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      redirectUri,
      returnTo,
    };
    const url = client.buildAuthorizationUrl(config, {
      ...settings.extraRedirectParams,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: settings.scopes.join(' '),
      state: attempt.state,
      nonce: attempt.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(attempt.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url, attempt };
  }

  /**
   * Exchanges the callback's code for tokens, validates the ID token (signature, issuer,
   * audience, expiry, nonce) and returns the identity. `query` is the callback's query string.
   */
  async completeLogin(
    settings: OidcSettings,
    attempt: OidcLoginAttempt,
    query: string,
  ): Promise<OidcIdentity> {
    const config = await this.configuration(settings);
    const currentUrl = new URL(attempt.redirectUri);
    currentUrl.search = query;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, currentUrl, {
        expectedState: attempt.state,
        expectedNonce: attempt.nonce,
        pkceCodeVerifier: attempt.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.refusal(error);
    }
    const idClaims = tokens.claims() as Claims | undefined;
    if (!idClaims) throw new RegistryError('UNAUTHORIZED', 'the OpenID Provider returned no ID token');
    let userinfo: Claims | undefined;
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        userinfo = (await client.fetchUserInfo(config, tokens.access_token, String(idClaims.sub))) as Claims;
      } catch (error) {
        // Harbor falls back to the ID token's claims when userinfo fails; so do we.
        this.log.warn({ error: (error as Error).message }, 'OIDC userinfo request failed');
      }
    }
    return identityFrom(settings, idClaims, userinfo);
  }

  private refusal(error: unknown): RegistryError {
    const message = (error as Error).message;
    const code = (error as { error?: unknown }).error;
    this.log.info(
      { error: message, code: typeof code === 'string' ? code : undefined },
      'OIDC login refused',
    );
    if (error instanceof client.AuthorizationResponseError)
      return new RegistryError('BAD_REQUEST', `the OpenID Provider refused the login: ${error.error}`);
    if (error instanceof client.ResponseBodyError)
      return new RegistryError('BAD_REQUEST', `the OpenID Provider refused the code: ${error.error}`);
    // Validation of the provider's answer (ID token signature, issuer, audience, nonce, expiry).
    if (error instanceof client.ClientError)
      return new RegistryError('UNAUTHORIZED', 'the OpenID Provider response did not validate');
    return new RegistryError('UNAVAILABLE', 'the OpenID Provider could not be reached');
  }

  /** The discovered provider for these settings, rediscovered every few minutes. */
  private async configuration(settings: OidcSettings): Promise<client.Configuration> {
    const key = createHash('sha256')
      .update(
        JSON.stringify([settings.issuer, settings.clientId, settings.clientSecret, settings.verifyCert]),
      )
      .digest('base64');
    const now = this.clock.now();
    if (this.cached && this.cached.key === key && this.cached.until > now) return this.cached.config;
    let config: client.Configuration;
    try {
      const options: client.DiscoveryRequestOptions = { timeout: 10 };
      if (new URL(settings.issuer).protocol === 'http:') options.execute = [client.allowInsecureRequests];
      if (!settings.verifyCert) options[client.customFetch] = insecureFetch;
      const discovered = await client.discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        undefined,
        options,
      );
      const metadata = discovered.serverMetadata();
      config = new client.Configuration(
        metadata,
        settings.clientId,
        undefined,
        authenticationFor(metadata, settings.clientSecret),
      );
      config.timeout = 10;
      if (options[client.customFetch]) config[client.customFetch] = insecureFetch;
      for (const execute of options.execute ?? []) execute(config);
    } catch (error) {
      this.log.warn({ issuer: settings.issuer, error: (error as Error).message }, 'OIDC discovery failed');
      throw new RegistryError('UNAVAILABLE', 'the OpenID Provider could not be reached or described');
    }
    this.cached = { key, config, until: now + discoveryTtlMs };
    return config;
  }
}

/** client_secret_basic where the provider offers it (the OAuth default), else _post. */
function authenticationFor(metadata: client.ServerMetadata, secret: string): client.ClientAuth {
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return methods.includes('client_secret_basic') || !methods.includes('client_secret_post')
    ? client.ClientSecretBasic(secret)
    : client.ClientSecretPost(secret);
}

/** Harbor's merge: subject and issuer from the ID token; name, email, groups from userinfo first. */
export function identityFrom(
  settings: OidcSettings,
  idClaims: Claims,
  userinfo: Claims | undefined,
): OidcIdentity {
  const sources = userinfo ? [userinfo, idClaims] : [idClaims];
  const first = (read: (claims: Claims) => string | undefined) => {
    for (const claims of sources) {
      const value = read(claims);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const userClaims = [settings.userClaim, 'name', 'preferred_username', 'sub'].filter(Boolean);
  const username = first((claims) => {
    for (const claim of userClaims) {
      const value = stringClaim(claims, claim);
      if (value) return value;
    }
    return undefined;
  });
  let groups: string[] = [];
  for (const claims of sources) {
    const found = groupsClaim(claims, settings.groupsClaim);
    if (found) {
      groups = found;
      break;
    }
  }
  if (settings.groupFilter) groups = groups.filter((group) => settings.groupFilter?.test(group));
  return {
    issuer: String(idClaims.iss),
    subject: String(idClaims.sub),
    username: (username ?? String(idClaims.sub)).replaceAll(' ', '_'),
    email: first((claims) => stringClaim(claims, 'email')),
    groups: [...new Set(groups)],
    adminGroupMember: settings.adminGroup !== '' && groups.includes(settings.adminGroup),
  };
}
