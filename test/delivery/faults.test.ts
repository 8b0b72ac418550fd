/**
 * End to end, faults: each thing a remote MX can do wrong gives the outcome
 * PowerMTA gives it — a 4xx at RCPT defers that recipient with
 * `retry-recipients-after`; a 4xx/5xx after the data defers/bounces the whole
 * message; a 421, a dropped connection or a silent server defers (scope
 * host) and the recipients come back at the next attempt; a 421 banner or a
 * refused connection moves on to the next MX; a 554 banner bounces
 * (`bounce-upon-5xx-greeting`, default true); all MX hosts down defers with
 * `retry-after`; a retry really happens and delivers once the MX is back;
 * and `bounce-after` expires a recipient that keeps failing.
 *
 * Outcomes are read from the spool's events. Every address is on
 * 127.0.0.0/8 and the resolver is the test DNS server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, deliveryLog, submit, until } from './helpers.js';

const MIN = 60_000;

let dns: TestDnsServer;
let port: number;
let mx: SmtpSink; // 127.0.0.2, behaves by local part
let mx2: SmtpSink; // 127.0.0.3, the backup MX
let mx421: SmtpSink; // 127.0.0.5, banner 421
let mx554: SmtpSink; // 127.0.0.6, banner 554
let late: SmtpSink | undefined; // 127.0.0.7, started during a test
let petrel: RunningPetrel;
let out: Outcomes;

const received = (sink: SmtpSink, address: string) => sink.messages.filter((m) => m.recipients.some((r) => r.address === address));

before(async () => {
  dns = await TestDnsServer.start();
  port = await freePort('127.0.0.2');
  mx = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.faults.test' });
  mx2 = await SmtpSink.start({ host: '127.0.0.3', port, hostname: 'mx2.faults.test' });
  mx421 = await SmtpSink.start({ host: '127.0.0.5', port, hostname: 'mx421.faults.test', banner: '421' });
  mx554 = await SmtpSink.start({ host: '127.0.0.6', port, hostname: 'mx554.faults.test', banner: '554' });
  const a = (name: string, address: string) => dns.set(name, [{ type: 'A', address }]);
  a('mx.faults.test', '127.0.0.2');
  a('mx2.faults.test', '127.0.0.3');
  a('down.faults.test', '127.0.0.4'); // nobody listens there
  a('down2.faults.test', '127.0.0.9'); // nor there
  a('mx421.faults.test', '127.0.0.5');
  a('mx554.faults.test', '127.0.0.6');
  a('late.faults.test', '127.0.0.7');
  const mxs = (domain: string, ...hosts: string[]) => dns.set(domain, hosts.map((exchange, i) => ({ type: 'MX' as const, preference: 10 * (i + 1), exchange })));
  mxs('rcpt.example.test', 'mx.faults.test');
  mxs('data.example.test', 'mx.faults.test');
  mxs('retry.example.test', 'mx.faults.test');
  mxs('split.example.test', 'mx.faults.test');
  mxs('expire.example.test', 'mx.faults.test');
  mxs('banner421.example.test', 'mx421.faults.test', 'mx2.faults.test');
  mxs('banner554.example.test', 'mx554.faults.test', 'mx2.faults.test');
  mxs('refused.example.test', 'down.faults.test', 'mx2.faults.test');
  mxs('alldown.example.test', 'down.faults.test', 'down2.faults.test');
  mxs('late.example.test', 'late.faults.test');
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain rcpt.example.test>
    retry-after 2m
    retry-recipients-after 30m
</domain>
<domain retry.example.test>
    retry-after 1s
</domain>
<domain split.example.test>
    max-rcpt-per-transaction 1
</domain>
<domain expire.example.test>
    retry-recipients-after 1s
    bounce-after 3s
</domain>
<domain alldown.example.test>
    retry-after 7m
    retry-recipients-after 30m
</domain>
<domain late.example.test>
    retry-after 1s
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 30m
    connect-timeout 2s
    smtp-greeting-timeout 2s
    smtp-data-termination-timeout 2s
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  out = new Outcomes(petrel);
});

after(async () => {
  await petrel?.stop(500);
  for (const s of [mx, mx2, mx421, mx554, late]) await s?.stop();
  await dns?.stop();
});

test('450 and 452 at RCPT defer those recipients with retry-recipients-after; the others are delivered', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['450-busy@rcpt.example.test', '452-full@rcpt.example.test', 'accept-1@rcpt.example.test']);
  const [busy, full, ok] = await Promise.all(m.rids.map((r) => out.outcome(r)));
  assert.equal(ok!.type, 'delivered');
  for (const [e, re] of [[busy!, /^450 4\.2\.0 Mailbox busy/], [full!, /^452 4\.2\.2 Mailbox full/]] as const) {
    assert.equal(e.type, 'deferred');
    assert.match(e.reply ?? '', re);
    assert.equal(e.attempts, 1);
    const wait = (e as { nextAttemptAt: number }).nextAttemptAt - e.at;
    // retry-recipients-after 30m, not retry-after 2m
    assert.ok(wait > 29 * MIN && wait <= 30 * MIN, `next attempt in ${wait} ms`);
  }
  assert.deepEqual(received(mx, 'accept-1@rcpt.example.test')[0]!.recipients.map((r) => r.address), ['accept-1@rcpt.example.test']);
  const log = await deliveryLog(petrel, m.rids[0]!);
  assert.equal(log.scope, 'recipient');
});

test('451 after the data defers the whole message; 550 after the data bounces the whole message', async () => {
  const d451 = await submit(petrel.port, 'sender@petrel.test', ['data451-a@data.example.test', 'accept-2@data.example.test']);
  const d550 = await submit(petrel.port, 'sender@petrel.test', ['data550-a@data.example.test', 'accept-3@data.example.test']);
  for (const rid of d451.rids) {
    const e = await out.outcome(rid);
    assert.equal(e.type, 'deferred', rid);
    assert.match(e.reply ?? '', /^451 4\.3\.0 Temporary failure after data/);
    const wait = (e as { nextAttemptAt: number }).nextAttemptAt - e.at;
    assert.ok(wait > 29 * MIN && wait <= 30 * MIN, `retry-after 30m for a message-level deferral, got ${wait} ms`);
  }
  for (const rid of d550.rids) {
    const e = await out.outcome(rid);
    assert.equal(e.type, 'bounced', rid);
    assert.match(e.reply ?? '', /^550 5\.7\.1 Message content rejected/);
  }
  assert.equal(received(mx, 'accept-2@data.example.test').length, 0);
  assert.equal(received(mx, 'accept-3@data.example.test').length, 0);
  assert.equal((await deliveryLog(petrel, d550.rids[1]!)).scope, 'message');
});

test('421 at RCPT: the connection ends, every recipient of the transaction is deferred (scope host) and tried again', async () => {
  const conns = mx.connections.length;
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-4@retry.example.test', '421-rcpt@retry.example.test']);
  for (const rid of m.rids) {
    const e = await out.outcome(rid, { attempts: 1 });
    assert.equal(e.type, 'deferred', rid);
    assert.match(e.reply ?? '', /^421 4\.7\.0 /);
  }
  assert.equal((await deliveryLog(petrel, m.rids[0]!)).scope, 'host');
  // retry-after 1s: both come back for a second attempt (the accepted one is not lost), and fail the same way.
  for (const rid of m.rids) assert.equal((await out.outcome(rid, { attempts: 2 })).type, 'deferred');
  const info = await petrel.mta.spool.getMessage(m.id);
  assert.deepEqual(info?.recipients.map((r) => r.state === 'queued' || r.state === 'in-flight'), [true, true]);
  assert.equal(received(mx, 'accept-4@retry.example.test').length, 0, 'nothing delivered over a connection the server closed');
  assert.ok(mx.connections.length >= conns + 2, 'a new connection per attempt');
});

test('421 at RCPT in one transaction does not hold the next transaction of the same message (max-rcpt-per-transaction 1)', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['421-first@split.example.test', 'accept-5@split.example.test']);
  const [first, second] = await Promise.all(m.rids.map((r) => out.outcome(r)));
  assert.equal(first!.type, 'deferred');
  assert.match(first!.reply ?? '', /^421 /);
  assert.equal(second!.type, 'delivered', JSON.stringify(second));
  assert.equal(received(mx, 'accept-5@split.example.test').length, 1);
});

test('disconnect in the data: deferred, and deferred again at each retry (attempts grow); never delivered', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['disconnect-in-data@retry.example.test']);
  const first = await out.outcome(m.rids[0]!, { attempts: 1 });
  assert.equal(first.type, 'deferred');
  assert.match(first.reply ?? '', /^451 4\.4\.2 /);
  const third = await out.outcome(m.rids[0]!, { attempts: 3 });
  assert.equal(third.type, 'deferred');
  assert.ok(out.of(m.rids[0]!).every((e) => e.type === 'deferred'));
  assert.equal(received(mx, 'disconnect-in-data@retry.example.test').length, 0);
});

test('a slow final reply within smtp-data-termination-timeout is delivered', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['slow-800@data.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'delivered', JSON.stringify(e));
  assert.match(e.reply ?? '', /^250 /);
  assert.equal(received(mx, 'slow-800@data.example.test').length, 1);
});

test('no reply to the final dot: deferred after smtp-data-termination-timeout, never reported delivered', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['noreply-in-data@data.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'deferred');
  assert.match(e.reply ?? '', /^451 4\.4\.2 /);
  assert.ok(!out.of(m.rids[0]!).some((x) => x.type === 'delivered'));
  assert.equal((await deliveryLog(petrel, m.rids[0]!)).scope, 'host');
});

test('a 421 banner: the next MX is used', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-6@banner421.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'delivered', JSON.stringify(e));
  assert.ok(mx421.connections.length >= 1, 'the first MX was tried');
  assert.equal(received(mx2, 'accept-6@banner421.example.test').length, 1);
});

test('a 554 banner bounces the message (bounce-upon-5xx-greeting, default true); the next MX is not tried', async () => {
  const before2 = mx2.connections.length;
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-7@banner554.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'bounced', JSON.stringify(e));
  assert.match(e.reply ?? '', /^554 5\.3\.2 /);
  assert.ok(mx554.connections.length >= 1);
  assert.equal(mx2.connections.length, before2);
});

test('connection refused by the first MX: the next MX is used', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-8@refused.example.test']);
  assert.equal((await out.outcome(m.rids[0]!)).type, 'delivered');
  assert.equal(received(mx2, 'accept-8@refused.example.test').length, 1);
});

test('every MX down: deferred, scope host, next attempt after retry-after', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-9@alldown.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'deferred');
  assert.match(e.reply ?? '', /^451 4\.4\.1 /);
  const wait = (e as { nextAttemptAt: number }).nextAttemptAt - e.at;
  assert.ok(wait > 6 * MIN && wait <= 7 * MIN, `retry-after 7m (not retry-recipients-after 30m), got ${wait} ms`);
  assert.equal((await deliveryLog(petrel, m.rids[0]!)).scope, 'host');
});

test('the retry happens: refused first, delivered once the MX listens (retry-after 1s)', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['accept-10@late.example.test']);
  const first = await out.outcome(m.rids[0]!);
  assert.equal(first.type, 'deferred');
  assert.match(first.reply ?? '', /^451 4\.4\.1 /);
  late = await SmtpSink.start({ host: '127.0.0.7', port, hostname: 'late.faults.test' });
  const e = await out.outcome(m.rids[0]!, { type: 'delivered' });
  assert.equal(e.attempts, 2);
  assert.equal(received(late, 'accept-10@late.example.test').length, 1);
  assert.equal(await petrel.mta.spool.getMessage(m.id), undefined, 'a finished message leaves the spool index');
});

test('bounce-after 3s: a recipient that keeps getting 450 expires, with the last reply recorded', async () => {
  const m = await submit(petrel.port, 'sender@petrel.test', ['450-forever@expire.example.test']);
  const e = await out.outcome(m.rids[0]!, { type: 'expired', timeoutMs: 12_000 });
  assert.match(e.reply ?? '', /^450 4\.2\.0 Mailbox busy/);
  assert.ok(e.attempts >= 2, `attempts ${e.attempts}`);
  const deferrals = out.of(m.rids[0]!).filter((x) => x.type === 'deferred');
  assert.ok(deferrals.length >= 1 && deferrals.every((d) => d.at < e.at));
  // Not before bounce-after (3 s) counted from the arrival.
  const arrived = out.arrivedAt.get(m.id);
  assert.ok(arrived !== undefined && e.at >= arrived + 3000, `expired ${e.at - (arrived ?? 0)} ms after arrival`);
  await until('the expired message to leave the index', async () => ((await petrel.mta.spool.getMessage(m.id)) === undefined ? true : undefined));
});
