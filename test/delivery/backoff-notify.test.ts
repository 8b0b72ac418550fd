/**
 * `backoff-notify`: the operator is mailed when a queue enters backoff (with
 * the reply and rule that caused it) and when it returns to normal, through
 * Petrel's own queue to a real SMTP sink; queues without the directive stay
 * silent, and notices about one queue are spaced (held changes are reported
 * once, at the end of the window).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink, type ReceivedMessage } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { composeBackoffNotice } from '../../src/queue/backoff-notify.js';
import { Outcomes, submit, until } from './helpers.js';

let dns: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;
let out: Outcomes;
// Long enough that a notice's trip through the queue to the sink never outlasts it on a loaded machine.
const WINDOW_MS = 5000;
const Q = 'busy.example.test/{default}';

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  sink = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.isp.example.test' });
  dns.set('mx.isp.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of ['busy.example.test', 'quiet.example.test', 'ops.example.test']) dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.isp.example.test' }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
postmaster postmaster@petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<smtp-pattern-list isp-rules>
    reply /mailbox busy/ mode=backoff
</smtp-pattern-list>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain busy.example.test>
    backoff-notify ops@ops.example.test,noc@ops.example.test
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    smtp-pattern-list isp-rules
    retry-after 1h
</domain>
`,
    { noDelivery: false, queueTickMs: 100, backoffNotifyIntervalMs: WINDOW_MS },
  );
  out = new Outcomes(petrel);
});

after(async () => {
  await petrel?.stop(500);
  await sink?.stop();
  await dns?.stop();
});

const notices = (): ReceivedMessage[] => sink.messages.filter((m) => /^X-Petrel-Queue:/m.test(m.body.toString('latin1')));
const subject = (m: ReceivedMessage): string => /^Subject: (.*)$/m.exec(m.body.toString('latin1'))?.[1]?.trim() ?? '';

test('a queue entering backoff mails its backoff-notify addresses, from the null sender, with the reply and rule that caused it', async () => {
  const quiet = await submit(petrel.port, 's@petrel.test', ['450-x@quiet.example.test']);
  assert.equal((await out.outcome(quiet.rids[0]!)).type, 'deferred');
  const m = await submit(petrel.port, 's@petrel.test', ['450-x@busy.example.test']);
  assert.equal((await out.outcome(m.rids[0]!)).type, 'deferred');
  assert.equal(petrel.mta.queues!.runtime(Q)!.mode, 'backoff');
  await until('the notice', () => notices()[0]);
  const [notice] = notices();
  assert.equal(notice!.from, '', 'null sender: an undeliverable notice never bounces');
  assert.deepEqual(notice!.recipients.map((r) => r.address).sort(), ['noc@ops.example.test', 'ops@ops.example.test']);
  assert.equal(subject(notice!), '[petrel] queue busy.example.test/{default} entered backoff mode');
  const text = notice!.body.toString('latin1');
  assert.match(text, /^Why: the reply "450 4\.2\.0 Mailbox busy" matched smtp-pattern-list rule \/mailbox busy\/ mode=backoff/m);
  assert.match(text, /petrel set queue --mode=normal busy\.example\.test\/\{default\}/);
  assert.match(text, /^Auto-Submitted: auto-generated/m);
  assert.equal(petrel.mta.queues!.runtime('quiet.example.test/{default}')!.mode, 'backoff', 'the other queue is in backoff too');
  assert.ok(!notices().some((n) => /quiet/.test(subject(n))), 'but it has no backoff-notify: no notice');
});

test('the return to normal inside the window is held, then reported once when the window ends', async () => {
  const before = notices().length;
  petrel.mta.queues!.setMode(Q, 'normal');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(notices().length, before, 'held: the last notice is less than the window old');
  await until('the held notice', () => notices()[before], WINDOW_MS + 10_000);
  const n = notices()[before]!;
  assert.equal(subject(n), '[petrel] queue busy.example.test/{default} is back in normal mode');
  assert.match(n.body.toString('latin1'), /^Why: set by an operator/m);
});

test('a queue that flaps back to the mode last reported within the window sends nothing more', async () => {
  await new Promise((r) => setTimeout(r, WINDOW_MS + 200)); // past the window of the last notice
  const before = notices().length;
  petrel.mta.queues!.setMode(Q, 'backoff'); // outside the window: sent at once
  await until('the backoff notice', () => notices()[before]);
  petrel.mta.queues!.setMode(Q, 'normal'); // held
  petrel.mta.queues!.setMode(Q, 'backoff'); // back to what was reported
  await new Promise((r) => setTimeout(r, WINDOW_MS + 1000));
  assert.equal(notices().length, before + 1, 'only the first change was mailed');
});

test('a hostile queue name or reply cannot add header lines to the notice', () => {
  const msg = composeBackoffNotice({
    queue: 'evil.example\r\nBcc: victim@example.org/{default}',
    mode: 'backoff',
    why: '421 too fast\r\n.\r\nMAIL FROM:<x>',
    changes: 1,
    hostname: 'relay.petrel.test',
    from: 'postmaster@petrel.test',
    to: ['ops@ops.example.test'],
    date: new Date(0),
    messageId: '<x@relay.petrel.test>',
  }).toString('latin1');
  const head = msg.slice(0, msg.indexOf('\r\n\r\n'));
  assert.ok(!/^Bcc:/im.test(head), head);
  assert.ok(!/\r\n\.\r\n/.test(msg), 'no line holding a lone dot');
  assert.ok(!/[^\r]\n|\r[^\n]/.test(msg), 'bare CR or LF');
});
