import { randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.ts';
import { LruCache } from '../lib/lru-cache.ts';

/**
 * Short-lived, one-shot entries keyed by a random id that lives in a browser cookie: a login
 * under way at the OpenID Provider, or an identity waiting to be onboarded. `take` removes
 * the entry, so a replayed callback finds nothing.
 */
export class OidcPending<T> {
  private readonly entries: LruCache<string, { value: T; until: number }>;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    capacity = 10_000,
  ) {
    this.entries = new LruCache(capacity, () => 1);
  }

  /** Stores `value`; returns the id for the cookie. */
  put(value: T): string {
    const id = randomBytes(24).toString('base64url');
    this.entries.set(id, { value, until: this.clock.now() + this.ttlMs });
    return id;
  }

  take(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    return entry.until > this.clock.now() ? entry.value : undefined;
  }

  /** The entry, left in place (an onboarding form may be submitted again after a refusal). */
  peek(id: string): T | undefined {
    const entry = this.entries.get(id);
    return entry && entry.until > this.clock.now() ? entry.value : undefined;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}
