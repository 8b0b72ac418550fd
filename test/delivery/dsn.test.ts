/**
 * DSNs end to end: a recipient refused with 550 produces a bounce that
 * Petrel queues and delivers (from the null sender, through its own queue)
 * to the sender's MX, where it parses as RFC 3464; an expired message
 * produces a message-expired DSN; nothing is sent for a DSN, for the null
 * sender, or for NOTIFY=NEVER; RET=FULL returns the body.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBounce } from '../../src/bounce/parse-dsn.js';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';

let dns: TestDnsServer;
let remote: SmtpSink;
let senderMx: SmtpSink;
let petrel: RunningPetrel;

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  remote = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.remote.example.test' });
  senderMx = await SmtpSink.start({ host: '127.0.0.6', port, hostname: 'mx.origin.example.test' });
  dns.set('mx.remote.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  dns.set('remote.example.test', [{ type: 'MX', preference: 10, exchange: 'mx.remote.example.test' }]);
  dns.set('mx.origin.example.test', [{ type: 'A', address: '127.0.0.6' }]);
  dns.set('origin.example.test', [{ type: 'MX', preference: 10, exchange: 'mx.origin.example.test' }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
postmaster postmaster@petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<source 127.0.0.7>
    always-allow-relaying yes
    suppress-local-dsn yes
</source>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 1s
    bounce-after 3s
    notify-of-delay-every 1s
    retry-recipients-after 1s
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
});

after(async () => {
  await petrel?.stop();
  await remote?.stop();
  await senderMx?.stop();
  await dns?.stop();
});

async function submit(from: string, rcpt: string, extra = '', localAddress?: string): Promise<void> {
  const c = await SmtpTestClient.connect(petrel.port, '127.0.0.1', localAddress ? { localAddress } : {});
  await c.read();
  await c.cmd('EHLO submitter.test');
  assert.equal((await c.cmd(`MAIL FROM:<${from}>${from ? ' RET=HDRS ENVID=env-123' : ''}`)).code, 250);
  assert.equal((await c.cmd(`RCPT TO:<${rcpt}>${extra}`)).code, 250);
  await c.cmd('DATA');
  c.write(`From: <${from || 'mailer-daemon@x.test'}>\r\nSubject: bounce me\r\nX-Job: job-42\r\n\r\nBody text that must not come back with RET=HDRS.\r\n.\r\n`);
  assert.equal((await c.read())!.code, 250);
  c.close();
}

async function dsnFor(rcpt: string, timeoutMs = 15_000, action = 'failed'): Promise<Buffer> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = senderMx.messages.find((x) => {
      const b = x.body.toString('latin1');
      return b.includes(`Final-Recipient: rfc822; ${rcpt}`) && new RegExp(`Action: ${action}`, 'i').test(b);
    });
    if (m) {
      assert.equal(m.from, '', 'a DSN is sent from the null sender');
      return m.body;
    }
    if (Date.now() > end) throw new Error(`no DSN for ${rcpt}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a 550 at the remote MX produces an RFC 3464 DSN delivered to the sender through the queue', async () => {
  await submit('alice@origin.example.test', '550-gone@remote.example.test', ' NOTIFY=FAILURE ORCPT=rfc822;gone@remote.example.test');
  const raw = await dsnFor('550-gone@remote.example.test');
  const parsed = await parseBounce(raw);
  assert.equal(parsed.kind, 'dsn');
  assert.equal(parsed.reportingMta, 'relay.petrel.test');
  assert.equal(parsed.originalEnvelopeId, 'env-123');
  const r = parsed.recipients[0]!;
  assert.equal(r.finalRecipient, '550-gone@remote.example.test');
  assert.equal(r.action, 'failed');
  assert.equal(r.status, '5.1.1');
  assert.match(r.diagnostic ?? '', /550 5\.1\.1/);
  assert.match(r.originalRecipient ?? '', /gone@remote\.example\.test/);
  assert.equal(parsed.originalHeaders?.['x-job'], 'job-42');
  assert.doesNotMatch(raw.toString('latin1'), /must not come back/, 'RET=HDRS returns the headers only');
  assert.match(raw.toString('latin1'), /^Auto-Submitted: auto-replied/m);
});

test('an expired message produces a message-expired DSN', async () => {
  await submit('bob@origin.example.test', '450-always@remote.example.test');
  const raw = await dsnFor('450-always@remote.example.test');
  const parsed = await parseBounce(raw);
  const r = parsed.recipients[0]!;
  assert.equal(r.action, 'failed');
  assert.equal(r.status, '5.4.7');
  assert.match(r.diagnostic ?? '', /expired/);
});

test('no DSN for the null sender (a DSN about a DSN), nor for NOTIFY=NEVER', async () => {
  const before = senderMx.messages.length;
  await submit('', '550-nodsn@remote.example.test');
  await submit('carol@origin.example.test', '550-never@remote.example.test', ' NOTIFY=NEVER');
  // A control message bounces after both: when its DSN has arrived, the other two had their chance.
  await submit('dave@origin.example.test', '550-control@remote.example.test');
  await dsnFor('550-control@remote.example.test');
  const dsns = senderMx.messages.slice(before).map((m) => m.body.toString('latin1'));
  assert.ok(!dsns.some((b) => b.includes('550-nodsn@')), 'no DSN about a message from the null sender');
  assert.ok(!dsns.some((b) => b.includes('550-never@')), 'NOTIFY=NEVER is honoured');
});

test('NOTIFY=DELAY: a delayed DSN goes out per notify-of-delay-every, before the failure DSN at expiry', async () => {
  await submit('erin@origin.example.test', '450-later@remote.example.test', ' NOTIFY=DELAY,FAILURE');
  const delayed = await parseBounce(await dsnFor('450-later@remote.example.test', 15_000, 'delayed'));
  assert.equal(delayed.recipients[0]!.action, 'delayed');
  assert.match(delayed.recipients[0]!.status ?? '', /^4\./);
  const failed = await parseBounce(await dsnFor('450-later@remote.example.test', 15_000, 'failed'));
  assert.equal(failed.recipients[0]!.status, '5.4.7');
});

test('suppress-local-dsn: mail from that source gets no DSN', async () => {
  const before = senderMx.messages.length;
  await submit('app@origin.example.test', '550-local@remote.example.test', '', '127.0.0.7');
  await submit('frank@origin.example.test', '550-control2@remote.example.test');
  await dsnFor('550-control2@remote.example.test');
  assert.ok(!senderMx.messages.slice(before).some((m) => m.body.toString('latin1').includes('550-local@')), 'no DSN for a source with suppress-local-dsn');
});
