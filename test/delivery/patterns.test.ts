/**
 * `<smtp-pattern-list>` rules reacting to remote replies: `mode=backoff`
 * (with `backoff-to-normal-after=`), `bounce-rcpt`, `bounce-queue`,
 * `defer-queue` — as the queue manager applies them, seen in the spool's
 * events and the queue's runtime state.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import type { SpoolEvent } from '../../src/spool/types.js';

let dns: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;
const events: SpoolEvent[] = [];

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  sink = await SmtpSink.start({ host: '127.0.0.2', port });
  dns.set('mx.isp.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of ['busy.example.test', 'full.example.test', 'blocked.example.test', 'slowdown.example.test']) {
    dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.isp.example.test' }]);
  }
  petrel = await startPetrel(
    `
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<smtp-pattern-list isp-rules>
    reply /mailbox busy/ mode=backoff backoff-to-normal-after=1s
    reply /mailbox full/ bounce-rcpt
    reply /address rejected/ bounce-queue
    reply /temporary failure after data/ defer-queue
</smtp-pattern-list>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    smtp-pattern-list isp-rules
    retry-after 1h
    retry-recipients-after 1h
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  petrel.mta.spool.observe((e) => events.push(e));
});

after(async () => {
  await petrel?.stop();
  await sink?.stop();
  await dns?.stop();
});

async function submit(rcpts: string[]): Promise<string> {
  const c = await SmtpTestClient.connect(petrel.port);
  await c.read();
  await c.cmd('EHLO x');
  await c.cmd('MAIL FROM:<s@petrel.test>');
  for (const r of rcpts) await c.cmd(`RCPT TO:<${r}>`);
  await c.cmd('DATA');
  c.write('Subject: patterns\r\n\r\nx\r\n.\r\n');
  const id = /queued as (\S+)/.exec((await c.read())!.lines[0]!)![1]!;
  c.close();
  return id;
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const outcome = (id: string, type: SpoolEvent['type']): number => events.filter((e) => 'messageId' in e && e.messageId === id && e.type === type).length;

test('mode=backoff puts the queue in backoff, and backoff-to-normal-after brings it back', async () => {
  const id = await submit(['450-x@busy.example.test']);
  await until(() => outcome(id, 'deferred') === 1, 'the deferral');
  const q = 'busy.example.test/{default}';
  assert.equal(petrel.mta.queues!.runtime(q)!.mode, 'backoff');
  await until(() => petrel.mta.queues!.runtime(q)!.mode === 'normal', 'the return to normal mode', 5000);
});

test('bounce-rcpt turns a 4xx into a bounce', async () => {
  const id = await submit(['452-x@full.example.test']);
  await until(() => outcome(id, 'bounced') === 1, 'the bounce');
  assert.equal(outcome(id, 'deferred'), 0);
});

test('bounce-queue bounces every queued recipient of the queue', async () => {
  const q = 'blocked.example.test/{default}';
  await petrel.mta.spool.pauseQueue(q);
  const a = await submit(['450-later@blocked.example.test']);
  const b = await submit(['554-rejected@blocked.example.test']);
  await petrel.mta.spool.resumeQueue(q);
  await until(() => outcome(a, 'bounced') + outcome(b, 'bounced') === 2, 'both bounced');
});

test('defer-queue keeps the queue from being tried again before its retry time', async () => {
  const id = await submit(['data451-x@slowdown.example.test']);
  await until(() => outcome(id, 'deferred') === 1, 'the deferral');
  const q = 'slowdown.example.test/{default}';
  await until(() => /deferred by smtp-pattern-list/.test(petrel.mta.queues!.runtime(q)?.limitedBy ?? '') || petrel.mta.queues!.runtime(q)?.deferredUntil !== undefined, 'the queue deferral');
  assert.ok(petrel.mta.queues!.runtime(q)!.deferredUntil! > Date.now() + 30 * 60_000, 'until its retry-after (1h)');
  // Even a new message for that queue waits.
  const later = await submit(['accept-new@slowdown.example.test']);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(outcome(later, 'delivered'), 0);
});
