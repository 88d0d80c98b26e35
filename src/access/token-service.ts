import { randomBytes, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { Database } from '../db/database.ts';
import type { SigningKeyRow } from '../db/signing-keys.ts';
import type { Clock } from '../lib/clock.ts';
import type { TokenAccess } from './caller.ts';
import { CredentialCache } from './credential-cache.ts';
import type { SecretBox } from './secret-box.ts';

export interface TokenServiceOptions {
  db: Database;
  clock: Clock;
  secrets: SecretBox;
  /** `iss` of every token, and the `service` clients name in token requests. */
  issuer: string;
  service: string;
  ttlSeconds: number;
  refreshTtlSeconds: number;
  /** A new signing key after this long; the old one keeps verifying until its tokens expire. */
  rotationMs: number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export interface VerifiedToken {
  subject: string;
  access: TokenAccess[];
  expiresAt: number;
}

interface LoadedKey {
  kid: string;
  createdAt: number;
  retireAt: number;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicKey: CryptoKey;
}

const algorithm = 'ES256';
const refreshAudience = 'berth-refresh';

/**
 * Docker registry tokens: short-lived ES256 JWTs listing the granted `access`, signed with a
 * key that rotates (kept, encrypted, in the database so every node signs and verifies alike);
 * the public keys are published as a JWKS. Refresh tokens (OAuth2 flow) are JWTs too, for a
 * different audience. Verified tokens are cached until they expire.
 */
export class TokenService {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private readonly rotationListeners: (() => void)[] = [];
  private loading: Promise<void> | undefined;
  private readonly verified: CredentialCache<VerifiedToken>;

  constructor(private readonly options: TokenServiceOptions) {
    this.verified = new CredentialCache(options.clock, options.ttlSeconds * 1000, 50_000);
  }

  get service(): string {
    return this.options.service;
  }

  async issue(subject: string, access: TokenAccess[]): Promise<IssuedToken> {
    const key = await this.signingKey();
    const now = Math.floor(this.options.clock.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: algorithm, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.options.ttlSeconds)
      .setJti(randomBytes(16).toString('hex'))
      .sign(key.privateKey);
    return { token, expiresIn: this.options.ttlSeconds, issuedAt: new Date(now * 1000).toISOString() };
  }

  /** `stamp`: the user's credential stamp now; the token is refused once it no longer matches. */
  async issueRefresh(subject: string, stamp: string): Promise<string> {
    const key = await this.signingKey();
    const now = Math.floor(this.options.clock.now() / 1000);
    return new SignJWT({ stamp })
      .setProtectedHeader({ alg: algorithm, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(refreshAudience)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + this.options.refreshTtlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /** A token verified moments ago (and not yet expired), without any asynchronous work. */
  recentlyVerified(token: string): VerifiedToken | undefined {
    return this.verified.get(token);
  }

  /** The token's subject and access if it is ours, unexpired and untampered; else undefined. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    const cached = this.verified.get(token);
    if (cached) return cached;
    const payload = await this.verifyFor(token, this.options.service);
    if (!payload || !Array.isArray(payload.access)) return undefined;
    const result: VerifiedToken = {
      subject: String(payload.sub ?? ''),
      access: (payload.access as TokenAccess[]).filter(
        (entry) =>
          typeof entry?.type === 'string' && typeof entry.name === 'string' && Array.isArray(entry.actions),
      ),
      expiresAt: Number(payload.exp) * 1000,
    };
    this.verified.set(result, [token], result.expiresAt);
    return result;
  }

  /** The subject and credential stamp of a valid refresh token, else undefined. */
  async verifyRefresh(token: string): Promise<{ subject: string; stamp: string } | undefined> {
    const payload = await this.verifyFor(token, refreshAudience);
    if (typeof payload?.sub !== 'string' || typeof payload.stamp !== 'string') return undefined;
    return { subject: payload.sub, stamp: payload.stamp };
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    await this.load();
    return { keys: this.keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: algorithm, use: 'sig' })) };
  }

  private async verifyFor(token: string, audience: string) {
    try {
      const { payload } = await jwtVerify(token, (header) => this.publicKeyFor(header.kid), {
        issuer: this.options.issuer,
        audience,
        algorithms: [algorithm],
        currentDate: new Date(this.options.clock.now()),
      });
      return payload;
    } catch {
      return undefined;
    }
  }

  private async publicKeyFor(kid: string | undefined): Promise<CryptoKey> {
    let key = this.keys.find((candidate) => candidate.kid === kid);
    // A key another node just created: reload, at most once a second.
    if (!key && this.options.clock.now() - this.loadedAt > 1000) {
      await this.load(true);
      key = this.keys.find((candidate) => candidate.kid === kid);
    }
    if (!key) throw new Error('unknown signing key');
    return key.publicKey;
  }

  private async signingKey(): Promise<LoadedKey> {
    await this.load();
    const now = this.options.clock.now();
    const current = this.keys.find((key) => key.retireAt > now);
    if (current) return current;
    await this.rotate(now);
    return this.keys[0]!;
  }

  private async rotate(now: number): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(algorithm, { extractable: true });
    const row: SigningKeyRow = {
      kid: randomBytes(12).toString('base64url'),
      algorithm,
      private_key: this.options.secrets.seal(JSON.stringify(await exportJWK(privateKey))),
      public_key: JSON.stringify(await exportJWK(publicKey)),
      created_at: now,
      retire_at: now + this.options.rotationMs,
    };
    await this.options.db.signingKeys.insert(row);
    // Keys retired longer ago than any token lives are of no more use.
    await this.options.db.signingKeys.deleteRetiredBefore(now - this.graceMs());
    await this.load(true);
    for (const listener of this.rotationListeners) listener();
  }

  /** Told after this node created a signing key, so other nodes load it before its first token. */
  onKeysRotated(listener: () => void): void {
    this.rotationListeners.push(listener);
  }

  /** Loads the signing keys again: another node created or retired one. */
  async reloadKeys(): Promise<void> {
    await this.load(true);
  }

  private graceMs(): number {
    return Math.max(this.options.ttlSeconds, this.options.refreshTtlSeconds) * 1000;
  }

  private async load(force = false): Promise<void> {
    if (!force && this.loadedAt > 0) return;
    this.loading ??= (async () => {
      const now = this.options.clock.now();
      const rows = await this.options.db.signingKeys.findUsable(now, this.graceMs());
      this.keys = await Promise.all(rows.map((row) => this.decode(row)));
      this.loadedAt = now;
    })().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  private async decode(row: SigningKeyRow): Promise<LoadedKey> {
    const publicJwk = JSON.parse(row.public_key) as JWK;
    return {
      kid: row.kid,
      createdAt: Number(row.created_at),
      retireAt: Number(row.retire_at),
      privateKey: (await importJWK(
        JSON.parse(this.options.secrets.open(row.private_key)) as JWK,
        algorithm,
      )) as CryptoKey,
      publicJwk,
      publicKey: (await importJWK(publicJwk, algorithm)) as CryptoKey,
    };
  }
}
