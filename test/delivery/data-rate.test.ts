/**
 * `max-data-volume-rate`: a queue sends at most so many message bytes per
 * period — a message larger than what is left still goes (on credit), the
 * next ones wait with `limitedBy` saying why, nothing is attempted or lost —
 * and a reload that raises the rate lets them go at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep, submit, until, type Submitted } from './helpers.js';
import { startDeliveryRig } from './rig.js';

test('max-data-volume-rate 10k/h: two 6 KB messages go, the third waits; a reload to unlimited sends it', async () => {
  const rig = await startDeliveryRig({
    domains: ['volume.example.test'],
    config: `
<domain volume.example.test>
    max-data-volume-rate 10k/h
</domain>`,
  });
  const { sink, out, petrel: p } = rig;
  try {
    const q = 'volume.example.test/{default}';
    const body = `${'x'.repeat(76)}\r\n`.repeat(78); // ~6 KB
    await p.mta.spool.pauseQueue(q);
    const ms: Submitted[] = [];
    for (let i = 0; i < 3; i++) ms.push(await submit(p.port, 's@petrel.test', [`r${i}@volume.example.test`], { body }));
    await p.mta.spool.resumeQueue(q);
    await until('two delivered', () => (ms.filter((m) => out.of(m.rids[0]!).some((e) => e.type === 'delivered')).length >= 2 ? true : undefined));
    await until('limitedBy', () => (p.mta.queues!.runtime(q)?.limitedBy === 'max-data-volume-rate reached' ? true : undefined));
    await sleep(500); // several queue ticks: nothing more may go
    const delivered = ms.filter((m) => out.of(m.rids[0]!).some((e) => e.type === 'delivered'));
    assert.equal(delivered.length, 2);
    const waiting = ms.find((m) => !delivered.includes(m))!;
    const info = (await p.mta.spool.getMessage(waiting.id))!.recipients[0]!;
    assert.equal(info.state, 'queued');
    assert.equal(info.attempts, 0, 'held back, not attempted');
    assert.equal(sink.messages.length, 2);

    const file = path.join(p.dir, 'petrel.conf');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('max-data-volume-rate 10k/h', 'max-data-volume-rate unlimited'));
    assert.equal((await p.mta.reload()).ok, true);
    assert.equal((await out.outcome(waiting.rids[0]!)).type, 'delivered', 'the raised rate applies to the running queue');
  } finally {
    await rig.stop();
  }
});
