/**
 * End to end, virtual MTAs: each VMTA sends from its `smtp-source-host`
 * address with its HELO name; a `<virtual-mta-pool>` spreads messages over
 * its members (round robin); a source's `default-virtual-mta` applies when
 * the message names none; an unknown `X-Virtual-MTA` goes out through
 * `{default}` with a warning logged; and a `<domain>` nested in one VMTA
 * applies to that VMTA's queue only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, logEntries, submit, type Submitted } from './helpers.js';

let dns: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;
let out: Outcomes;

const FROM = 'sender@petrel.test';
const vmtaHeader = (name: string) => `X-Virtual-MTA: ${name}\r\n`;
const receivedBy = (address: string) => sink.messages.filter((m) => m.recipients.some((r) => r.address === address));

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  sink = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.vmta.test' });
  dns.set('mx.vmta.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of ['pool.example.test', 'default.example.test', 'unknown.example.test', 'split.example.test']) dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.vmta.test' }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<virtual-mta vm-a>
    smtp-source-host 127.0.0.12 a.petrel.test
</virtual-mta>
<virtual-mta vm-b>
    smtp-source-host 127.0.0.13 b.petrel.test
    <domain split.example.test>
        max-rcpt-per-transaction 1
    </domain>
</virtual-mta>
<virtual-mta-pool pool-ab>
    virtual-mta vm-a
    virtual-mta vm-b
</virtual-mta-pool>
<source 127.0.0.1>
    always-allow-relaying yes
    process-x-virtual-mta yes
</source>
<source 127.0.0.30>
    always-allow-relaying yes
    default-virtual-mta vm-b
</source>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 30m
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

test('a pool spreads messages over its members, each from its own address with its own HELO name', async () => {
  const ms: Submitted[] = [];
  for (let i = 0; i < 4; i++) ms.push(await submit(petrel.port, FROM, [`accept-${i}@pool.example.test`], { headers: vmtaHeader('pool-ab') }));
  for (const m of ms) assert.equal((await out.outcome(m.rids[0]!)).type, 'delivered');
  const seen = ms.map((_, i) => receivedBy(`accept-${i}@pool.example.test`)[0]!).map((m) => `${m.remoteAddress} ${m.helo}`);
  assert.equal(seen.filter((s) => s === '127.0.0.12 a.petrel.test').length, 2, JSON.stringify(seen));
  assert.equal(seen.filter((s) => s === '127.0.0.13 b.petrel.test').length, 2, JSON.stringify(seen));
  const queues = new Set(out.events.filter((e) => ms.some((m) => m.rids.includes(e.recipientId))).map((e) => e.queue));
  assert.deepEqual([...queues].sort(), ['pool.example.test/vm-a', 'pool.example.test/vm-b']);
  for (const m of receivedBy('accept-0@pool.example.test')) assert.doesNotMatch(m.body.toString(), /^X-Virtual-MTA:/im);
});

test("the source's default-virtual-mta applies when the message names none", async () => {
  const m = await submit(petrel.port, FROM, ['accept-d@default.example.test'], { localAddress: '127.0.0.30' });
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'delivered');
  assert.equal(e.queue, 'default.example.test/vm-b');
  const got = receivedBy('accept-d@default.example.test')[0]!;
  assert.equal(got.remoteAddress, '127.0.0.13');
  assert.equal(got.helo, 'b.petrel.test');
});

test('an unknown X-Virtual-MTA goes out through {default}, with a warning', async () => {
  const m = await submit(petrel.port, FROM, ['accept-u@unknown.example.test'], { headers: vmtaHeader('no-such-vmta') });
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'delivered');
  assert.equal(e.queue, 'unknown.example.test/{default}');
  assert.equal(receivedBy('accept-u@unknown.example.test')[0]!.helo, 'relay.petrel.test');
  const warn = logEntries(petrel).find((l) => l.level === 'warn' && /no-such-vmta/.test(l.msg));
  assert.ok(warn, 'a warning names the unknown VMTA');
  assert.match(warn.msg, /not defined.*\{default\}/);
});

test('a <domain> nested in one VMTA applies to its queue only (max-rcpt-per-transaction 1 in vm-b)', async () => {
  const rcpts = (tag: string) => [1, 2, 3].map((i) => `accept-${tag}${i}@split.example.test`);
  const viaA = await submit(petrel.port, FROM, rcpts('a'), { headers: vmtaHeader('vm-a') });
  const viaB = await submit(petrel.port, FROM, rcpts('b'), { headers: vmtaHeader('vm-b') });
  for (const r of [...viaA.rids, ...viaB.rids]) assert.equal((await out.outcome(r)).type, 'delivered', r);
  const txA = sink.messages.filter((m) => m.recipients.some((r) => rcpts('a').includes(r.address)));
  const txB = sink.messages.filter((m) => m.recipients.some((r) => rcpts('b').includes(r.address)));
  assert.deepEqual(txA.map((m) => m.recipients.length), [3], 'vm-a: one transaction');
  assert.deepEqual(txB.map((m) => m.recipients.length), [1, 1, 1], 'vm-b: one transaction per recipient');
  assert.ok(txA.every((m) => m.remoteAddress === '127.0.0.12'));
  assert.ok(txB.every((m) => m.remoteAddress === '127.0.0.13'));
});
