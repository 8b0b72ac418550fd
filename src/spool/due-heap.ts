/**
 * @module spool/due-heap
 *
 * `DueHeap`: a binary min-heap of (due time, recipient slot) pairs kept in
 * typed arrays — 12 bytes per entry, no object per entry. Ties on due time
 * go to the lower slot.
 *
 * Entries are never removed from the middle: the owner validates what it
 * pops and discards stale entries (lazy deletion), so `size` counts stale
 * entries too.
 */

export class DueHeap {
  #due: Float64Array;
  #slot: Uint32Array;
  #n = 0;

  constructor(capacity = 8) {
    this.#due = new Float64Array(capacity);
    this.#slot = new Uint32Array(capacity);
  }

  get size(): number {
    return this.#n;
  }

  /** Bytes held by the backing arrays. */
  get bytes(): number {
    return this.#due.byteLength + this.#slot.byteLength;
  }

  push(due: number, slot: number): void {
    if (this.#n === this.#due.length) this.#grow();
    let i = this.#n++;
    const d = this.#due;
    const s = this.#slot;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p]! < due || (d[p] === due && s[p]! <= slot)) break;
      d[i] = d[p]!;
      s[i] = s[p]!;
      i = p;
    }
    d[i] = due;
    s[i] = slot;
  }

  /** Due time of the top entry, or +Infinity when empty. */
  peekDue(): number {
    return this.#n > 0 ? this.#due[0]! : Number.POSITIVE_INFINITY;
  }

  peekSlot(): number {
    return this.#slot[0]!;
  }

  /** Removes the top entry (call only when size > 0). */
  pop(): void {
    const d = this.#due;
    const s = this.#slot;
    const n = --this.#n;
    if (n === 0) return;
    const due = d[n]!;
    const slot = s[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (d[c + 1]! < d[c]! || (d[c + 1] === d[c] && s[c + 1]! < s[c]!))) c++;
      if (due < d[c]! || (due === d[c] && slot <= s[c]!)) break;
      d[i] = d[c]!;
      s[i] = s[c]!;
      i = c;
    }
    d[i] = due;
    s[i] = slot;
  }

  /** Visits every entry (including stale ones), in no particular order. */
  forEach(fn: (due: number, slot: number) => void): void {
    for (let i = 0; i < this.#n; i++) fn(this.#due[i]!, this.#slot[i]!);
  }

  clear(): void {
    this.#n = 0;
    if (this.#due.length > 64) {
      this.#due = new Float64Array(8);
      this.#slot = new Uint32Array(8);
    }
  }

  /** Drops entries for which `keep` is false, then restores the heap order. */
  compact(keep: (due: number, slot: number) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.#n; r++) {
      if (keep(this.#due[r]!, this.#slot[r]!)) {
        this.#due[w] = this.#due[r]!;
        this.#slot[w] = this.#slot[r]!;
        w++;
      }
    }
    const due = this.#due.slice(0, w);
    const slot = this.#slot.slice(0, w);
    this.#n = 0;
    for (let i = 0; i < w; i++) this.push(due[i]!, slot[i]!);
  }

  #grow(): void {
    const cap = Math.max(8, this.#due.length * 2);
    const d = new Float64Array(cap);
    d.set(this.#due);
    const s = new Uint32Array(cap);
    s.set(this.#slot);
    this.#due = d;
    this.#slot = s;
  }
}
