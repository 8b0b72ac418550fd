import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { RateLimiter } from './rate-limiter.js';
import { isExpired, nextAttemptAt, retryInterval } from './retry.js';

const M = 60_000;
const S = { retryAfter: [10 * M, 20 * M, 60 * M], retryRecipientsAfter: 5 * M, retryAfterDnsError: M, bounceAfter: 4.5 * 24 * 60 * M, backoffRetryAfter: [2 * 60 * M] };

test('retry-after: the n-th retry waits the n-th interval, and the last one repeats', () => {
  assert.deepEqual([1, 2, 3, 4, 9].map((n) => retryInterval(n, S.retryAfter) / M), [10, 20, 60, 60, 60]);
});

test('recipients refused with 4xx, DNS errors and backoff mode use their own intervals', () => {
  const now = 1_000_000_000;
  assert.equal(nextAttemptAt(now, now, 1, 'rcpt', S) - now, 5 * M);
  assert.equal(nextAttemptAt(now, now, 1, 'dns', S) - now, M);
  assert.equal(nextAttemptAt(now, now, 2, 'transient', S) - now, 20 * M);
  assert.equal(nextAttemptAt(now, now, 2, 'transient', S, true) - now, 120 * M);
});

test('no retry is scheduled past bounce-after; expiry is exact', () => {
  const arrived = 0;
  const s = { ...S, bounceAfter: 30 * M };
  assert.equal(nextAttemptAt(25 * M, arrived, 3, 'transient', s), 30 * M, 'the last attempt happens at expiry');
  assert.equal(isExpired(30 * M - 1, arrived, s.bounceAfter), false);
  assert.equal(isExpired(30 * M, arrived, s.bounceAfter), true);
  assert.equal(isExpired(1e15, arrived, Infinity), false, 'bounce-after never');
});

test('max-msg-rate as a token bucket: burst N, then N per period, refilled smoothly', () => {
  const clock = new FakeClock(0);
  const r = new RateLimiter({ count: 6, perMs: 60 * M }, clock);
  for (let i = 0; i < 6; i++) assert.ok(r.tryTake());
  assert.equal(r.tryTake(), false);
  assert.equal(r.nextAt(), 10 * M);
  clock.advance(10 * M);
  assert.ok(r.tryTake());
  assert.equal(r.tryTake(), false);
  clock.advance(120 * M);
  assert.equal(r.available(), 6, 'the burst never exceeds N');
});

test('unlimited never limits; a rate of 0 never allows; setRate keeps tokens within the new burst', () => {
  const clock = new FakeClock(0);
  const u = new RateLimiter('unlimited', clock);
  for (let i = 0; i < 1000; i++) assert.ok(u.tryTake());
  const z = new RateLimiter({ count: 0, perMs: M }, clock);
  assert.equal(z.tryTake(), false);
  assert.equal(z.nextAt(), Infinity);
  const r = new RateLimiter({ count: 100, perMs: M }, clock);
  r.setRate({ count: 2, perMs: M });
  assert.equal(r.available(), 2);
});

test('a byte budget can be overspent by one large message; the debt is paid off before anything else goes', () => {
  const clock = new FakeClock(0);
  const r = new RateLimiter({ count: 10_000, perMs: 60 * M }, clock); // 10 KB per hour
  r.spend(25_000);
  assert.ok(r.available() <= 0, 'nothing left after a 25 KB message');
  assert.equal(r.nextAt(), Math.ceil((1 + 15_000) * 60 * M / 10_000), 'the next byte after the 15 KB debt is repaid');
  clock.advance(90 * M); // 15 KB refilled: debt repaid, nothing yet in hand
  assert.equal(r.available(), 0);
  clock.advance(60 * M);
  assert.equal(r.available(), 10_000, 'then the burst refills as usual');
  const u = new RateLimiter('unlimited', clock);
  u.spend(1e12);
  assert.equal(u.available(), Infinity);
});
