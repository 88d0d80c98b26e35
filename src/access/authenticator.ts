import { timingSafeEqual } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { UserRow } from '../db/users.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Caller } from './caller.ts';
import { CredentialCache } from './credential-cache.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import type { SecretBox } from './secret-box.ts';

/** Robot accounts log in with names carrying this prefix (Harbor's default). */
export const robotPrefix = 'robot$';

/** Verifies robot credentials (`robot$…` names). */
export interface RobotVerifier {
  /** The robot, and when (epoch ms) it expires; undefined for wrong, disabled or expired ones. */
  verify(name: string, secret: string): Promise<{ caller: Caller; expiresAt?: number } | undefined>;
  /** Whether the robot still exists, enabled and unexpired: registry tokens issued to it depend on it. */
  active(name: string): Promise<boolean>;
  /** Forget what is cached about robots. */
  forget(): void;
}

/** A directory that checks passwords of users Berth does not store them for (LDAP). */
export interface ExternalPasswordVerifier {
  /** The user's own login, or undefined when the directory refuses it. Onboards new users. */
  login(username: string, password: string, existing: UserRow | undefined): Promise<UserRow | undefined>;
}

export interface AuthenticatorOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  secrets: SecretBox;
  robots?: RobotVerifier;
  /** Consulted for users whose source is an external directory, and for unknown names. */
  directory?: () => ExternalPasswordVerifier | undefined | Promise<ExternalPasswordVerifier | undefined>;
  /** Failed logins in a row before an account is locked. */
  maxFailures?: number;
  lockMs?: number;
  cacheMs?: number;
}

export type LoginResult =
  /** `cached`: the same credentials were verified moments ago (not a new login). */
  | { ok: true; caller: Caller; cached?: boolean; expiresAt?: number }
  | { ok: false; reason: 'invalid' | 'locked' | 'disabled' };

function secretsEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks username + password (HTTP Basic, the token endpoint): robots, local users (argon2id),
 * directory users (LDAP), OIDC users' CLI secrets. Repeated failures lock an account for a
 * while; successes are cached briefly under an HMAC of the credentials.
 */
/** How long a user's standing (exists, not disabled) is trusted for their registry tokens. */
const activeUserMs = 10_000;

export class Authenticator {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly secrets: SecretBox;
  private readonly robots: RobotVerifier | undefined;
  private readonly directory: NonNullable<AuthenticatorOptions['directory']>;
  private readonly maxFailures: number;
  private readonly lockMs: number;
  private readonly cache: CredentialCache<Caller>;
  private readonly activeUsers = new Map<string, { active: boolean; until: number }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly forgetListeners: (() => void)[] = [];

  constructor(options: AuthenticatorOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.log = options.log;
    this.secrets = options.secrets;
    this.robots = options.robots;
    this.directory = options.directory ?? (() => undefined);
    this.maxFailures = options.maxFailures ?? 5;
    this.lockMs = options.lockMs ?? 5 * 60 * 1000;
    this.cache = new CredentialCache(options.clock, options.cacheMs ?? 30_000);
  }

  /** The caller these credentials were verified as moments ago, if they were; checks nothing. */
  recentlyVerified(username: string, password: string): Caller | undefined {
    return this.cache.get(username, password);
  }

  async login(username: string, password: string): Promise<LoginResult> {
    const cached = this.cache.get(username, password);
    if (cached) return { ok: true, caller: cached, cached: true };
    return this.oneAtATime(username, () => this.check(username, password));
  }

  /**
   * Logins to one account are checked one at a time (on this node): concurrent guesses meet
   * the lockout in order, and a client opening many connections at once costs one argon2
   * verification, the others finding it in the cache.
   */
  private async oneAtATime<T>(username: string, work: () => Promise<T>): Promise<T> {
    const previous = this.inFlight.get(username) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(username, settled);
    try {
      return await current;
    } finally {
      if (this.inFlight.get(username) === settled) this.inFlight.delete(username);
    }
  }

  private async check(username: string, password: string): Promise<LoginResult> {
    const cached = this.cache.get(username, password);
    if (cached) return { ok: true, caller: cached, cached: true };
    const result = username.startsWith(robotPrefix)
      ? await this.loginRobot(username, password)
      : await this.loginUser(username, password);
    if (result.ok) this.cache.set(result.caller, [username, password], result.expiresAt);
    else this.log.info({ username, reason: result.reason }, 'login refused');
    return result;
  }

