import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.ts';
import { LruCache } from '../lib/lru-cache.ts';

/** A browser's login: who, and the token its unsafe requests must echo (CSRF defence). */
export interface Session {
  userId: number;
  csrfToken: string;
}

interface StoredSession extends Session {
  createdAt: number;
  lastSeen: number;
}

export interface SessionStoreOptions {
  /** A session unused this long ends (Harbor's session_timeout, 60 minutes). */
  idleMs?: number;
  /** A session ends this long after login however busy it is. */
  maxAgeMs?: number;
  /** Sessions kept at most; past that the least recently used go first. */
  capacity?: number;
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * Browser sessions (after an OIDC login), in memory: a random id in the `sid` cookie maps to a
 * user. Kept under the id's hash, so nothing here can be replayed as a cookie. A restart ends
 * every session; the user logs in again.
 */
export class SessionStore {
  private readonly sessions: LruCache<string, StoredSession>;
  private readonly idleMs: number;
  private readonly maxAgeMs: number;

  constructor(
    private readonly clock: Clock,
    options: SessionStoreOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 60 * 60 * 1000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 60 * 60 * 1000;
    this.sessions = new LruCache(options.capacity ?? 100_000, () => 1);
  }

  /** Starts a session for the user; returns the id for the cookie (its only copy). */
  create(userId: number): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: StoredSession = {
      userId,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now,
      lastSeen: now,
    };
    this.sessions.set(hashOf(id), session);
    return { id, session: { userId, csrfToken: session.csrfToken } };
  }

  /** The live session of this id, refreshing its idle timer; undefined once expired. */
  find(id: string): Session | undefined {
    const key = hashOf(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.clock.now();
    if (now - session.lastSeen > this.idleMs || now - session.createdAt > this.maxAgeMs) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeen = now;
    return { userId: session.userId, csrfToken: session.csrfToken };
  }

  delete(id: string): void {
    this.sessions.delete(hashOf(id));
  }

  /** Seconds a new session's cookie should live (the absolute limit). */
  get cookieMaxAgeSeconds(): number {
    return Math.floor(this.maxAgeMs / 1000);
  }
}
