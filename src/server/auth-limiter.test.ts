/**
 * @module server/auth-limiter.test
 *
 * `smtp-max-auth-failure-rate` on fake time: when a client address gets
 * blocked and unblocked, how the tarpit delay grows, per-/64 counting for
 * IPv6, and that memory stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import { AuthFailureLimiter, DEFAULT_AUTH_FAILURE_RATE, limiterKey } from './auth-limiter.js';

const MIN = 60_000;

test('1/min: one failure, then blocked until a minute has passed', () => {
  const clock = new FakeClock();
  const lim = new AuthFailureLimiter({ count: 1, perMs: MIN }, clock);
  assert.equal(lim.isBlocked('192.0.2.1'), false);
  lim.recordFailure('192.0.2.1');
  assert.equal(lim.isBlocked('192.0.2.1'), true);
  assert.equal(lim.isBlocked('192.0.2.2'), false, 'other addresses are not affected');
  clock.advance(MIN - 1);
  assert.equal(lim.isBlocked('192.0.2.1'), true);
  clock.advance(1);
  assert.equal(lim.isBlocked('192.0.2.1'), false);
});

test('5/min: a burst of five failures, then one more every 12 seconds', () => {
  const clock = new FakeClock();
  const lim = new AuthFailureLimiter({ count: 5, perMs: MIN }, clock);
  for (let i = 0; i < 4; i++) lim.recordFailure('198.51.100.7');
  assert.equal(lim.isBlocked('198.51.100.7'), false);
  lim.recordFailure('198.51.100.7');
  assert.equal(lim.isBlocked('198.51.100.7'), true);
  clock.advance(12_000);
  assert.equal(lim.isBlocked('198.51.100.7'), false);
  lim.recordFailure('198.51.100.7');
  assert.equal(lim.isBlocked('198.51.100.7'), true);
});

test('the default when nothing is configured is 5/min', () => {
  assert.deepEqual(DEFAULT_AUTH_FAILURE_RATE, { count: 5, perMs: MIN });
});

test('0 (as the config reads it: 0/h) blocks after the first failure for an hour; unlimited never blocks', () => {
  const clock = new FakeClock();
  const zero = new AuthFailureLimiter({ count: 0, perMs: 60 * MIN }, clock);
  assert.equal(zero.isBlocked('192.0.2.9'), false, 'a first attempt is always allowed');
  zero.recordFailure('192.0.2.9');
  assert.equal(zero.isBlocked('192.0.2.9'), true);
  clock.advance(59 * MIN);
  assert.equal(zero.isBlocked('192.0.2.9'), true);
  clock.advance(MIN);
  assert.equal(zero.isBlocked('192.0.2.9'), false);

  const open = new AuthFailureLimiter('unlimited', clock);
  for (let i = 0; i < 100; i++) open.recordFailure('192.0.2.9');
  assert.equal(open.isBlocked('192.0.2.9'), false);
  assert.equal(open.delayMs('192.0.2.9'), 15_000, 'the tarpit still applies');
});

test('the delay doubles with each failure in a row, is capped, and resets on success or after a quiet period', () => {
  const clock = new FakeClock();
  const lim = new AuthFailureLimiter({ count: 100, perMs: MIN }, clock, { baseDelayMs: 500, maxDelayMs: 4000 });
  assert.equal(lim.delayMs('203.0.113.5'), 0);
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    lim.recordFailure('203.0.113.5');
    seen.push(lim.delayMs('203.0.113.5'));
  }
  assert.deepEqual(seen, [500, 1000, 2000, 4000, 4000, 4000]);
  lim.recordSuccess('203.0.113.5');
  assert.equal(lim.delayMs('203.0.113.5'), 0);
  lim.recordFailure('203.0.113.5');
  assert.equal(lim.delayMs('203.0.113.5'), 500);
  lim.recordFailure('203.0.113.5');
  clock.advance(MIN);
  assert.equal(lim.delayMs('203.0.113.5'), 0, 'a quiet period as long as the rate window ends the streak');
  lim.recordFailure('203.0.113.5');
  assert.equal(lim.delayMs('203.0.113.5'), 500);
});

test('IPv6 clients are counted per /64; IPv4-mapped addresses as IPv4', () => {
  assert.equal(limiterKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(limiterKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(limiterKey('::ffff:192.0.2.1'), '192.0.2.1');
  const clock = new FakeClock();
  const lim = new AuthFailureLimiter({ count: 1, perMs: MIN }, clock);
  lim.recordFailure('2001:db8:1:2::dead');
  assert.equal(lim.isBlocked('2001:db8:1:2:ffff:ffff:ffff:ffff'), true, 'same /64');
  assert.equal(lim.isBlocked('2001:db8:1:3::dead'), false, 'another /64');
  lim.recordFailure('::ffff:192.0.2.1');
  assert.equal(lim.isBlocked('192.0.2.1'), true);
});

test('memory stays bounded: idle addresses are pruned, and the oldest go first beyond the cap', () => {
  const clock = new FakeClock();
  const lim = new AuthFailureLimiter({ count: 3, perMs: MIN }, clock, { maxEntries: 1000 });
  for (let i = 0; i < 5000; i++) lim.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(lim.size, 1000);
  assert.equal(lim.delayMs('10.0.0.0'), 0, 'the oldest were forgotten');
  assert.ok(lim.delayMs('10.0.19.135') > 0, 'the newest are kept'); // i = 4999
  clock.advance(MIN);
  lim.prune();
  assert.equal(lim.size, 0);
  // Steady traffic from new addresses over time does not accumulate either.
  for (let i = 0; i < 3000; i++) {
    lim.recordFailure(`172.16.${(i >> 8) & 255}.${i & 255}`);
    clock.advance(1000);
  }
  assert.ok(lim.size <= 70, `tracked ${lim.size}`);
});
