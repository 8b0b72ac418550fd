/**
 * @module server/auth-limiter
 *
 * `smtp-max-auth-failure-rate`: how many failed AUTH attempts a client
 * address may make before further attempts are refused, plus a growing
 * delay (tarpit) before each reply to a failed attempt.
 *
 * Exports:
 * - `AuthFailureLimiter(rate, clock, opts?)`:
 *   - `recordFailure(ip)` — one failed AUTH from `ip`;
 *   - `recordSuccess(ip)` — resets the delay streak (not the rate budget);
 *   - `isBlocked(ip)` — true while `ip` has used up its failures; the session
 *     then answers AUTH with a 4xx (454 4.7.0) without checking credentials;
 *   - `delayMs(ip)` — how long to wait before replying to the latest failure:
 *     0 before any failure, then `baseDelayMs`·2^(n−1) for the n-th failure
 *     in a row, capped at `maxDelayMs`;
 *   - `prune()`, `size` — memory housekeeping (also done automatically).
 * - `DEFAULT_AUTH_FAILURE_RATE` — 5/min, used when the table gives no default
 *   (it has none: PowerMTA's own default is not documented).
 * - `limiterKey(ip)` — the address a client is counted under.
 *
 * Model: a token bucket per address. It holds `count` tokens and refills at
 * `count` per `perMs`; a failure takes one token; the address is blocked
 * while less than one token is left. So `1/min` allows one failure, then one
 * more per minute; `5/min` allows a burst of five, then one every 12 s.
 * `0` (read by the config as 0/h) is treated as 1/h: the first failure blocks
 * the address for an hour (a first attempt is always allowed, or nobody could
 * log in). `unlimited` never blocks, but the delay still grows.
 *
 * Addresses: IPv4-mapped IPv6 counts as IPv4; other IPv6 addresses are
 * counted per /64, since one host usually owns a whole /64 and could
 * otherwise rotate addresses to escape the limit.
 *
 * Invariants:
 * - An entry whose bucket is full again and whose streak has lapsed carries
 *   no information and may be dropped at any time; `prune()` drops them.
 * - Memory is bounded: at most `maxEntries` addresses are tracked; beyond
 *   that the least recently failed address is forgotten first.
 * - All time comes from the injected `Clock`.
 */
import * as net from 'node:net';
import type { RateValue } from '../config/types.js';
import type { Clock } from '../util/clock.js';

export const DEFAULT_AUTH_FAILURE_RATE: RateValue = Object.freeze({ count: 5, perMs: 60_000 });

export interface AuthFailureLimiterOptions {
  /** Delay after the first failure (default 1000 ms). */
  readonly baseDelayMs?: number;
  /** Delay cap (default 15 000 ms). */
  readonly maxDelayMs?: number;
  /** Addresses tracked at most (default 100 000). */
  readonly maxEntries?: number;
  /** For `unlimited` rates: quiet time after which a streak is forgotten (default 10 min). */
  readonly streakResetMs?: number;
}

interface Entry {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
  /** Failures in a row, for the delay. */
  streak: number;
  lastFailure: number;
}

const EPSILON = 1e-9;

export class AuthFailureLimiter {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #unlimited: boolean;
  readonly #streakResetMs: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxEntries: number;
  /** Insertion order = least recently failed first. */
  readonly #entries = new Map<string, Entry>();

  constructor(rate: RateValue, private readonly clock: Clock, opts: AuthFailureLimiterOptions = {}) {
    this.#unlimited = rate === 'unlimited';
    const count = rate === 'unlimited' ? 0 : Math.max(1, rate.count);
    const perMs = rate === 'unlimited' ? 1 : Math.max(1, rate.perMs);
    this.#capacity = count;
    this.#refillPerMs = this.#unlimited ? 0 : count / perMs;
    this.#streakResetMs = this.#unlimited ? (opts.streakResetMs ?? 600_000) : perMs;
    this.#baseDelayMs = Math.max(0, opts.baseDelayMs ?? 1000);
    this.#maxDelayMs = Math.max(this.#baseDelayMs, opts.maxDelayMs ?? 15_000);
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 100_000);
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  recordFailure(ip: string): void {
    const key = limiterKey(ip);
    const now = this.clock.now();
    const entry = this.#entries.get(key);
    if (entry) {
      this.#refill(entry, now);
      if (this.#lapsed(entry, now)) entry.streak = 0;
      this.#entries.delete(key); // re-inserted below: most recent last
    }
    const e = entry ?? { tokens: this.#capacity, at: now, streak: 0, lastFailure: now };
    if (!this.#unlimited) e.tokens = Math.max(0, e.tokens - 1);
    e.streak++;
    e.lastFailure = now;
    this.#entries.set(key, e);
    this.#housekeep(now);
  }

  recordSuccess(ip: string): void {
    const e = this.#entries.get(limiterKey(ip));
    if (e) e.streak = 0;
  }

  isBlocked(ip: string): boolean {
    if (this.#unlimited) return false;
    const e = this.#entries.get(limiterKey(ip));
    if (!e) return false;
    this.#refill(e, this.clock.now());
    return e.tokens < 1 - EPSILON;
  }

  delayMs(ip: string): number {
    const e = this.#entries.get(limiterKey(ip));
    if (!e || e.streak === 0 || this.#lapsed(e, this.clock.now())) return 0;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(e.streak - 1, 30));
  }

  /** Drops every entry that no longer affects any answer. */
  prune(): void {
    const now = this.clock.now();
    for (const [key, e] of this.#entries) if (this.#idle(e, now)) this.#entries.delete(key);
  }

  #refill(e: Entry, now: number): void {
    if (now > e.at) e.tokens = Math.min(this.#capacity, e.tokens + (now - e.at) * this.#refillPerMs);
    e.at = now;
  }

  #lapsed(e: Entry, now: number): boolean {
    return now - e.lastFailure >= this.#streakResetMs;
  }

  #idle(e: Entry, now: number): boolean {
    this.#refill(e, now);
    return this.#lapsed(e, now) && (this.#unlimited || e.tokens >= this.#capacity - EPSILON);
  }

  /** A few idle entries from the old end on every failure, and a hard cap. */
  #housekeep(now: number): void {
    let checked = 0;
    for (const [key, e] of this.#entries) {
      if (checked++ >= 4 || !this.#idle(e, now)) break;
      this.#entries.delete(key);
    }
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}

/** The key a client address is counted under: IPv4 as is, IPv6 by its /64. */
export function limiterKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(ip)) return `${ipv6Prefix64(ip)}::/64`;
  return ip;
}

function ipv6Prefix64(ip: string): string {
  const noZone = ip.split('%')[0]!;
  const [head, tail] = noZone.includes('::') ? noZone.split('::') : [noZone, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail only affects the low 64 bits; count it as two groups.
  const rightGroups = right.flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - rightGroups.length).fill('0'), ...rightGroups];
  return groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':');
}
