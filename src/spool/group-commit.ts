/**
 * @module spool/group-commit
 *
 * `GroupCommitter<T, R>`: many concurrent callers, one flush at a time.
 *
 * `submit(item)` returns a promise of that item's result. Items that arrive
 * while a flush runs wait, and all of them go down together in the next
 * flush (one transaction, one fsync); then every waiter is released. With no
 * flush running, a submitted item is flushed at once — after `setImmediate`,
 * so that items submitted in the same turn of the event loop share the
 * commit, but without any timer delay: a lone writer is not penalised.
 *
 * Invariants:
 * - At most one `flush` runs at any time, and flushes run in submission order
 *   (so the log order equals the order of `submit` calls).
 * - Each item is in exactly one flush; its promise settles exactly once, with
 *   that flush's result for it or that flush's error.
 * - One flush takes at most `maxItems` items and, past the first item, at
 *   most `maxBytes` of their declared size (bounding memory per batch).
 */

interface Pending<T, R> {
  readonly item: T;
  readonly bytes: number;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

export interface GroupCommitStats {
  /** Flushes performed. */
  flushes: number;
  /** Items flushed. */
  items: number;
  /** Largest batch seen. */
  maxBatch: number;
  /** Total time spent in flushes (write + fdatasync), ms: divided by `flushes`, the mean commit latency. */
  flushMs: number;
}

export class GroupCommitter<T, R> {
  readonly #flush: (items: readonly T[]) => Promise<readonly R[]>;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  #queue: Pending<T, R>[] = [];
  #running = false;
  #scheduled = false;
  #idle: Array<() => void> = [];
  readonly stats: GroupCommitStats = { flushes: 0, items: 0, maxBatch: 0, flushMs: 0 };

  constructor(
    flush: (items: readonly T[]) => Promise<readonly R[]>,
    options: { maxItems?: number; maxBytes?: number } = {},
  ) {
    this.#flush = flush;
    this.#maxItems = options.maxItems ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Number of items waiting for a flush (not counting the one running). */
  get waiting(): number {
    return this.#queue.length;
  }

  submit(item: T, bytes = 0): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, bytes, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (!this.#running && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #kick(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#take();
        try {
          const t0 = performance.now();
          const results = await this.#flush(batch.map((p) => p.item));
          this.stats.flushMs += performance.now() - t0;
          this.stats.flushes++;
          this.stats.items += batch.length;
          if (batch.length > this.stats.maxBatch) this.stats.maxBatch = batch.length;
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i] as R);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#running = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const f of idle) f();
    }
  }

  #take(): Pending<T, R>[] {
    let n = 0;
    let bytes = 0;
    const q = this.#queue;
    while (n < q.length && n < this.#maxItems) {
      bytes += q[n]!.bytes;
      if (n > 0 && bytes > this.#maxBytes) break;
      n++;
    }
    return q.splice(0, n);
  }
}
