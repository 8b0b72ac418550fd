/**
 * `bcc-upon-delivery`: a message delivered to a domain with the directive is
 * copied, once, to the BCC address — body as received, from the null
 * sender — over real SMTP to a sink; other domains are not copied, a failed
 * delivery is not copied, and a copy is never copied again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, submit, until } from './helpers.js';
import { startDeliveryRig } from './rig.js';

test('delivered mail to a bcc-upon-delivery domain is copied once to the archive; other mail is not', async () => {
  const rig = await startDeliveryRig({
    domains: ['watched.example.test', 'plain.example.test', 'archive.example.test'],
    config: `
<domain watched.example.test>
    bcc-upon-delivery archive@archive.example.test
    max-rcpt-per-transaction 1
</domain>
<domain archive.example.test>
    # Copies of copies would loop: never made.
    bcc-upon-delivery archive@archive.example.test
</domain>`,
  });
  const { sink, out, petrel: p } = rig;
  try {
    const archived = (): typeof sink.messages => sink.messages.filter((m) => m.recipients.some((r) => r.address === 'archive@archive.example.test'));
    const m = await submit(p.port, 's@petrel.test', ['a@watched.example.test', 'b@watched.example.test', '550-gone@watched.example.test', 'c@plain.example.test'], { subject: 'quarterly report' });
    for (const rid of m.rids) await out.outcome(rid);
    await until('the copy', () => archived()[0]);
    await sleep(500); // time for a second copy, or a copy of the copy, to show up if one were made
    const copies = archived();
    assert.equal(copies.length, 1, 'one copy for the two delivered recipients of the watched domain (sent in two transactions), none for plain.example.test, none of the copy');
    assert.equal(copies[0]!.from, '', 'from the null sender');
    const original = sink.messages.find((x) => x.recipients.some((r) => r.address === 'a@watched.example.test'))!;
    assert.match(copies[0]!.body.toString('latin1'), /^Subject: quarterly report\r$/m);
    assert.ok(copies[0]!.body.toString('latin1').includes('Hello from the delivery suite.'), 'the body as received');
    assert.ok(original, 'the original was delivered');
  } finally {
    await rig.stop();
  }
});
