import type { Clock } from './clock.ts';
import { LruCache } from './lru-cache.ts';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per key (client address): `burst` requests at once, refilled at
 * `perMinute`. Keys are bounded (least recently seen forgotten), so a flood of addresses
 * cannot grow memory; a forgotten key simply starts with a full bucket.
 */
export class RateLimiter {
  private readonly buckets = new LruCache<string, Bucket>(100_000, () => 1);

  constructor(
    private readonly clock: Clock,
    private readonly perMinute: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `key`; the seconds to wait when none is left, else 0. */
  take(key: string): number {
    const bucket = this.refilled(key);
    if (!bucket) return 0;
    const wait = this.waitFor(bucket);
    if (wait === 0) bucket.tokens -= 1;
    return wait;
  }

  /** The seconds `key` must wait before it may take a token; takes nothing. */
  waiting(key: string): number {
    // Cheap for the usual case, a key that never took a token (a client that never failed).
    if (this.perMinute <= 0 || !this.buckets.has(key)) return 0;
    const bucket = this.refilled(key);
    return bucket ? this.waitFor(bucket) : 0;
  }

  private waitFor(bucket: Bucket): number {
    return bucket.tokens < 1 ? Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute) : 0;
  }

  private refilled(key: string): Bucket | undefined {
    if (this.perMinute <= 0) return undefined;
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    const refill = ((now - bucket.updatedAt) / 60_000) * this.perMinute;
    bucket.tokens = Math.min(this.burst, bucket.tokens + refill);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
