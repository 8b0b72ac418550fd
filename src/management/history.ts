/**
 * @module management/history
 *
 * `TrafficHistory`: per-minute traffic counters kept in memory for the last
 * 24 hours (1,440 slots by default), fed from spool events. PowerMTA's
 * monitor has only live counters; this is the history users ask for.
 *
 * Memory is fixed: one typed array of `slots` entries per series, plus one
 * per bounce/deferral category seen (at most `MAX_CATEGORIES`; any further
 * category is counted as `other`). A slot remembers which minute it holds;
 * writing to a slot whose minute is stale clears it first, so a quiet night
 * needs no timer.
 *
 * Series (recipients unless named otherwise): `received`,
 * `receivedMessages`, `bytesIn`, `delivered`, `deferred`, `bounced`,
 * `expired`, `deleted`; `bounced` and `expired` by bounce category,
 * `deferred` by category of the remote reply.
 *
 * Two sets of totals: `totals()` since start or the last `resetCounters()`
 * (`petrel reset counters`), and `lifetime()` (never reset, per VMTA; what
 * Prometheus counters are built from, since they must not go backwards).
 *
 * Exports: `TrafficHistory`, `TrafficSeries`, `TrafficTotals`, `Categorize`,
 * `SERIES`, `defaultCategorize`.
 */
import { classify } from '../bounce/classify.js';
import type { SpoolEvent } from '../spool/types.js';
import { systemClock, type Clock } from '../util/clock.js';

export const SERIES = ['received', 'receivedMessages', 'bytesIn', 'delivered', 'deferred', 'bounced', 'expired', 'deleted'] as const;
export type SeriesName = (typeof SERIES)[number];

export type TrafficTotals = Record<SeriesName, number>;

/** Categorizes a remote reply (`550 5.1.1 user unknown`) into a bounce category. */
export type Categorize = (reply: string | undefined) => string;

export const defaultCategorize: Categorize = (reply) => {
  if (!reply) return 'other';
  try {
    return classify({ diagnostic: reply }).category;
  } catch {
    return 'other';
  }
};

export interface TrafficSeries {
  /** Start of the first minute, ms since the epoch. */
  readonly start: number;
  readonly minutes: number;
  readonly series: Record<SeriesName, number[]>;
  /** Bounced + expired recipients per bounce category, per minute. */
  readonly bouncedByCategory: Record<string, number[]>;
  readonly deferredByCategory: Record<string, number[]>;
}

const MINUTE = 60_000;
export const MAX_CATEGORIES = 32;
/** Most distinct VMTA names counted separately in `lifetime()`; more become `other`. */
export const MAX_VMTAS = 256;

const emptyTotals = (): TrafficTotals => ({ received: 0, receivedMessages: 0, bytesIn: 0, delivered: 0, deferred: 0, bounced: 0, expired: 0, deleted: 0 });

export class TrafficHistory {
  readonly slots: number;
  readonly #clock: Clock;
  readonly #categorize: Categorize;
  readonly #minuteOf: Float64Array;
  readonly #data: Record<SeriesName, Float64Array>;
  readonly #bounceCat = new Map<string, Uint32Array>();
  readonly #deferCat = new Map<string, Uint32Array>();
  #totals = emptyTotals();
  #resetAt: number;
  /** vmta → series → count; bounced split by category under `bounced:CATEGORY`. */
  readonly #lifetime = new Map<string, Map<string, number>>();

  constructor(opts: { clock?: Clock; slots?: number; categorize?: Categorize } = {}) {
    this.slots = Math.max(60, Math.floor(opts.slots ?? 1440));
    this.#clock = opts.clock ?? systemClock;
    this.#categorize = opts.categorize ?? defaultCategorize;
    this.#minuteOf = new Float64Array(this.slots).fill(-1);
    this.#data = Object.fromEntries(SERIES.map((s) => [s, new Float64Array(this.slots)])) as Record<SeriesName, Float64Array>;
    this.#resetAt = this.#clock.now();
  }

  /** Counts one spool event (the spool observer). Never throws. */
  record(ev: SpoolEvent): void {
    const minute = Math.floor(this.#clock.now() / MINUTE);
    switch (ev.type) {
      case 'enqueued': {
        const vmta = ev.envelope.vmta || '{default}';
        const n = ev.envelope.recipients.length;
        this.#add('received', minute, n, vmta);
        this.#add('receivedMessages', minute, 1, vmta);
        this.#add('bytesIn', minute, ev.size, vmta);
        return;
      }
      case 'delivered':
        this.#add('delivered', minute, 1, vmtaOf(ev.queue));
        return;
      case 'deferred': {
        const cat = this.#categorize(ev.reply);
        this.#add('deferred', minute, 1, vmtaOf(ev.queue));
        this.#addCat(this.#deferCat, cat, minute);
        return;
      }
      case 'bounced':
      case 'expired': {
        const cat = ev.type === 'expired' ? 'message-expired' : this.#categorize(ev.reply);
        const vmta = vmtaOf(ev.queue);
        this.#add(ev.type, minute, 1, vmta);
        this.#addCat(this.#bounceCat, cat, minute);
        this.#bumpLifetime(vmta, `bounced:${this.#catKey(this.#bounceCat, cat)}`, 1);
        return;
      }
      case 'deleted':
        this.#add('deleted', minute, 1, vmtaOf(ev.queue));
        return;
      case 'leased':
      case 'released':
      case 'queue-paused':
      case 'queue-resumed':
        return;
      default: {
        const never: never = ev;
        void never;
      }
    }
  }

