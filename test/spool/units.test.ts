/**
 * Unit tests of the spool's building blocks: ids, the group committer, the
 * due-time heap, and the error table (kept equal to docs/spool.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DueHeap } from '../../src/spool/due-heap.js';
import { SPOOL_ERROR_CODES, SpoolError, isSpoolError } from '../../src/spool/errors.js';
import { GroupCommitter } from '../../src/spool/group-commit.js';
import { MESSAGE_ID_RE, MessageIdGenerator, formatMessageId, parseMessageId, parseRecipientId } from '../../src/spool/ids.js';
import { FakeClock } from '../../src/util/clock.js';
import { rng } from './helpers.js';

describe('message ids', () => {
  it('round-trip, sort like their numbers, and never repeat even if the clock steps back', () => {
    const gen = new MessageIdGenerator();
    const t = Date.UTC(2030, 0, 1);
    const nums = [gen.next(t), gen.next(t), gen.next(t - 5000), gen.next(t + 1)];
    const ids = nums.map(formatMessageId);
    for (const id of ids) assert.match(id, MESSAGE_ID_RE);
    assert.deepEqual(ids.map(parseMessageId), nums);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(parseMessageId('0000000000I'), undefined);
    assert.deepEqual(parseRecipientId(`${ids[0]}.12`), { messageId: ids[0], index: 12 });
    assert.equal(parseRecipientId('nope.1'), undefined);
  });

  it('start above every id already stored', () => {
    const gen = new MessageIdGenerator();
    gen.observe(Date.UTC(2040, 0, 1) * 2048);
    assert.ok(gen.next(Date.UTC(2030, 0, 1)) > Date.UTC(2040, 0, 1) * 2048);
  });
});

describe('GroupCommitter', () => {
  it('flushes everything that arrived during a flush together, in order, one flush at a time', async () => {
    const batches: number[][] = [];
    let running = 0;
    const gc = new GroupCommitter<number, number>(async (items) => {
      assert.equal(++running, 1, 'two flushes at once');
      batches.push([...items]);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return items.map((i) => i * 10);
    });
    const first = gc.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 50 }, (_, i) => gc.submit(i + 1));
    assert.deepEqual(await Promise.all([first, ...rest]), Array.from({ length: 51 }, (_, i) => i * 10));
    assert.deepEqual(batches, [[0], Array.from({ length: 50 }, (_, i) => i + 1)]);
  });

  it('rejects every waiter of a failed flush and carries on with the next', async () => {
    let fail = true;
    const gc = new GroupCommitter<string, string>(async (items) => {
      if (fail) {
        fail = false;
        throw new SpoolError('SPOOL_FULL', 'disk full');
      }
      return items;
    });
    const a = gc.submit('a');
    const b = gc.submit('b');
    await assert.rejects(a, (e) => isSpoolError(e, 'SPOOL_FULL'));
    await assert.rejects(b, (e) => isSpoolError(e, 'SPOOL_FULL'));
    assert.equal(await gc.submit('c'), 'c');
  });

  it('caps a batch by bytes', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommitter<number, number>(async (items) => (sizes.push(items.length), items), { maxBytes: 100 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i, 40)));
    assert.deepEqual(sizes, [2, 2, 2, 2, 2]);
  });
});

describe('DueHeap', () => {
  it('pops in due order (ties by slot) across growth', () => {
    const random = rng(3);
    const h = new DueHeap(2);
    const items = Array.from({ length: 500 }, (_, i) => [Math.floor(random() * 100), i] as const);
    for (const [d, s] of items) h.push(d, s);
    const out: [number, number][] = [];
    while (h.size > 0) {
      out.push([h.peekDue(), h.peekSlot()]);
      h.pop();
    }
    assert.deepEqual(out, [...items].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  });
});

describe('FakeClock', () => {
  it('moves only when told', () => {
    const c = new FakeClock(1000);
    assert.equal(c.now(), 1000);
    assert.equal(c.advance(500), 1500);
    assert.throws(() => c.advance(-1), RangeError);
  });
});

describe('spool error codes', () => {
  it('are all documented in docs/spool.md with their SMTP replies, and only those', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/spool.md', import.meta.url)), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| ([\d.]+) \|/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    const table = Object.entries(SPOOL_ERROR_CODES).map(([code, r]) => [code, r.code, r.enhanced]);
    assert.deepEqual(rows, table);
  });

  it('map environment trouble to 4xx, never 5xx', () => {
    for (const code of ['SPOOL_FULL', 'SPOOL_IO'] as const) assert.equal(Math.floor(SPOOL_ERROR_CODES[code].code / 100), 4);
  });
});

it('scheduleNow makes every queued recipient of a queue due now (retry now)', async () => {
  const { Spool } = await import('../../src/spool/spool.js');
  const os = await import('node:os');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-schedule-'));
  const clock = new FakeClock(1_000_000);
  const spool = await Spool.open({ path: dir, clock, minFreeBytes: 0 });
  try {
    const w = spool.createMessage({ mailFrom: 'a@example.test', recipients: [{ address: 'x@later.example' }, { address: 'y@later.example' }] });
    w.write(Buffer.from('Subject: t\r\n\r\nx\r\n'));
    await w.commit();
    const batch = await spool.takeBatch('later.example/{default}', 10);
    await spool.recordOutcomes(batch[0]!.recipients.map((r) => ({ recipientId: r.id, kind: 'deferred' as const, nextAttemptAt: clock.now() + 3_600_000 })));
    assert.deepEqual(spool.readyQueues(clock.now()), []);
    assert.equal(spool.scheduleNow('later.example/{default}'), 2);
    assert.deepEqual(spool.readyQueues(clock.now()), ['later.example/{default}']);
    assert.equal((await spool.takeBatch('later.example/{default}', 10))[0]!.recipients.length, 2);
    assert.equal(spool.scheduleNow('nosuch.example/{default}'), 0);
  } finally {
    await spool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
