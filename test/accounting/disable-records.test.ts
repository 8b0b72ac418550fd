/**
 * `disable-acct-records`: a queue can leave chosen record types out of the
 * accounting file (PowerMTA's `disable-acct-records d,b,t,tq`) while every
 * other queue is accounted in full. Real deliveries to a sink; the CSV file
 * read back as an operator would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { submit, until } from '../delivery/helpers.js';
import { startDeliveryRig } from '../delivery/rig.js';

test('a queue with disable-acct-records d,t writes only its bounces; other queues write d, t and b', async () => {
  const rig = await startDeliveryRig({
    domains: ['full.example.test', 'quiet.example.test'],
    config: `
<acct-file {{DIR}}/acct.csv>
    records d,b,t
</acct-file>
<domain quiet.example.test>
    disable-acct-records d,t
</domain>`,
  });
  const { sink, out, petrel: p } = rig;
  try {
    const rcpts = (d: string): string[] => [`ok@${d}`, `450-later@${d}`, `550-gone@${d}`];
    const full = await submit(p.port, 's@petrel.test', rcpts('full.example.test'));
    const quiet = await submit(p.port, 's@petrel.test', rcpts('quiet.example.test'));
    for (const rid of [...full.rids, ...quiet.rids]) await out.outcome(rid);
    const file = path.join(p.dir, 'acct.csv');
    const types = (): Map<string, string> => {
      const seen = new Map<string, string>();
      if (!fs.existsSync(file)) return seen;
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^([dbt]),.*?([0-9a-z-]+@(?:full|quiet)\.example\.test)/.exec(line);
        if (m) seen.set(m[2]!, (seen.get(m[2]!) ?? '') + m[1]);
      }
      return seen;
    };
    await until('the full queue accounted', () => (types().size >= 4 ? true : undefined));
    const seen = types();
    assert.equal(seen.get('ok@full.example.test'), 'd');
    assert.equal(seen.get('450-later@full.example.test'), 't');
    assert.equal(seen.get('550-gone@full.example.test'), 'b');
    assert.equal(seen.get('550-gone@quiet.example.test'), 'b', 'bounces of the quiet queue are still written');
    assert.equal(seen.get('ok@quiet.example.test'), undefined, 'no d record');
    assert.equal(seen.get('450-later@quiet.example.test'), undefined, 'no t record');
    const delivered = sink.messages.flatMap((m) => m.recipients.map((r) => r.address));
    assert.ok(delivered.includes('ok@quiet.example.test'), 'the mail itself was delivered');
  } finally {
    await rig.stop();
  }
});
