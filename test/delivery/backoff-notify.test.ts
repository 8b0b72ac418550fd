/**
 * `backoff-notify`: the operator is mailed when a queue enters backoff (with
 * the reply and rule that caused it) and when it returns to normal, through
 * Petrel's own queue to a real SMTP sink; queues without the directive stay
 * silent, and notices about one queue are spaced (held changes are reported
 * once, at the end of the window).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReceivedMessage, SmtpSink } from '../harness/smtp-sink.js';
import type { RunningPetrel } from '../harness/petrel.js';
import { composeBackoffNotice } from '../../src/queue/backoff-notify.js';
import { submit, until, type Outcomes } from './helpers.js';
import { startDeliveryRig, type DeliveryRig } from './rig.js';

let rig: DeliveryRig;
let sink: SmtpSink;
let petrel: RunningPetrel;
let out: Outcomes;
// Long enough that a notice's trip through the queue to the sink never outlasts it on a loaded machine.
const WINDOW_MS = 5000;
const Q = 'busy.example.test/{default}';

before(async () => {
  rig = await startDeliveryRig({
    domains: ['busy.example.test', 'quiet.example.test', 'ops.example.test'],
    config: `
host-name relay.petrel.test
postmaster postmaster@petrel.test
<smtp-pattern-list isp-rules>
    reply /mailbox busy/ mode=backoff
</smtp-pattern-list>
<domain busy.example.test>
    smtp-pattern-list isp-rules
    backoff-notify ops@ops.example.test,noc@ops.example.test
</domain>
<domain quiet.example.test>
    smtp-pattern-list isp-rules
</domain>`,
    petrel: { backoffNotifyIntervalMs: WINDOW_MS },
  });
  ({ sink, petrel, out } = rig);
});

after(async () => {
  await rig?.stop();
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
