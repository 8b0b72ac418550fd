/**
 * @module delivery/dane.test
 *
 * DANE (RFC 7672 / RFC 6698) with real certificates over real TLS on
 * loopback: TLSA digests computed by the openssl CLI (an oracle independent
 * of the code under test) match the peer chain Node hands the client;
 * wrong digests, PKIX usages, bad chains, wrong names and expired
 * certificates fail; `daneState` trusts only AD-flagged answers from the
 * loopback DNS server.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../../test/harness/dns-server.js';
import { FakeClock } from '../util/clock.js';
import { daneCheck, daneState, usableTlsa } from './dane.js';
import { MxResolver } from './resolver.js';
import type { TlsaRecord } from './resolver.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/tls/', import.meta.url));
const MAIL_PEM = fs.readFileSync(path.join(FIXTURES, 'mail.example.test.pem'), 'utf8');
const CA_CRT = fs.readFileSync(path.join(FIXTURES, 'ca.crt'), 'utf8');

let tmp: string;
let issued: { cert: string; key: string };
let impostorLeaf: { cert: string; key: string };
let dns: TestDnsServer;

function openssl(args: string[], input?: Buffer | string): Buffer {
  return execFileSync('openssl', args, { cwd: tmp, input, timeout: 20_000 });
}

/** The TLSA association data, computed by openssl: selector 0 = DER certificate, 1 = DER SubjectPublicKeyInfo. */
function tlsaData(certPem: string, selector: 0 | 1, matching: 0 | 1 | 2): Buffer {
  const der = selector === 0 ? openssl(['x509', '-outform', 'DER'], certPem) : openssl(['pkey', '-pubin', '-outform', 'DER'], openssl(['x509', '-noout', '-pubkey'], certPem));
  if (matching === 0) return der;
  return openssl(['dgst', matching === 1 ? '-sha256' : '-sha512', '-binary'], der);
}

function rec(usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2, certPem: string): TlsaRecord {
  return { usage, selector, matchingType, data: tlsaData(certPem, selector, matchingType) };
}

/** Serve `chainPem` with `keyPem` on loopback; return what a client's getPeerCertificate(true) sees. */
async function peerOf(chainPem: string, keyPem: string, servername: string): Promise<tls.DetailedPeerCertificate> {
  const server = tls.createServer({ cert: chainPem, key: keyPem });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
        const peer = socket.getPeerCertificate(true);
        socket.end();
        resolve(peer);
      });
      socket.on('error', reject);
    });
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-dane-'));
  // A server certificate for mx.dane.test issued by the test CA (fixtures README), made here.
  fs.writeFileSync(path.join(tmp, 'ext.cnf'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:mx.dane.test\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=mx.dane.test']);
  openssl([
    'x509', '-req', '-in', 'leaf.csr', '-CA', path.join(FIXTURES, 'ca.crt'), '-CAkey', path.join(FIXTURES, 'ca.key'),
    '-set_serial', '0x5e1ec7ed', '-days', '30', '-out', 'leaf.crt', '-extfile', 'ext.cnf',
  ]);
  issued = { cert: fs.readFileSync(path.join(tmp, 'leaf.crt'), 'utf8'), key: fs.readFileSync(path.join(tmp, 'leaf.key'), 'utf8') };
  // An impostor CA with the test CA's name but its own key, and a leaf it signed (no key identifiers).
  // RSA like the real CA: OpenSSL links a chain only if the signature algorithm fits the issuer's key type.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'fake-ca.key', '-out', 'fake-ca.crt', '-days', '30', '-subj', '/CN=Petrel Test CA']);
  fs.writeFileSync(path.join(tmp, 'ext2.cnf'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:mx.dane.test\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n');
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'fake-ca.crt', '-CAkey', 'fake-ca.key', '-set_serial', '0x0bad', '-days', '30', '-out', 'fake-leaf.crt', '-extfile', 'ext2.cnf']);
  impostorLeaf = { cert: fs.readFileSync(path.join(tmp, 'fake-leaf.crt'), 'utf8'), key: issued.key };
  dns = await TestDnsServer.start();
});

