/**
 * End to end: mail submitted to Petrel over SMTP is delivered to the MX hosts
 * the test DNS server names, from the VMTA's source IP and HELO name, with
 * the outcome recorded per recipient in the spool: delivered, bounced
 * (5xx, null MX, NXDOMAIN), deferred (4xx, DNS failure) with a next attempt,
 * next MX when the first is down, and recipients split into transactions.
 * Every address involved is on 127.0.0.0/8; the resolver is the test DNS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import type { SpoolEvent } from '../../src/spool/types.js';

interface Settled {
  readonly address: string;
  readonly state: string;
  readonly attempts: number;
  readonly lastReply: string | undefined;
  readonly nextAttemptAt: number | undefined;
}
/** The outcome events of each recipient, as the spool reports them (durable before observers hear of them). */
const events = new Map<string, Extract<SpoolEvent, { recipientId: string }>>();

let dns: TestDnsServer;
let mx1: SmtpSink;
let mx2: SmtpSink;
let petrel: RunningPetrel;
let port: number;

before(async () => {
  dns = await TestDnsServer.start();
  port = await freePort('127.0.0.2');
  mx1 = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx1.example.test' });
  mx2 = await SmtpSink.start({ host: '127.0.0.3', port, hostname: 'mx2.example.test' });
  dns.set('mx1.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  dns.set('mx2.example.test', [{ type: 'A', address: '127.0.0.3' }]);
  dns.set('mx-down.example.test', [{ type: 'A', address: '127.0.0.4' }]);
  dns.set('one.example.test', [{ type: 'MX', preference: 10, exchange: 'mx1.example.test' }]);
  dns.set('two.example.test', [{ type: 'MX', preference: 10, exchange: 'mx2.example.test' }]);
  dns.set('failover.example.test', [
    { type: 'MX', preference: 10, exchange: 'mx-down.example.test' },
    { type: 'MX', preference: 20, exchange: 'mx2.example.test' },
  ]);
  dns.set('nomx.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  dns.set('nullmx.example.test', [{ type: 'MX', preference: 0, exchange: '.' }]);
  dns.set('broken.example.test', [{ type: 'MX', preference: 10, exchange: 'mx1.example.test' }]);
  dns.fail('broken.example.test', 'SERVFAIL');
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<virtual-mta vm2>
    smtp-source-host 127.0.0.12 vm2.petrel.test
</virtual-mta>
<virtual-mta vm3>
    smtp-source-host 127.0.0.13 vm3.petrel.test
</virtual-mta>
<source 127.0.0.1>
    always-allow-relaying yes
    process-x-virtual-mta yes
</source>
<domain two.example.test>
    max-rcpt-per-transaction 2
</domain>
<domain failover.example.test>
    log-resolution yes
</domain>
<domain nomx.example.test>
    log-resolution yes
</domain>
<domain nxdomain.example.test>
    log-resolution yes
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 10m
    connect-timeout 2s
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  petrel.mta.spool.observe((e) => {
    if (e.type === 'delivered' || e.type === 'bounced' || e.type === 'deferred' || e.type === 'expired') events.set(e.recipientId, e);
  });
});

after(async () => {
  await petrel?.stop();
  await mx1?.stop();
  await mx2?.stop();
  await dns?.stop();
});

async function submit(from: string, rcpts: string[], headers = ''): Promise<string> {
  const c = await SmtpTestClient.connect(petrel.port);
  await c.read();
  await c.cmd('EHLO submitter.test');
  await c.cmd(`MAIL FROM:<${from}>`);
  for (const r of rcpts) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250, r);
  await c.cmd('DATA');
  c.write(`From: <${from}>\r\nSubject: e2e\r\n${headers}\r\nHello from the e2e test.\r\n.\r\n`);
  const r = await c.read();
  c.close();
  return /queued as (\S+)/.exec(r!.lines[0]!)![1]!;
}

/** Waits until every recipient of the message has an outcome (delivered, bounced, expired, or deferred with a next attempt). */
async function settled(id: string, timeoutMs = 15_000): Promise<Settled[]> {
  const end = Date.now() + timeoutMs;
  const info = await petrel.mta.spool.getMessage(id);
  const rcpts = info ? info.recipients.map((r) => ({ id: r.id, address: r.address })) : [];
  for (;;) {
    const seen = rcpts.map((r) => ({ r, e: events.get(r.id) }));
    if (rcpts.length > 0 && seen.every((x) => x.e)) {
      return seen.map(({ r, e }) => ({
        address: r.address,
        state: e!.type === 'deferred' ? 'queued' : e!.type,
        attempts: e!.attempts,
        lastReply: 'reply' in e! ? e!.reply : undefined,
        nextAttemptAt: e!.type === 'deferred' ? e!.nextAttemptAt : undefined,
      }));
    }
    if (Date.now() > end) throw new Error(`message ${id} not settled: ${JSON.stringify(seen.map((x) => [x.r.address, x.e?.type]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('delivered to the MX from the VMTA source IP with its HELO name; 550 bounces, 450 defers with a next attempt', async () => {
  const before = mx1.messages.length;
  const id = await submit('sender@petrel.test', ['accept-a@one.example.test', '550-gone@one.example.test', '450-busy@one.example.test'], 'X-Virtual-MTA: vm2\r\n');
  const rs = await settled(id);
  const by = (p: string) => rs.find((r) => r.address.startsWith(p))!;
  assert.equal(by('accept-a').state, 'delivered');
  assert.equal(by('550-gone').state, 'bounced');
  assert.match(by('550-gone').lastReply ?? '', /^550 5\.1\.1 /);
  assert.equal(by('450-busy').state, 'queued');
  assert.equal(by('450-busy').attempts, 1);
  assert.ok((by('450-busy').nextAttemptAt ?? 0) > Date.now() + 60_000, 'retry-after 10m');
  await mx1.waitForMessages(before + 1);
  const got = mx1.messages.at(-1)!;
  assert.equal(got.remoteAddress, '127.0.0.12');
  assert.equal(got.helo, 'vm2.petrel.test');
  assert.deepEqual(got.recipients.map((r) => r.address), ['accept-a@one.example.test']);
  assert.match(got.body.toString(), /Hello from the e2e test\./);
  assert.doesNotMatch(got.body.toString(), /X-Virtual-MTA/i);
});

test('a second VMTA sends from its own address', async () => {
  const id = await submit('sender@petrel.test', ['accept-b@two.example.test'], 'X-Virtual-MTA: vm3\r\n');
  const rs = await settled(id);
  assert.equal(rs[0]!.state, 'delivered');
  const got = mx2.messages.find((m) => m.recipients.some((r) => r.address === 'accept-b@two.example.test'))!;
  assert.equal(got.remoteAddress, '127.0.0.13');
  assert.equal(got.helo, 'vm3.petrel.test');
});

test('the next MX is tried when the first does not answer', async () => {
  const id = await submit('sender@petrel.test', ['accept-c@failover.example.test']);
  const rs = await settled(id);
  assert.equal(rs[0]!.state, 'delivered', JSON.stringify(rs));
  assert.ok(mx2.messages.some((m) => m.recipients.some((r) => r.address === 'accept-c@failover.example.test')));
});

test('no MX record: the A record is the MX (RFC 5321 §5.1)', async () => {
  const id = await submit('sender@petrel.test', ['accept-d@nomx.example.test']);
  assert.equal((await settled(id))[0]!.state, 'delivered');
});

test('log-resolution: the hosts DNS gave for a queue, in order, or why there are none; other queues log nothing', async () => {
  const a = await submit('sender@petrel.test', ['accept-log@failover.example.test', 'r@nxdomain.example.test']);
  await settled(a);
  const lines = petrel.logLines
    .flatMap((l) => l.split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.msg === 'resolution');
  const failover = lines.find((e) => e.domain === 'failover.example.test');
  assert.deepEqual(failover?.hosts, ['mx-down.example.test (pref 10): 127.0.0.4', 'mx2.example.test (pref 20): 127.0.0.3']);
  assert.equal(failover?.via, 'MX');
  const nx = lines.find((e) => e.domain === 'nxdomain.example.test');
  assert.equal(nx?.result, 'nxdomain');
  assert.match(String(nx?.detail), /NXDOMAIN/);
  assert.ok(lines.every((e) => ['failover.example.test', 'nomx.example.test', 'nxdomain.example.test'].includes(String(e.domain))), 'only the queues with log-resolution');
});

test('null MX and NXDOMAIN bounce at once; SERVFAIL defers', async () => {
  const id = await submit('sender@petrel.test', ['a@nullmx.example.test', 'b@nxdomain.example.test', 'c@broken.example.test']);
  const rs = await settled(id);
  const by = (d: string) => rs.find((r) => r.address.endsWith(d))!;
  assert.equal(by('nullmx.example.test').state, 'bounced');
  assert.match(by('nullmx.example.test').lastReply ?? '', /^556 5\.1\.10 /);
  assert.equal(by('nxdomain.example.test').state, 'bounced');
  assert.match(by('nxdomain.example.test').lastReply ?? '', /^550 5\.1\.2 /);
  assert.equal(by('broken.example.test').state, 'queued');
  assert.match(by('broken.example.test').lastReply ?? '', /^451 4\.4\.3 DNS/);
});

test('max-rcpt-per-transaction splits one message into several transactions', async () => {
  const rcpts = ['accept-1@two.example.test', 'accept-2@two.example.test', 'accept-3@two.example.test'];
  const id = await submit('sender@petrel.test', rcpts);
  const rs = await settled(id);
  assert.ok(rs.every((r) => r.state === 'delivered'));
  const txs = mx2.messages.filter((m) => m.recipients.some((r) => rcpts.includes(r.address)));
  assert.deepEqual(txs.map((m) => m.recipients.length).sort(), [1, 2]);
});

test('queue-to: two domains share one rollup queue, routed by its smtp-hosts', async () => {
  const p = await startPetrel(
    `
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain rollup-a.example.test>
    queue-to shared.rollup
</domain>
<domain rollup-b.example.test>
    queue-to shared.rollup
</domain>
<domain shared.rollup>
    smtp-hosts [127.0.0.3]:${port}
    use-starttls no
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  try {
    const c = await SmtpTestClient.connect(p.port);
    await c.read();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<s@petrel.test>');
    await c.cmd('RCPT TO:<accept-ra@rollup-a.example.test>');
    await c.cmd('RCPT TO:<accept-rb@rollup-b.example.test>');
    await c.cmd('DATA');
    c.write('Subject: rollup\r\n\r\nx\r\n.\r\n');
    const id = /queued as (\S+)/.exec((await c.read())!.lines[0]!)![1]!;
    c.close();
    const info = await p.mta.spool.getMessage(id);
    assert.deepEqual(info!.recipients.map((r) => r.queue), ['shared.rollup/{default}', 'shared.rollup/{default}']);
    const end = Date.now() + 10_000;
    while (!mx2.messages.some((m) => m.recipients.some((r) => r.address === 'accept-rb@rollup-b.example.test')) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const got = mx2.messages.filter((m) => m.recipients.some((r) => r.address.startsWith('accept-r')));
    assert.deepEqual(got.flatMap((m) => m.recipients.map((r) => r.address)).sort(), ['accept-ra@rollup-a.example.test', 'accept-rb@rollup-b.example.test'], 'one transaction for both domains');
  } finally {
    await p.stop();
  }
});
