/**
 * `retry-upon-new-mail`: new mail for a queue waiting to retry brings its
 * deferred recipients forward, so mail held while an MX was down leaves
 * with the first new message once it is back; a queue without it keeps
 * its retry schedule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, submit } from './helpers.js';

let dns: TestDnsServer;
let sink: SmtpSink | undefined;
let petrel: RunningPetrel;
let out: Outcomes;
let port: number;

before(async () => {
  dns = await TestDnsServer.start();
  port = await freePort('127.0.0.5');
  dns.set('mx.down.example.test', [{ type: 'A', address: '127.0.0.5' }]);
  for (const d of ['eager.example.test', 'patient.example.test', 'stilldown.example.test']) dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.down.example.test' }]);
  petrel = await startPetrel(
    `
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain eager.example.test>
    retry-upon-new-mail yes
</domain>
<domain stilldown.example.test>
    retry-upon-new-mail yes
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 1h
    connect-timeout 2s
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  out = new Outcomes(petrel);
});

after(async () => {
  await petrel?.stop(500);
  await sink?.stop();
  await dns?.stop();
});

test('new mail retries the deferred recipients of a queue with retry-upon-new-mail, and only of that queue', async () => {
  // The MX is down: both wait an hour.
  const heldEager = await submit(petrel.port, 's@petrel.test', ['held@eager.example.test']);
  const heldPatient = await submit(petrel.port, 's@petrel.test', ['held@patient.example.test']);
  assert.equal((await out.outcome(heldEager.rids[0]!)).type, 'deferred');
  assert.equal((await out.outcome(heldPatient.rids[0]!)).type, 'deferred');

  // The MX comes back; new mail arrives for both domains.
  sink = await SmtpSink.start({ host: '127.0.0.5', port, hostname: 'mx.down.example.test' });
  const newEager = await submit(petrel.port, 's@petrel.test', ['new@eager.example.test']);
  const newPatient = await submit(petrel.port, 's@petrel.test', ['new@patient.example.test']);
  assert.equal((await out.outcome(newEager.rids[0]!, { type: 'delivered' })).type, 'delivered');
  assert.equal((await out.outcome(newPatient.rids[0]!, { type: 'delivered' })).type, 'delivered');
  assert.equal((await out.outcome(heldEager.rids[0]!, { type: 'delivered' })).type, 'delivered', 'held mail left with the new message');

  const patient = (await petrel.mta.spool.getMessage(heldPatient.id))!.recipients[0]!;
  assert.equal(patient.state, 'queued', 'without the directive the held recipient keeps waiting');
  assert.ok(patient.nextAttemptAt! > Date.now() + 30 * 60_000, 'for its hour');
});

test('while the MX stays down, new mail retries the queue at most once a minute', async () => {
  await sink!.stop();
  sink = undefined;
  const a = await submit(petrel.port, 's@petrel.test', ['a@stilldown.example.test']);
  assert.equal((await out.outcome(a.rids[0]!)).type, 'deferred');
  // b brings a forward: both are tried, both deferred again.
  const b = await submit(petrel.port, 's@petrel.test', ['b@stilldown.example.test']);
  assert.equal((await out.outcome(b.rids[0]!)).type, 'deferred');
  assert.equal((await out.outcome(a.rids[0]!, { attempts: 2 })).type, 'deferred');
  // c, seconds later, does not: a keeps its two attempts.
  const c = await submit(petrel.port, 's@petrel.test', ['c@stilldown.example.test']);
  assert.equal((await out.outcome(c.rids[0]!)).type, 'deferred');
  const held = (await petrel.mta.spool.getMessage(a.id))!.recipients[0]!;
  assert.equal(held.attempts, 2);
  assert.ok(held.nextAttemptAt! > Date.now() + 30 * 60_000);
});