after(async () => {
  await dns.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => dns.clear());

test('DANE-EE(3) records computed from mail.example.test match its certificate', async () => {
  const peer = await peerOf(MAIL_PEM, MAIL_PEM, 'mail.example.test');
  for (const [selector, matching] of [[1, 1], [0, 1], [0, 0], [1, 2], [0, 2], [1, 0]] as const) {
    assert.equal(daneCheck([rec(3, selector, matching, MAIL_PEM)], peer), undefined, `3 ${selector} ${matching}`);
  }
  // DANE-EE ignores names and dates (RFC 7672 §3.1.1).
  const future = new FakeClock(Date.UTC(2100, 0, 1));
  assert.equal(daneCheck([rec(3, 1, 1, MAIL_PEM)], peer, { hostnames: ['elsewhere.test'], clock: future }), undefined);
});

test('a wrong digest, another certificate, or a PKIX usage does not match', async () => {
  const peer = await peerOf(MAIL_PEM, MAIL_PEM, 'mail.example.test');
  const good = rec(3, 1, 1, MAIL_PEM);
  const flipped = Buffer.from(good.data);
  flipped[0] = (flipped[0] ?? 0) ^ 0xff;
  assert.match(daneCheck([{ ...good, data: flipped }], peer) ?? '', /no TLSA record matches/);
  assert.match(daneCheck([rec(3, 1, 1, CA_CRT)], peer) ?? '', /no TLSA record matches/);
  // PKIX-EE(1) / PKIX-TA(0) are unusable for SMTP (RFC 7672 §3.1.3), even with the right data.
  assert.match(daneCheck([{ ...good, usage: 1 }, { ...good, usage: 0 }], peer) ?? '', /no usable TLSA records/);
  // A digest of the wrong length is unusable; a usable record beside it still counts.
  assert.equal(daneCheck([{ ...good, data: good.data.subarray(0, 20) }, good], peer), undefined);
  assert.deepEqual(usableTlsa([{ ...good, data: good.data.subarray(0, 20) }, { ...good, selector: 2 }, { ...good, matchingType: 3 }]), []);
});

test('DANE-TA(2) for the test CA matches a leaf it issued, with the name checked', async () => {
  const peer = await peerOf(issued.cert + CA_CRT, issued.key, 'mx.dane.test');
  for (const [selector, matching] of [[0, 1], [1, 1], [0, 0], [1, 2]] as const) {
    assert.equal(daneCheck([rec(2, selector, matching, CA_CRT)], peer, { hostnames: ['mx.dane.test'] }), undefined, `2 ${selector} ${matching}`);
  }
  const ta = rec(2, 1, 1, CA_CRT);
  assert.match(daneCheck([ta], peer, { hostnames: ['other.dane.test'] }) ?? '', /does not name other\.dane\.test/);
  assert.match(daneCheck([ta], peer) ?? '', /no reference host name/);
  assert.match(daneCheck([ta], peer, { hostnames: ['mx.dane.test'], clock: new FakeClock(Date.UTC(2100, 0, 1)) }) ?? '', /validity/);
  // The leaf itself is not a trust anchor.
  assert.match(daneCheck([rec(2, 1, 1, issued.cert)], peer, { hostnames: ['mx.dane.test'] }) ?? '', /no TLSA record matches/);
});

test('DANE-TA needs the anchor in the chain the server sent, and a real signature path to it', async () => {
  const ta = rec(2, 0, 1, CA_CRT);
  const leafOnly = await peerOf(issued.cert, issued.key, 'mx.dane.test');
  assert.match(daneCheck([ta], leafOnly, { hostnames: ['mx.dane.test'] }) ?? '', /no TLSA record matches/);
  // A self-signed certificate followed by the CA certificate: the CA did not issue it, so no link.
  const unrelated = await peerOf(MAIL_PEM.split(/(?<=-----END CERTIFICATE-----\n)/)[0] + CA_CRT, MAIL_PEM, 'mail.example.test');
  assert.match(daneCheck([ta], unrelated, { hostnames: ['mail.example.test'] }) ?? '', /no TLSA record matches/);
  // A leaf from an impostor CA with the same name, sent with the real CA: the names link, the signature does not.
  const forged = await peerOf(impostorLeaf.cert + CA_CRT, impostorLeaf.key, 'mx.dane.test');
  assert.equal(forged.issuerCertificate?.subject?.CN, 'Petrel Test CA', 'Node linked the chain by name');
  assert.match(daneCheck([ta], forged, { hostnames: ['mx.dane.test'] }) ?? '', /not signed by the next/);
});

test('client-alice.crt, issued by the test CA, matches a DANE-TA record for the CA', async () => {
  const alice = fs.readFileSync(path.join(FIXTURES, 'client-alice.pem'), 'utf8');
  const peer = await peerOf(fs.readFileSync(path.join(FIXTURES, 'client-alice.crt'), 'utf8') + CA_CRT, alice, 'alice');
  // Alice's certificate names only CN=alice (no subjectAltName), which checkHost accepts as the name.
  assert.equal(daneCheck([rec(2, 1, 1, CA_CRT)], peer, { hostnames: ['alice'] }), undefined);
});

test('daneState trusts only authenticated TLSA answers', async () => {
  const res = new MxResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 });
  const ee = rec(3, 1, 1, MAIL_PEM);
  const spec = { type: 'TLSA' as const, usage: ee.usage, selector: ee.selector, matchingType: ee.matchingType, certificate: ee.data };

  dns.set('_25._tcp.mail.example.test', [spec]);
  assert.equal((await daneState(res, 'mail.example.test')).state, 'no-tlsa', 'AD clear: ignored');

  res.clearCache();
  dns.setAuthenticated('_25._tcp.mail.example.test');
  const secure = await daneState(res, 'mail.example.test');
  assert.equal(secure.state, 'secure-tlsa');
  if (secure.state === 'secure-tlsa') {
    const peer = await peerOf(MAIL_PEM, MAIL_PEM, 'mail.example.test');
    assert.equal(daneCheck(secure.records, peer, { hostnames: ['mail.example.test'] }), undefined);
  }

  dns.set('_25._tcp.pkix.example.test', [{ ...spec, usage: 1 }]);
  dns.setAuthenticated('_25._tcp.pkix.example.test');
  assert.equal((await daneState(res, 'pkix.example.test')).state, 'unusable-tlsa');

  dns.set('notlsa.example.test', [{ type: 'A', address: '192.0.2.1' }]);
  dns.setAuthenticated('_25._tcp.notlsa.example.test');
  assert.deepEqual(await daneState(res, 'notlsa.example.test'), { state: 'no-tlsa', reason: 'no TLSA records for notlsa.example.test' });

  dns.fail('_25._tcp.broken.example.test', 'SERVFAIL');
  assert.equal((await daneState(res, 'broken.example.test')).state, 'temp-fail');

  dns.set('_2525._tcp.mail.example.test', [spec]);
  dns.setAuthenticated('_2525._tcp.mail.example.test');
  assert.equal((await daneState(res, 'mail.example.test', { port: 2525 })).state, 'secure-tlsa');
});

