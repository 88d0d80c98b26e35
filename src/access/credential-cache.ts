import { hash, randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.ts';
import { LruCache } from '../lib/lru-cache.ts';

/**
 * Recently verified credentials, so a client sending Basic auth (or a token) on every request
 * costs one hash, not an argon2 verification or a signature check. Keyed by SHA-256 over a
 * random per-process key and the length-prefixed parts: the cache never holds a secret, and its
 * keys are useless elsewhere. (One-shot `crypto.hash` over key ‖ parts costs a fifth of an
 * HMAC object; the digests never leave the process, so length extension gives nothing.)
 */
export class CredentialCache<T> {
  private readonly key = randomBytes(32).toString('base64');
  private readonly entries: LruCache<string, { value: T; until: number }>;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    capacity = 10_000,
  ) {
    this.entries = new LruCache(capacity, () => 1);
  }

  private keyOf(...parts: string[]): string {
    let input = this.key;
    for (const part of parts) input += `\0${part.length}:${part}`;
    return hash('sha256', input, 'base64');
  }

  get(...parts: string[]): T | undefined {
    const key = this.keyOf(...parts);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` until `ttlMs` from now, or `until` if that is sooner. */
  set(value: T, parts: string[], until?: number): void {
    const limit = this.clock.now() + this.ttlMs;
    this.entries.set(this.keyOf(...parts), {
      value,
      until: until === undefined ? limit : Math.min(limit, until),
    });
  }

  clear(): void {
    this.entries.clear();
  }
}
