/**
 * End to end, outbound TLS: `require-starttls` (no STARTTLS → deferred and
 * nothing sent in clear; STARTTLS → delivered over TLS), `use-starttls`
 * (opportunistic: TLS when offered, clear otherwise), MTA-STS in enforce
 * mode (an MX not in the policy is never contacted; the listed MX must
 * present a certificate that verifies — deferred when the issuing CA is not
 * trusted, delivered when it is), and DANE (an authenticated TLSA record
 * that matches the MX's certificate → delivered over TLS; a wrong digest →
 * deferred before MAIL).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { ROOT, TLS_DIR, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, deliveryLog, logEntries, submit } from './helpers.js';
import { runMtaStsScenario, type MtaStsResult } from './mta-sts-scenario.js';

const MAIL_PEM = path.join(TLS_DIR, 'mail.example.test.pem');

let dns: TestDnsServer;
let port: number;
let plain: SmtpSink; // 127.0.0.2, no STARTTLS
let secure: SmtpSink; // 127.0.0.3, STARTTLS with mail.example.test's certificate
let dane: SmtpSink; // 127.0.0.4, STARTTLS, DANE target
let daneBad: SmtpSink; // 127.0.0.5, STARTTLS, wrong TLSA
let petrel: RunningPetrel;
let out: Outcomes;

const FROM = 'sender@petrel.test';
const received = (sink: SmtpSink, address: string) => sink.messages.filter((m) => m.recipients.some((r) => r.address === address));
const mailSent = (sink: SmtpSink) => sink.connections.some((c) => c.commands.some((l) => /^MAIL /i.test(l)));

/** DANE-EE(3) SPKI(1) SHA-256(1) association data for the certificate in `pemFile`. */
function spkiSha256(pemFile: string): Buffer {
  const cert = new X509Certificate(fs.readFileSync(pemFile));
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest();
}

before(async () => {
  dns = await TestDnsServer.start();
  port = await freePort('127.0.0.2');
  plain = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'plain.tls.test' });
  secure = await SmtpSink.start({ host: '127.0.0.3', port, hostname: 'mail.example.test', tls: { cert: MAIL_PEM } });
  dane = await SmtpSink.start({ host: '127.0.0.4', port, hostname: 'mx.dane.example.test', tls: { cert: MAIL_PEM } });
  daneBad = await SmtpSink.start({ host: '127.0.0.5', port, hostname: 'mx.danebad.example.test', tls: { cert: MAIL_PEM } });
  dns.set('plain.tls.test', [{ type: 'A', address: '127.0.0.2' }]);
  dns.set('mail.example.test', [{ type: 'A', address: '127.0.0.3' }]);
  const mx = (domain: string, exchange: string) => dns.set(domain, [{ type: 'MX', preference: 10, exchange }]);
  mx('plainreq.example.test', 'plain.tls.test');
  mx('plainopp.example.test', 'plain.tls.test');
  mx('tlsreq.example.test', 'mail.example.test');
  mx('tlsopp.example.test', 'mail.example.test');
  mx('tlsverify.example.test', 'mail.example.test');
  // DANE: MX, address and TLSA all DNSSEC-authenticated (AD bit from the trusted resolver).
  for (const [domain, host, address, data] of [
    ['dane.example.test', 'mx.dane.example.test', '127.0.0.4', spkiSha256(MAIL_PEM)],
    ['danebad.example.test', 'mx.danebad.example.test', '127.0.0.5', randomBytes(32)],
  ] as const) {
    mx(domain, host);
    dns.set(host, [{ type: 'A', address }]);
    const tlsa = `_${port}._tcp.${host}`;
    dns.set(tlsa, [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1, certificate: data }]);
    for (const n of [domain, host, tlsa]) dns.setAuthenticated(n);
  }
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain plainreq.example.test>
    require-starttls yes
</domain>
<domain tlsreq.example.test>
    require-starttls yes
</domain>
<domain plainopp.example.test>
    use-starttls yes
    log-tls yes
</domain>
<domain tlsverify.example.test>
    require-starttls yes
    tls-verify-certificate yes
</domain>
<domain tlsopp.example.test>
    use-starttls yes
    log-tls yes
</domain>
<domain dane.example.test>
    use-dane yes
</domain>
<domain danebad.example.test>
    use-dane yes
</domain>
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
  for (const s of [plain, secure, dane, daneBad]) await s?.stop();
  await dns?.stop();
});

