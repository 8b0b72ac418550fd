/**
 * @module queue/runtime
 *
 * What the queue manager keeps in memory per queue — session count, mode,
 * the rate buckets, why it is held back — and the two rules that act on the
 * buckets: which rates a mode uses, and how much of a batch a byte budget
 * lets through.
 *
 * Exports: `QueueRuntime`, `newRuntime`, `applyRates`, `dataRateLeaseLimit`, `fitDataRate`.
 */
import type { LeasedMessage } from '../spool/types.js';
import type { Clock } from '../util/clock.js';
import { RateLimiter } from './rate-limiter.js';
import type { QueueSettings } from './settings.js';

/** Per-queue state kept in memory (ids and times only; see DESIGN "Queues"). */
export interface QueueRuntime {
  sessions: number;
  mode: 'normal' | 'backoff';
  readonly msgRate: RateLimiter;
  readonly connectRate: RateLimiter;
  /** `max-data-volume-rate`: tokens are message bytes. */
  readonly dataRate: RateLimiter;
  /** The settings the rates were last set from (a reload makes new ones). */
  ratesFrom?: QueueSettings;
  /** Why the queue is not sending right now, for `show queue`. */
  limitedBy?: string;
  lastError?: string;
  /** `defer-queue` from an smtp-pattern-list rule: no attempt before this time. */
  deferredUntil?: number;
  /** Pending return to normal mode (backoff-to-normal-after). */
  normalTimer?: NodeJS.Timeout;
  /** When the queue's last session started (`smtp-out-rampup-interval`). */
  lastOpenedAt?: number;
  /** Mean size of the messages sent under a byte budget (bytes, moving average). */
  meanMessageSize?: number;
}

export function newRuntime(s: QueueSettings, clock: Clock): QueueRuntime {
  return {
    sessions: 0,
    mode: 'normal',
    msgRate: new RateLimiter(s.maxMsgRate, clock),
    connectRate: new RateLimiter(s.maxConnectRate, clock),
    dataRate: new RateLimiter(s.maxDataVolumeRate, clock),
    ratesFrom: s,
  };
}

/** The rates of the queue's mode (`backoff-*` ones fall back to the normal ones). */
export function applyRates(rt: QueueRuntime, s: QueueSettings): void {
  const backoff = rt.mode === 'backoff';
  rt.msgRate.setRate(backoff ? (s.backoff.maxMsgRate ?? s.maxMsgRate) : s.maxMsgRate);
  rt.connectRate.setRate(backoff ? (s.backoff.maxConnectRate ?? s.maxConnectRate) : s.maxConnectRate);
  rt.dataRate.setRate(backoff ? (s.backoff.maxDataVolumeRate ?? s.maxDataVolumeRate) : s.maxDataVolumeRate);
  rt.ratesFrom = s;
}

/** How many recipients to lease under the byte budget: about what it lets through, at least one. */
export function dataRateLeaseLimit(rt: QueueRuntime, allowed: number): number {
  const budget = rt.dataRate.available();
  if (budget === Infinity || rt.meanMessageSize === undefined) return allowed;
  return Math.max(1, Math.min(allowed, Math.ceil(budget / Math.max(1, rt.meanMessageSize))));
}

/**
 * `max-data-volume-rate`: the batch keeps its messages, in order, while
 * bytes remain in the budget (a message larger than what is left still
 * goes, on credit, and the debt is paid first); their bytes are spent. Returns the
 * messages that did not fit (the tail of the batch), for the caller to put
 * back.
 */
export function fitDataRate(rt: QueueRuntime, batch: readonly LeasedMessage[]): LeasedMessage[] {
  let budget = rt.dataRate.available();
  if (budget === Infinity || batch.length === 0) return [];
  let kept = 0;
  let bytes = 0;
  // Checked and spent in one synchronous step: a second session of the queue sees the budget already spent
  // and keeps nothing, so at most one message at a time goes on credit.
  for (const m of batch) {
    if (budget <= 0) break;
    kept++;
    bytes += m.size;
    budget -= m.size;
    rt.meanMessageSize = rt.meanMessageSize === undefined ? m.size : rt.meanMessageSize * 0.9 + m.size * 0.1;
  }
  rt.dataRate.spend(bytes);
  const over = batch.slice(kept);
  if (over.length > 0) rt.limitedBy = 'max-data-volume-rate reached';
  return over;
}
