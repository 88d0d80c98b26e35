import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

/** A person at the provider: `sub` and the claims it releases. */
export interface TestAccount {
  sub: string;
  name?: string;
  preferred_username?: string;
  email?: string;
  groups?: string[];
}

export interface TestOidcProviderOptions {
  /** Berth's callback, the only redirect URI the client may use. */
  redirectUri: string;
  accounts: TestAccount[];
  clientId?: string;
  clientSecret?: string;
}

/**
 * A real OpenID Provider (panva's `oidc-provider`) on a free loopback port: one confidential
 * client, the given accounts, PKCE required, RS256 ID tokens. Its login and consent pages are
 * replaced by small JSON endpoints a test drives with plain HTTP (see `Browser.signIn`).
 */
export class TestOidcProvider {
  readonly clientId: string;
  readonly clientSecret: string;

  private constructor(
    readonly issuer: string,
    private readonly server: Server,
    readonly provider: Provider,
    clientId: string,
    clientSecret: string,
    readonly accounts: Map<string, TestAccount>,
  ) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
  }

  static async start(options: TestOidcProviderOptions): Promise<TestOidcProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clientId = options.clientId ?? 'berth';
    const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
    const accounts = new Map(options.accounts.map((account) => [account.sub, account]));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const configuration: Configuration = {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [options.redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' }] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { methods: ['S256'], required: () => true },
      ttl: {
        AccessToken: 600,
        AuthorizationCode: 60,
        IdToken: 600,
        Interaction: 600,
        Session: 3600,
        Grant: 3600,
      },
      scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
      claims: {
        openid: ['sub'],
        profile: ['name', 'preferred_username'],
        email: ['email'],
        groups: ['groups'],
      },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: (_ctx, sub) => {
        const account = accounts.get(sub);
        if (!account) return undefined;
        return { accountId: sub, claims: () => ({ ...account }) };
      },
      // The ID token then carries only `sub` and the like; names, email and groups come from
      // the userinfo endpoint, which Berth must consult (as Harbor does).
      conformIdTokenClaims: true,
    };
    const provider = new Provider(issuer, configuration);
    const oidc = new TestOidcProvider(issuer, server, provider, clientId, clientSecret, accounts);
    const callback = provider.callback();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/interaction/')) {
        oidc.interaction(req, res).catch((error: Error) => {
          res.statusCode = 500;
          res.end(JSON.stringify({ error: error.message }));
        });
        return;
      }
      callback(req, res);
    });
    return oidc;
  }

  /**
   * The login and consent "pages": GET tells which prompt is pending; POST `…/login` with
   * `{"login": sub}` signs that account in; POST `…/confirm` grants what the client asked.
   */
  private async interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await this.provider.interactionDetails(req, res);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
      return;
    }
    if (path.endsWith('/login')) {
      const body = JSON.parse(await readBody(req)) as { login: string };
      if (!this.accounts.has(body.login)) {
        await this.provider.interactionFinished(req, res, {
          error: 'access_denied',
          error_description: 'unknown account',
        });
        return;
      }
      await this.provider.interactionFinished(
        req,
        res,
        { login: { accountId: body.login } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (path.endsWith('/confirm')) {
      const { prompt, params, session } = details;
      const grant = details.grantId
        ? await this.provider.Grant.find(details.grantId)
        : new this.provider.Grant({ accountId: session?.accountId, clientId: String(params.client_id) });
      if (!grant) throw new Error('grant not found');
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await this.provider.interactionFinished(req, res, details.grantId ? {} : { consent: { grantId } }, {
        mergeWithLastSubmission: true,
      });
      return;
    }
    res.statusCode = 404;
    res.end();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/**
 * Just enough of a browser for login flows: a cookie jar per host (as browsers keep them, so
 * Berth's and the provider's cookies on 127.0.0.1 share it), requests with manual redirects.
 */
export class Browser {
  private readonly jar = new Map<string, StoredCookie[]>();

  /** One request: the jar's cookies out, Set-Cookie back into the jar; redirects not followed. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookies = this.cookiesFor(target);
    if (cookies) headers.set('cookie', cookies);
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(target, line);
    return response;
  }

  /** The value of a cookie the jar holds for this URL's host (any path). */
  cookie(url: string | URL, name: string): string | undefined {
    return this.jar.get(new URL(url).hostname)?.find((cookie) => cookie.name === name)?.value;
  }

  /**
   * Follows redirects from `authorizationUrl` through the provider, signs `login` in and
   * consents, and returns the URL the provider finally redirects to (Berth's callback, not
   * yet visited).
   */
  async signIn(authorizationUrl: string | URL, login: string, issuer: string): Promise<URL> {
    let next = new URL(authorizationUrl);
    for (let step = 0; step < 20; step++) {
      if (!next.href.startsWith(issuer)) return next;
      if (next.pathname.startsWith('/interaction/')) {
        const pending = await this.fetch(next);
        const { uid, prompt } = (await pending.json()) as { uid: string; prompt: string };
        const action = prompt === 'login' ? 'login' : 'confirm';
        const response = await this.fetch(new URL(`/interaction/${uid}/${action}`, issuer), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login }),
        });
        await response.body?.cancel();
        next = redirectOf(response, next);
        continue;
      }
      const response = await this.fetch(next);
      await response.body?.cancel();
      next = redirectOf(response, next);
    }
    throw new Error('too many redirects at the OpenID Provider');
  }

  private cookiesFor(url: URL): string {
    return (this.jar.get(url.hostname) ?? [])
      .filter((cookie) => url.pathname.startsWith(cookie.path))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  private store(url: URL, line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const equals = pair.indexOf('=');
    const name = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    let path = '/';
    let expired = value === '';
    for (const attribute of attributes) {
      const [key = '', attributeValue = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path') path = attributeValue;
      if (key.toLowerCase() === 'max-age' && Number(attributeValue) <= 0) expired = true;
      if (key.toLowerCase() === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
    }
    const cookies = (this.jar.get(url.hostname) ?? []).filter(
      (cookie) => !(cookie.name === name && cookie.path === path),
    );
    if (!expired) cookies.push({ name, value, path });
    this.jar.set(url.hostname, cookies);
  }
}

function redirectOf(response: Response, from: URL): URL {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || !location)
    throw new Error(`expected a redirect from ${from.href}, got ${response.status}`);
  return new URL(location, from);
}