test('require-starttls to a server without STARTTLS: deferred with a clear reply, nothing sent in clear', async () => {
  const m = await submit(petrel.port, FROM, ['accept-1@plainreq.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'deferred');
  assert.match(e.reply ?? '', /^451 4\.7\.4 .*TLS is required.*STARTTLS/);
  assert.ok(plain.connections.length >= 1, 'the MX was contacted');
  assert.ok(!mailSent(plain), `no MAIL in clear: ${JSON.stringify(plain.connections.map((c) => c.commands))}`);
  assert.equal(plain.messages.length, 0);
  assert.equal((await deliveryLog(petrel, m.rids[0]!)).scope, 'host');
});

test('require-starttls to a server with STARTTLS: delivered over TLS', async () => {
  const m = await submit(petrel.port, FROM, ['accept-2@tlsreq.example.test']);
  assert.equal((await out.outcome(m.rids[0]!)).type, 'delivered');
  const got = received(secure, 'accept-2@tlsreq.example.test');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.tls, true);
  const conn = secure.connections.find((c) => c.commands.some((l) => l.includes('accept-2@tlsreq.example.test')))!;
  assert.match(conn.tls?.protocol ?? '', /^TLSv1\.[23]$/);
  assert.equal(conn.commands.filter((l) => /^MAIL /i.test(l)).length, 1);
});

test('tls-verify-certificate: a certificate the CA store does not trust defers, nothing sent', async () => {
  const before = secure.messages.length;
  const m = await submit(petrel.port, FROM, ['accept-v@tlsverify.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'deferred');
  assert.match(e.reply ?? '', /certificate|verif/i);
  assert.equal(secure.messages.length, before, 'nothing delivered to an unverified MX');
});

test('use-starttls: TLS when the server offers it, clear when it does not', async () => {
  const a = await submit(petrel.port, FROM, ['accept-3@tlsopp.example.test']);
  const b = await submit(petrel.port, FROM, ['accept-4@plainopp.example.test']);
  assert.equal((await out.outcome(a.rids[0]!)).type, 'delivered');
  assert.equal((await out.outcome(b.rids[0]!)).type, 'delivered');
  assert.equal(received(secure, 'accept-3@tlsopp.example.test')[0]?.tls, true);
  assert.equal(received(plain, 'accept-4@plainopp.example.test')[0]?.tls, false);
  const conn = secure.connections.find((c) => c.commands.some((l) => l.includes('accept-3@tlsopp.example.test')))!;
  assert.ok(conn.tls, 'the connection that carried it was upgraded');
  // log-tls yes on both domains: one line per connection, as PowerMTA's "tls: … connected with …".
  const tlsLines = logEntries(petrel).filter((e) => e.msg.startsWith('tls: '));
  const upgraded = tlsLines.find((e) => e.queue === 'tlsopp.example.test/{default}');
  assert.ok(upgraded, 'logged for the TLS connection');
  assert.equal(upgraded.msg, `tls: ${conn.tls.protocol} connected with ${conn.tls.cipher}`);
  assert.equal(upgraded.judged, 'certificate not checked (opportunistic)');
  const clear = tlsLines.find((e) => e.queue === 'plainopp.example.test/{default}');
  assert.equal(clear?.msg, 'tls: none');
  assert.equal(clear?.why, 'the server did not offer STARTTLS');
  assert.ok(!tlsLines.some((e) => e.queue === 'tlsreq.example.test/{default}'), 'domains without log-tls log no TLS lines');
});

function checkPolicyApplied(r: MtaStsResult): void {
  assert.equal(r.badConnections, 0, 'the MX the policy does not list is never contacted');
  assert.ok(r.policyRequests.some((x) => x.startsWith('mta-sts.sts.example.test') && x.endsWith('/.well-known/mta-sts.txt')), JSON.stringify(r.policyRequests));
  assert.ok(r.goodConnections.length >= 1);
}

test('MTA-STS enforce, test CA not trusted for SMTP: the unlisted MX is skipped and the listed one fails verification → deferred, nothing sent', async () => {
  const r = await runMtaStsScenario();
  checkPolicyApplied(r);
  assert.equal(r.outcome.type, 'deferred', JSON.stringify(r));
  assert.match(r.outcome.reply ?? '', /^451 4\.7\.5 certificate verification failed/);
  assert.ok(r.goodConnections.every((c) => !c.commands.some((l) => /^MAIL /i.test(l))), 'no MAIL after a failed verification');
  assert.deepEqual(r.goodMessages, []);
});

test('MTA-STS enforce, test CA trusted (NODE_EXTRA_CA_CERTS, child process): delivered to the listed MX over verified TLS', async () => {
  const script = fileURLToPath(new URL('./mta-sts-scenario.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script],
      { cwd: ROOT, timeout: 25_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(TLS_DIR, 'ca.crt') } },
      (err, so, se) => (err ? reject(new Error(`${String(err)}\n${se}`)) : resolve(so)),
    );
  });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as MtaStsResult;
  checkPolicyApplied(r);
  assert.equal(r.outcome.type, 'delivered', JSON.stringify(r));
  assert.deepEqual(r.goodMessages, [{ tls: true, recipients: ['accept-sts@sts.example.test'] }]);
});

test('DANE: an authenticated TLSA record matching the certificate → delivered over TLS', async () => {
  const m = await submit(petrel.port, FROM, ['accept-5@dane.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'delivered', JSON.stringify(e));
  assert.equal(received(dane, 'accept-5@dane.example.test')[0]?.tls, true);
  assert.ok(dns.queries.some((q) => q.type === 'TLSA' && q.name.toLowerCase() === `_${port}._tcp.mx.dane.example.test`));
});

test('DANE: a TLSA digest that does not match → deferred, nothing sent', async () => {
  const m = await submit(petrel.port, FROM, ['accept-6@danebad.example.test']);
  const e = await out.outcome(m.rids[0]!);
  assert.equal(e.type, 'deferred', JSON.stringify(e));
  assert.match(e.reply ?? '', /^451 4\.7\.5 certificate verification failed/);
  assert.ok(daneBad.connections.length >= 1);
  assert.ok(!mailSent(daneBad), JSON.stringify(daneBad.connections.map((c) => c.commands)));
  assert.equal(daneBad.messages.length, 0);
});
