/**
 * Unit tests of the management feeds: TrafficHistory (per-minute slots,
 * 24 h ring, rolling windows, reset, categories) and EventRing (sequence
 * numbers, filters, overwritten events), on fake time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficHistory, MAX_CATEGORIES } from '../../src/management/history.js';
import { EventRing } from '../../src/management/event-ring.js';
import { FakeClock } from '../../src/util/clock.js';
import type { SpoolEvent, StoredEnvelope } from '../../src/spool/types.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

function enq(at: number, n: number, vmta?: string): SpoolEvent {
  const envelope: StoredEnvelope = { mailFrom: 'a@b', recipients: Array.from({ length: n }, (_, i) => ({ address: `r${i}@x.test` })), arrivedAt: at, ...(vmta ? { vmta } : {}) };
  return { type: 'enqueued', at, messageId: 'M1', envelope, size: 100, queues: ['x.test/{default}'] };
}
function rcpt(type: 'delivered' | 'bounced' | 'deferred' | 'expired' | 'deleted', at: number, reply?: string, queue = 'x.test/mta1'): SpoolEvent {
  const base = { at, messageId: 'M1', recipientId: 'M1.0', queue, attempts: 1, ...(reply ? { reply } : {}) };
  return type === 'deferred' ? { ...base, type, nextAttemptAt: at + MIN } : { ...base, type };
}

test('history: counts land in the minute they happen; series has the current minute last', () => {
  const clock = new FakeClock(T0 + 5_000);
  const h = new TrafficHistory({ clock });
  h.record(enq(clock.now(), 3));
  clock.advance(MIN);
  h.record(rcpt('delivered', clock.now()));
  h.record(rcpt('delivered', clock.now()));
  const s = h.series(3);
  assert.equal(s.minutes, 3);
  assert.deepEqual(s.series.received, [0, 3, 0]);
  assert.deepEqual(s.series.delivered, [0, 0, 2]);
  assert.deepEqual(s.series.receivedMessages, [0, 1, 0]);
  assert.equal(s.start, T0 - MIN);
});

test('history: fixed memory — 24 h later a slot is reused and its old counts are gone', () => {
  const clock = new FakeClock(T0);
  const h = new TrafficHistory({ clock });
  h.record(enq(clock.now(), 7));
  assert.equal(h.series(1440).series.received.reduce((a, b) => a + b, 0), 7);
  clock.advance(1440 * MIN);
  h.record(enq(clock.now(), 2));
  const all = h.series(1440).series.received;
  assert.equal(all.length, 1440);
  assert.equal(all.reduce((a, b) => a + b, 0), 2, 'the count from 24 h ago fell out of the window');
  assert.equal(all[1439], 2);
  // Totals are not windowed.
  assert.equal(h.totals().received, 9);
});

test('history: rolling windows — last minute prorates the oldest minute, last hour sums', () => {
  const clock = new FakeClock(T0);
  const h = new TrafficHistory({ clock });
  h.record(enq(clock.now(), 10));
  clock.advance(MIN + MIN / 2); // half-way through the next minute
  h.record(enq(clock.now(), 4));
  // last 60 s: all of this minute's 4, half of the previous minute's 10.
  assert.equal(h.window(MIN).received, 9);
  assert.equal(h.window(60 * MIN).received, 14);
  clock.advance(2 * MIN);
  assert.equal(h.window(MIN).received, 0);
  assert.equal(h.window(60 * MIN).received, 14);
});

test('history: reset counters zeroes totals only; lifetime (for Prometheus) is never reset', () => {
  const clock = new FakeClock(T0);
  const h = new TrafficHistory({ clock });
  h.record(enq(clock.now(), 2, 'mta1'));
  h.record(rcpt('delivered', clock.now()));
  clock.advance(1000);
  h.resetCounters();
  assert.equal(h.totals().received, 0);
  assert.equal(h.totals().since, T0 + 1000);
  assert.equal(h.window(MIN).received, 2, 'the per-minute history stays');
  assert.equal(h.lifetime().get('mta1')?.get('received'), 2);
  assert.equal(h.lifetime().get('mta1')?.get('delivered'), 1);
});

test('history: bounces by category (classified reply), expiries as message-expired, deferrals by category', () => {
  const clock = new FakeClock(T0);
  const h = new TrafficHistory({ clock });
  h.record(rcpt('bounced', clock.now(), '550 5.1.1 <x@x.test>: user unknown'));
  h.record(rcpt('expired', clock.now(), '451 4.4.1 no answer'));
  h.record(rcpt('deferred', clock.now(), '421 4.7.0 try again later'));
  const s = h.series(1);
  assert.deepEqual(s.bouncedByCategory['bad-mailbox'], [1]);
  assert.deepEqual(s.bouncedByCategory['message-expired'], [1]);
  assert.equal(Object.values(s.deferredByCategory).flat().reduce((a, b) => a + b, 0), 1);
  assert.equal(h.lifetime().get('mta1')?.get('bounced:bad-mailbox'), 1);
  assert.equal(h.totals().bounced, 1);
  assert.equal(h.totals().expired, 1);
});

test('history: category names are bounded; extra ones count as other', () => {
  const clock = new FakeClock(T0);
  let i = 0;
  const h = new TrafficHistory({ clock, categorize: () => `custom-${i++}` });
  for (let k = 0; k < MAX_CATEGORIES + 10; k++) h.record(rcpt('bounced', clock.now(), 'x'));
  const cats = h.bounceCategories();
  assert.ok(cats.length <= MAX_CATEGORIES + 1, `${cats.length} categories`);
  assert.ok(cats.includes('other'));
  const total = Object.values(h.series(1).bouncedByCategory).flat().reduce((a, b) => a + b, 0);
  assert.equal(total, MAX_CATEGORIES + 10, 'nothing is lost');
});

test('event ring: sequence numbers, since, filters; leased/released are left out', () => {
  const ring = new EventRing({ capacity: 100 });
  ring.push(enq(T0, 1));
  ring.push({ type: 'leased', at: T0, messageId: 'M1', recipientId: 'M1.0', queue: 'x.test/mta1', attempts: 0 });
  ring.push(rcpt('deferred', T0 + 1, '451 later'));
  ring.push({ type: 'queue-paused', at: T0 + 2, queue: 'y.test/mta1' });
  assert.equal(ring.lastSeq, 3);
  const all = ring.since(0);
  assert.deepEqual(all.events.map((e) => e.type), ['enqueued', 'deferred', 'queue-paused']);
  assert.equal(all.last, 3);
  assert.equal(all.lost, false);
  assert.deepEqual(ring.since(1).events.map((e) => e.seq), [2, 3]);
  assert.deepEqual(ring.since(0, { messageId: 'M1' }).events.map((e) => e.type), ['enqueued', 'deferred']);
  assert.deepEqual(ring.since(0, { queue: 'y.test/mta1' }).events.map((e) => e.type), ['queue-paused']);
  assert.deepEqual(ring.recent({ types: ['deferred'] }, 5).map((e) => e.reply), ['451 later']);
});

test('event ring: fixed capacity; a reader that fell behind is told events were lost', () => {
  const ring = new EventRing({ capacity: 16 });
  for (let i = 0; i < 40; i++) ring.push(rcpt('delivered', T0 + i));
  const r = ring.since(0);
  assert.equal(r.events.length, 16);
  assert.equal(r.events[0]!.seq, 25);
  assert.equal(r.lost, true);
  assert.equal(ring.since(30).lost, false);
  assert.equal(ring.since(30).events.length, 10);
  // Limit and continuation.
  const page = ring.since(24, {}, 5);
  assert.deepEqual(page.events.map((e) => e.seq), [25, 26, 27, 28, 29]);
  assert.equal(page.last, 29);
});

test('event ring: long replies are cut', () => {
  const ring = new EventRing();
  ring.push(rcpt('bounced', T0, '550 ' + 'x'.repeat(5000)));
  assert.equal(ring.since(0).events[0]!.reply!.length, 500);
});