  /** Forget cached logins: after a password change, a disabled user or robot, a new role. */
  forgetLogins(): void {
    this.cache.clear();
    this.activeUsers.clear();
    this.robots?.forget();
    for (const listener of this.forgetListeners) listener();
  }

  /** Told after each `forgetLogins()`, so other nodes forget theirs too. */
  onForgetLogins(listener: () => void): void {
    this.forgetListeners.push(listener);
  }

  /**
   * Whether a registry token's subject may still use it: a robot's tokens stop working as soon
   * as it is disabled, deleted or expired, not when they expire.
   */
  /** The cached answer of `tokenSubjectActive` for users, when there is a fresh one. */
  knownActiveUser(subject: string): boolean | undefined {
    if (subject.startsWith(robotPrefix)) return undefined;
    const known = this.activeUsers.get(subject);
    return known && known.until > this.clock.now() ? known.active : undefined;
  }

  async tokenSubjectActive(subject: string): Promise<boolean> {
    if (subject.startsWith(robotPrefix)) return (await this.robots?.active(subject)) ?? false;
    // Users too: a deleted or disabled user's tokens stop at once on this node (within
    // `activeUserMs` on others), not when they expire.
    const now = this.clock.now();
    const known = this.activeUsers.get(subject);
    if (known && known.until > now) return known.active;
    const user = await this.db.users.findByUsername(subject);
    const active = user !== undefined && user.disabled === 0;
    if (this.activeUsers.size > 10_000) this.activeUsers.clear();
    this.activeUsers.set(subject, { active, until: now + activeUserMs });
    return active;
  }

  async callerFor(user: UserRow): Promise<Caller> {
    return {
      kind: 'user',
      id: Number(user.id),
      name: user.username,
      sysadmin: user.sysadmin === 1,
      groupIds: await this.db.users.groupIds(Number(user.id)),
      source: user.source,
    };
  }

  private async loginRobot(name: string, secret: string): Promise<LoginResult> {
    const robot = await this.robots?.verify(name, secret);
    return robot
      ? { ok: true, caller: robot.caller, expiresAt: robot.expiresAt }
      : { ok: false, reason: 'invalid' };
  }

  private async loginUser(username: string, password: string): Promise<LoginResult> {
    const now = this.clock.now();
    const user = await this.db.users.findByUsername(username);
    // Refusals for a known account cost an argon2 verification too, so that neither timing nor
    // the answer (always the same to clients) tells which names exist.
    if (user && user.disabled === 1) return this.refuse('disabled', password);
    if (user && Number(user.locked_until) > now) return this.refuse('locked', password);
    const verified = await this.verify(user, username, password);
    if (!verified) {
      if (user) {
        const failures = await this.db.users.recordFailedLogin(
          Number(user.id),
          this.maxFailures,
          now + this.lockMs,
          now,
        );
        if (failures >= this.maxFailures)
          this.log.warn({ username: user.username, failures }, 'account locked after repeated failed logins');
      }
      return { ok: false, reason: 'invalid' };
    }
    if (Number(verified.failed_logins) > 0 || Number(verified.locked_until) > 0)
      await this.db.users.resetFailedLogins(Number(verified.id));
    return { ok: true, caller: await this.callerFor(verified) };
  }

  private async refuse(reason: 'disabled' | 'locked', password: string): Promise<LoginResult> {
    await verifyPassword(await decoyHash(), password);
    return { ok: false, reason };
  }

  /** The user whose credentials these are, or undefined. */
  private async verify(
    user: UserRow | undefined,
    username: string,
    password: string,
  ): Promise<UserRow | undefined> {
    if (user?.source === 'local' && user.password_hash) {
      return (await verifyPassword(user.password_hash, password)) ? user : undefined;
    }
    if (user?.source === 'oidc') {
      // A CLI secret is high-entropy and compared in constant time; the decoy hash keeps an OIDC
      // user's login as slow as a local one's.
      await verifyPassword(await decoyHash(), password);
      if (!user.cli_secret) return undefined;
      return secretsEqual(this.secrets.open(user.cli_secret), password) ? user : undefined;
    }
    const directory = await this.directory();
    if (directory && (user === undefined || user.source === 'ldap'))
      return directory.login(username, password, user);
    // Unknown user: spend the same time as a real check so timing does not reveal who exists.
    await verifyPassword(await decoyHash(), password);
    return undefined;
  }
}
