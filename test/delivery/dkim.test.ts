/**
 * End to end, DKIM signing: with `domain-key` and `<domain *> dkim-sign
 * yes`, the message the remote MX receives carries a DKIM-Signature that
 * mailauth's verifier accepts, the public key being looked up through a
 * resolver pointed at the test DNS server (`selector._domainkey.domain`
 * TXT, derived from the fixture key with node:crypto). A tampered copy does
 * not verify; a domain with `dkim-sign no` gets no signature.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { ROOT, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, submit } from './helpers.js';

const KEYS = path.join(ROOT, 'test', 'fixtures', 'config', 'realistic', 'keys');
const RSA = path.join(KEYS, 'dkim-2026.pem');
const ED = path.join(KEYS, 'dkim-ed25519-2026.pem');

let server: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;
let out: Outcomes;

/** The `v=DKIM1` TXT record for a private key file (RFC 6376 §3.6.1; Ed25519: the raw 32-byte key, RFC 8463). */
function publicTxt(keyFile: string): string {
  const pub = crypto.createPublicKey(crypto.createPrivateKey(fs.readFileSync(keyFile)));
  const der = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

async function verify(message: Buffer | string) {
  const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([server.address]);
  const viaTestDns = async (name: string, rrtype: string): Promise<string[][]> => {
    assert.equal(rrtype, 'TXT');
    return resolver.resolveTxt(name);
  };
  return (await dkimVerify(message, { resolver: viaTestDns })).results;
}

before(async () => {
  server = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  sink = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.dkim.test' });
  server.set('mx.dkim.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of ['sign.example.test', 'nosign.example.test']) server.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.dkim.test' }]);
  server.set('s2026._domainkey.petrel.test', [{ type: 'TXT', data: publicTxt(RSA) }]);
  server.set('ed2026._domainkey.brand.petrel.test', [{ type: 'TXT', data: publicTxt(ED) }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${server.address}
smtp-listener 127.0.0.1:{{PORT}}
domain-key s2026,petrel.test,${RSA}
domain-key ed2026,brand.petrel.test,${ED}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain nosign.example.test>
    dkim-sign no
</domain>
<domain *>
    dkim-sign yes
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
  await server?.stop();
});

async function deliveredBody(from: string, rcpt: string, body: string): Promise<Buffer> {
  const m = await submit(petrel.port, from, [rcpt], { body });
  assert.equal((await out.outcome(m.rids[0]!)).type, 'delivered');
  const got = sink.messages.find((x) => x.recipients.some((r) => r.address === rcpt));
  assert.ok(got);
  return got.body;
}

test('RSA: the received message carries a DKIM-Signature that verifies through the test DNS; a tampered copy does not', async () => {
  const body = await deliveredBody('news@petrel.test', 'accept-1@sign.example.test', 'Signed on the way out.\r\n');
  const text = body.toString('latin1');
  assert.match(text, /^DKIM-Signature:/);
  const [r] = await verify(body);
  assert.equal(r?.status.result, 'pass', r?.status.comment);
  assert.equal(r?.signingDomain, 'petrel.test');
  assert.equal(r?.selector, 's2026');
  assert.match((r as { algo?: string } | undefined)?.algo ?? '', /^rsa-sha256$/);

  const tamperedBody = await verify(text.replace('Signed on the way out.', 'Signed on the way OUT.'));
  assert.notEqual(tamperedBody[0]?.status.result, 'pass');
  const tamperedHeader = await verify(text.replace(/^Subject: .*$/m, 'Subject: changed in transit'));
  assert.notEqual(tamperedHeader[0]?.status.result, 'pass');
});

test('Ed25519: a second key for another signing domain also verifies', async () => {
  const body = await deliveredBody('brand@brand.petrel.test', 'accept-2@sign.example.test', 'Ed25519 signed.\r\n');
  const [r] = await verify(body);
  assert.equal(r?.status.result, 'pass', r?.status.comment);
  assert.equal(r?.signingDomain, 'brand.petrel.test');
  assert.match((r as { algo?: string } | undefined)?.algo ?? '', /^ed25519-sha256$/);
});

test('dkim-sign no for the recipient domain: delivered unsigned', async () => {
  const body = await deliveredBody('news@petrel.test', 'accept-3@nosign.example.test', 'Not signed.\r\n');
  assert.doesNotMatch(body.toString('latin1'), /^DKIM-Signature:/im);
});
