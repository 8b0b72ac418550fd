/**
 * @module delivery/dns-cache
 *
 * A bounded time-to-live cache on an injected `Clock` (STYLE habit 19), used
 * for DNS answers (RFC 1035 §3.2.1 TTL, RFC 2308 §5 negative caching) and
 * MTA-STS policies (RFC 8461 §5.1 max_age).
 *
 * Exports: `TtlCache<V>` — `get(key)` → `{ value, remainingMs }` or
 * undefined, `set(key, value, ttlMs)`, `delete(key)`, `clear()`, `size`.
 *
 * Invariants:
 *  - `get` never returns an entry whose expiry is at or before `clock.now()`.
 *  - The cache never holds more than `maxEntries` entries: inserting beyond
 *    that evicts the least recently used one (Map insertion order).
 *  - A TTL ≤ 0 stores nothing.
 */

import type { Clock } from '../util/clock.js';

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<V> {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #map = new Map<string, Entry<V>>();

  constructor(clock: Clock, maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError(`TtlCache: maxEntries must be >= 1, got ${maxEntries}`);
    this.#clock = clock;
    this.#max = Math.floor(maxEntries);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): { value: V; remainingMs: number } | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    const remainingMs = e.expiresAt - this.#clock.now();
    if (remainingMs <= 0) {
      this.#map.delete(key);
      return undefined;
    }
    // Refresh recency.
    this.#map.delete(key);
    this.#map.set(key, e);
    return { value: e.value, remainingMs };
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#map.delete(key);
    if (!(ttlMs > 0)) return;
    this.#map.set(key, { value, expiresAt: this.#clock.now() + ttlMs });
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
