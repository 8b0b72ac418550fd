import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.js';
import type { LeasedMessage } from '../spool/types.js';
import { RateLimiter } from './rate-limiter.js';
import { dataRateLeaseLimit, fitDataRate, type QueueRuntime } from './runtime.js';

const H = 3_600_000;
const msg = (size: number): LeasedMessage => ({ messageId: `m${size}`, size, envelope: {} as LeasedMessage['envelope'], recipients: [] });

function runtime(bytesPerHour: number, clock: FakeClock): QueueRuntime {
  const r = new RateLimiter('unlimited', clock);
  return { sessions: 0, mode: 'normal', msgRate: r, connectRate: r, dataRate: new RateLimiter({ count: bytesPerHour, perMs: H }, clock) };
}

test('a byte budget lets messages through while it lasts, the last one on credit, and tells what did not fit', () => {
  const clock = new FakeClock(0);
  const rt = runtime(10_000, clock);
  const batch = [msg(6000), msg(6000), msg(6000)];
  const over = fitDataRate(rt, batch);
  assert.deepEqual(over, [batch[2]], 'two fit (10 KB budget: 6 KB, then 6 KB on credit), the third waits');
  assert.equal(rt.limitedBy, 'max-data-volume-rate reached');
  // A second session of the same queue, at the same moment, finds the budget spent: nothing on credit for it.
  assert.deepEqual(fitDataRate(rt, [msg(100)]).length, 1);
  assert.equal(dataRateLeaseLimit(rt, 1000), 1, 'with nothing in hand, lease one recipient at a time');
  clock.advance(H); // 10 KB refilled; 2 KB of debt repaid first
  assert.equal(dataRateLeaseLimit(rt, 1000), 2, 'about budget ÷ mean message size (8 KB ÷ ~6 KB)');
});
