/**
 * @module spool/body-cache
 *
 * A byte-bounded LRU of recently committed message bodies, so that delivery,
 * which usually starts within a second of acceptance, does not read them back
 * from the log. Only a cache: the log is the truth, and a miss reads it.
 *
 * Exports: `BodyCache`, `RecentMap`.
 */

/** A count-bounded LRU map (recent envelopes: delivery reads them right after acceptance). */
export class RecentMap<K, V> {
  #map = new Map<K, V>();
  constructor(private readonly max = 20_000) {}
  get(k: K): V | undefined {
    return this.#map.get(k);
  }
  set(k: K, v: V): void {
    this.#map.delete(k);
    this.#map.set(k, v);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as K);
  }
  delete(k: K): void {
    this.#map.delete(k);
  }
}
export class BodyCache {
  #map = new Map<string, Buffer>();
  #bytes = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  get(id: string): Buffer | undefined {
    const b = this.#map.get(id);
    if (b) {
      // Refresh its place in the LRU order.
      this.#map.delete(id);
      this.#map.set(id, b);
    }
    return b;
  }

  set(id: string, body: Buffer): void {
    if (body.length > this.maxBytes / 8) return;
    this.delete(id);
    this.#map.set(id, body);
    this.#bytes += body.length;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= v.length;
    }
  }

  delete(id: string): void {
    const b = this.#map.get(id);
    if (b) {
      this.#map.delete(id);
      this.#bytes -= b.length;
    }
  }

  get bytes(): number {
    return this.#bytes;
  }
}
