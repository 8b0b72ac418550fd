/**
 * @module util/clock
 *
 * The one source of "now" for code that reasons about time (retry, expiry,
 * throttles, the spool's arrival times), so tests can run on fake time.
 *
 * Exports:
 * - `Clock`        — `{ now(): number }`, milliseconds since the Unix epoch.
 * - `systemClock`  — the real clock (`Date.now()`).
 * - `FakeClock`    — a manual clock for tests: `now()` returns the set time,
 *                    `advance(ms)` moves it forward, `set(ms)` jumps.
 *
 * Contract: a `Clock` never throws; `FakeClock` never goes backwards through
 * `advance` (a negative step is an error), only through an explicit `set`.
 */

/** A source of wall-clock time in milliseconds since the Unix epoch. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
});

/** A clock that moves only when told to; for tests. */
export class FakeClock implements Clock {
  #now: number;

  constructor(startMs: number = Date.UTC(2024, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` (≥ 0) and returns the new time. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: step must be >= 0, got ${ms}`);
    this.#now += ms;
    return this.#now;
  }

  /** Sets the time outright (may go backwards: tests of clock skew). */
  set(ms: number): void {
    this.#now = ms;
  }
}
