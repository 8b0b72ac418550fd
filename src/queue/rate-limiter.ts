/**
 * @module queue/rate-limiter
 *
 * `max-msg-rate` / `max-connect-rate` / `max-data-volume-rate` (and their `backoff-` forms) as token
 * buckets: `N/period` allows N events per period, refilled smoothly, with a
 * burst of at most N. `unlimited` never limits; a rate of 0 never allows.
 * Time comes from the caller's clock so tests run on fake time.
 *
 * Exports: `RateLimiter`.
 */
import type { RateValue } from '../config/types.js';
import type { Clock } from '../util/clock.js';

export class RateLimiter {
  #tokens: number;
  #at: number;

  constructor(
    private rate: RateValue,
    private readonly clock: Clock,
  ) {
    this.#tokens = rate === 'unlimited' ? Infinity : rate.count;
    this.#at = clock.now();
  }

  /** Changes the rate (reload, backoff mode), keeping the tokens in hand within the new burst. */
  setRate(rate: RateValue): void {
    this.#refill();
    this.rate = rate;
    this.#tokens = rate === 'unlimited' ? Infinity : Math.min(this.#tokens, rate.count);
  }

  #refill(): void {
    const r = this.rate;
    const now = this.clock.now();
    if (r === 'unlimited') {
      this.#tokens = Infinity;
    } else if (r.count > 0 && now > this.#at) {
      this.#tokens = Math.min(r.count, this.#tokens + ((now - this.#at) * r.count) / r.perMs);
    }
    this.#at = now;
  }

  /** Takes `n` tokens if available now. */
  tryTake(n = 1): boolean {
    this.#refill();
    if (this.#tokens + 1e-9 >= n) {
      this.#tokens -= n;
      return true;
    }
    return false;
  }

  /**
   * Takes `n` tokens even if fewer are there, leaving a debt that the refill
   * pays off first: byte rates, where one message may be larger than the
   * whole burst and must still be sendable.
   */
  spend(n: number): void {
    this.#refill();
    if (this.#tokens !== Infinity) this.#tokens -= n;
  }

  /** How many whole events are allowed right now. */
  available(): number {
    this.#refill();
    return Math.floor(this.#tokens + 1e-9);
  }

  /** When one more token will be there (ms since epoch); Infinity for a rate of 0. */
  nextAt(): number {
    this.#refill();
    const r = this.rate;
    if (r === 'unlimited' || this.#tokens >= 1) return this.clock.now();
    if (r.count <= 0) return Infinity;
    return this.clock.now() + Math.ceil(((1 - this.#tokens) * r.perMs) / r.count);
  }
}