  /** The last `minutes` minutes (the current one last), at most `slots`. */
  series(minutes = 60): TrafficSeries {
    const n = Math.max(1, Math.min(this.slots, Math.floor(minutes)));
    const now = Math.floor(this.#clock.now() / MINUTE);
    const first = now - n + 1;
    const read = (arr: ArrayLike<number>): number[] => {
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const m = first + i;
        const s = m % this.slots;
        out[i] = this.#minuteOf[s] === m ? arr[s]! : 0;
      }
      return out;
    };
    const series = Object.fromEntries(SERIES.map((s) => [s, read(this.#data[s])])) as Record<SeriesName, number[]>;
    const cats = (map: Map<string, Uint32Array>): Record<string, number[]> => {
      const out: Record<string, number[]> = {};
      for (const [k, arr] of map) {
        const v = read(arr);
        if (v.some((x) => x > 0)) out[k] = v;
      }
      return out;
    };
    return { start: first * MINUTE, minutes: n, series, bouncedByCategory: cats(this.#bounceCat), deferredByCategory: cats(this.#deferCat) };
  }

  /**
   * Sums over the last `ms` (rolling): whole minutes inside the window, and
   * the oldest, partly covered minute pro rata. `window(60_000)` is PowerMTA's
   * "last minute", `window(3_600_000)` its "last hour".
   */
  window(ms: number): TrafficTotals {
    const nowMs = this.#clock.now();
    const now = Math.floor(nowMs / MINUTE);
    const full = Math.min(this.slots - 1, Math.floor(ms / MINUTE));
    const intoMinute = (nowMs - now * MINUTE) / MINUTE;
    const out = emptyTotals();
    for (let i = 0; i <= full; i++) {
      const m = now - i;
      const s = m % this.slots;
      if (this.#minuteOf[s] !== m) continue;
      // The slot `full` minutes back is only partly inside the window.
      const weight = i === full ? Math.max(0, 1 - intoMinute) : 1;
      if (weight === 0) continue;
      for (const name of SERIES) out[name] += this.#data[name][s]! * weight;
    }
    for (const name of SERIES) out[name] = Math.round(out[name]);
    return out;
  }

  /** Totals since start or the last reset. */
  totals(): { since: number } & TrafficTotals {
    return { since: this.#resetAt, ...this.#totals };
  }

  /** `reset counters`: totals start again from zero; the per-minute history and lifetime counters stay. */
  resetCounters(): void {
    this.#totals = emptyTotals();
    this.#resetAt = this.#clock.now();
  }

  /** Never-reset counts per VMTA: series names, and `bounced:CATEGORY` for bounced + expired. */
  lifetime(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.#lifetime;
  }

  /** Bounce categories seen so far (bounded by MAX_CATEGORIES). */
  bounceCategories(): string[] {
    return [...this.#bounceCat.keys()];
  }

  #slot(minute: number): number {
    const s = minute % this.slots;
    if (this.#minuteOf[s] !== minute) {
      this.#minuteOf[s] = minute;
      for (const name of SERIES) this.#data[name][s] = 0;
      for (const arr of this.#bounceCat.values()) arr[s] = 0;
      for (const arr of this.#deferCat.values()) arr[s] = 0;
    }
    return s;
  }

  #add(name: SeriesName, minute: number, n: number, vmta: string): void {
    const s = this.#slot(minute);
    this.#data[name][s]! += n;
    this.#totals[name] += n;
    this.#bumpLifetime(vmta, name, n);
  }

  #catKey(map: Map<string, Uint32Array>, cat: string): string {
    return map.has(cat) || map.size < MAX_CATEGORIES ? cat : 'other';
  }

  #addCat(map: Map<string, Uint32Array>, cat: string, minute: number): void {
    const s = this.#slot(minute);
    const key = this.#catKey(map, cat);
    let arr = map.get(key);
    if (!arr) {
      arr = new Uint32Array(this.slots);
      // Only the current slot may hold counts of this minute; older slots of a new category are zero already.
      map.set(key, arr);
    }
    arr[s]! += 1;
  }

  #bumpLifetime(vmta: string, key: string, n: number): void {
    let v = this.#lifetime.get(vmta);
    if (!v) {
      if (this.#lifetime.size >= MAX_VMTAS) {
        vmta = 'other';
        v = this.#lifetime.get(vmta);
      }
      if (!v) this.#lifetime.set(vmta, (v = new Map()));
    }
    v.set(key, (v.get(key) ?? 0) + n);
  }
}

function vmtaOf(queue: string): string {
  const slash = queue.lastIndexOf('/');
  return slash >= 0 ? queue.slice(slash + 1) : '{default}';
}