test('from route() to daneCheck: a host named by insecure DNS skips the TLSA lookup', async () => {
  const res = new MxResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 });
  dns.set('dane.test', [{ type: 'MX', preference: 10, exchange: 'mx.dane.test' }]);
  dns.set('mx.dane.test', [{ type: 'A', address: '127.0.0.1' }]);
  dns.set('_25._tcp.mx.dane.test', [{ type: 'TLSA', usage: 2, selector: 1, matchingType: 1, certificate: tlsaData(CA_CRT, 1, 1) }]);
  for (const n of ['dane.test', 'mx.dane.test', '_25._tcp.mx.dane.test']) dns.setAuthenticated(n);

  const route = await res.route('dane.test');
  assert.ok(route.kind === 'hosts');
  const host = route.hosts[0]!;
  const state = await daneState(res, host);
  assert.equal(state.state, 'secure-tlsa');
  const peer = await peerOf(issued.cert + CA_CRT, issued.key, 'mx.dane.test');
  if (state.state === 'secure-tlsa') assert.equal(daneCheck(state.records, peer, { hostnames: [host.host] }), undefined);

  const before = dns.queries.filter((q) => q.type === 'TLSA').length;
  const insecure = await daneState(res, { ...host, authenticated: false });
  assert.equal(insecure.state, 'no-tlsa');
  assert.equal(dns.queries.filter((q) => q.type === 'TLSA').length, before, 'no TLSA query for an insecure host');
});
