/**
 * @module delivery/mta-sts.test
 *
 * MTA-STS (RFC 8461): the TXT record and policy parsers and MX pattern
 * matching as pure functions; then discovery end to end against the
 * loopback DNS server and an HTTPS server on 127.0.0.1 whose certificate
 * for mta-sts.example.test is issued by the test CA: fetch, caching until
 * max_age on a FakeClock, refetch on id change, keeping the cached policy
 * when the fetch or the TXT lookup fails, and refusing redirects, wrong
 * content types, oversized bodies and certificates for the wrong name.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../../test/harness/dns-server.js';
import { FakeClock } from '../util/clock.js';
import { MxResolver } from './resolver.js';
import { MtaStsPolicies, mxPatternMatches, parsePolicy, parseStsRecord } from './mta-sts.js';
import type { MtaStsEvent, MtaStsOptions } from './mta-sts.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/tls/', import.meta.url));
const CA_CRT = fs.readFileSync(path.join(FIXTURES, 'ca.crt'));

const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmx: *.backup.example.test\r\nmax_age: 86400\r\n';

// --- Pure parsing -------------------------------------------------------------------------

test('parsePolicy: CRLF and LF, spacing, case, unknown keys, repeated mx', () => {
  const expected = { mode: 'enforce', mx: ['mail.example.test', '*.backup.example.test'], maxAgeS: 86400, id: 'x1' };
  assert.deepEqual(parsePolicy(POLICY, 'x1'), expected);
  assert.deepEqual(parsePolicy(POLICY.replace(/\r\n/g, '\n'), 'x1'), expected);
  assert.deepEqual(
    parsePolicy('Version:STSv1\nMODE:   Enforce  \nextension_key: whatever: really\nmx: MAIL.example.test.\nmx:*.backup.example.test\nmax_age: 86400', 'x1'),
    expected,
  );
  assert.deepEqual(parsePolicy('version: STSv1\nmode: none\nmax_age: 0\n'), { mode: 'none', mx: [], maxAgeS: 0, id: '' });
  assert.equal((parsePolicy('version: STSv1\nmode: testing\nmx: a.test\nmax_age: 99999999999') as { error: string }).error, "bad max_age '99999999999'");
  assert.equal((parsePolicy('version: STSv1\nmode: testing\nmx: a.test\nmax_age: 9999999999') as { maxAgeS: number }).maxAgeS, 31_557_600);
});

test('parsePolicy refuses what RFC 8461 §3.2 does not allow', () => {
  const bad: [string, RegExp][] = [
    ['mode: enforce\nmx: a.test\nmax_age: 10', /version/],
    ['version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 10', /version/],
    ['version: STSv1\nmode: strict\nmx: a.test\nmax_age: 10', /bad mode 'strict'/],
    ['version: STSv1\nmx: a.test\nmax_age: 10', /bad mode/],
    ['version: STSv1\nmode: enforce\nmax_age: 10', /without mx/],
    ['version: STSv1\nmode: testing\nmax_age: 10', /without mx/],
    ['version: STSv1\nmode: enforce\nmx: a.test', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: *.*.a.test\nmax_age: 10', /bad mx pattern/],
    ['version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 10\nthis line has no colon', /malformed/],
    ['<html>not a policy</html>', /malformed/],
  ];
  for (const [text, re] of bad) {
    const r = parsePolicy(text);
    assert.ok('error' in r, text);
    assert.match((r as { error: string }).error, re, text);
  }
});

test('parseStsRecord: one v=STSv1 record with an id', () => {
  assert.deepEqual(parseStsRecord([['v=STSv1; id=20240101T000000;']]), { id: '20240101T000000' });
  assert.deepEqual(parseStsRecord([['v=STSv1;', ' id=abc ; ext=1']]), { id: 'abc' }, 'strings are concatenated');
  assert.deepEqual(parseStsRecord([['v=spf1 -all'], ['v=STSv1;id=abc']]), { id: 'abc' }, 'other records are ignored');
  assert.match((parseStsRecord([]) as { error: string }).error, /no v=STSv1/);
  assert.match((parseStsRecord([['v=STSv1; id=a'], ['v=STSv1; id=b']]) as { error: string }).error, /2 v=STSv1/);
  assert.match((parseStsRecord([['v=STSv1;']]) as { error: string }).error, /id/);
  assert.match((parseStsRecord([[`v=STSv1; id=${'a'.repeat(33)}`]]) as { error: string }).error, /id/);
  assert.match((parseStsRecord([['v=STSv1; id=a-b']]) as { error: string }).error, /id/);
  assert.match((parseStsRecord([['v=STSv10; id=a']]) as { error: string }).error, /no v=STSv1/);
});

test('mxPatternMatches: exact names and one-label wildcards (RFC 8461 §4.1)', () => {
  assert.ok(mxPatternMatches('mail.example.com', 'MAIL.Example.COM.'));
  assert.ok(!mxPatternMatches('mail.example.com', 'mail2.example.com'));
  assert.ok(mxPatternMatches('*.example.com', 'mx1.example.com'));
  assert.ok(!mxPatternMatches('*.example.com', 'example.com'));
  assert.ok(!mxPatternMatches('*.example.com', 'a.b.example.com'));
  assert.ok(!mxPatternMatches('*.example.com', 'mx1.badexample.com'));
});

// --- Discovery over DNS and HTTPS ------------------------------------------------------------

let tmp: string;
let dns: TestDnsServer;
let web: https.Server;
let webPort: number;
let requests: string[] = [];
let reply: { status: number; type: string; body: string; location?: string };

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-mta-sts-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: tmp, timeout: 20_000, stdio: 'pipe' });
  fs.writeFileSync(path.join(tmp, 'ext.cnf'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:mta-sts.example.test\n');
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'web.key', '-out', 'web.csr', '-subj', '/CN=mta-sts.example.test']);
  run(['x509', '-req', '-in', 'web.csr', '-CA', path.join(FIXTURES, 'ca.crt'), '-CAkey', path.join(FIXTURES, 'ca.key'), '-set_serial', '0x57517e57', '-days', '30', '-out', 'web.crt', '-extfile', 'ext.cnf']);
  web = https.createServer({ key: fs.readFileSync(path.join(tmp, 'web.key')), cert: fs.readFileSync(path.join(tmp, 'web.crt')) }, (req, res) => {
    requests.push(`${req.headers.host ?? ''}${req.url ?? ''}`);
    const headers: Record<string, string> = { 'content-type': reply.type };
    if (reply.location) headers.location = reply.location;
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  webPort = (web.address() as { port: number }).port;
  dns = await TestDnsServer.start();
});

after(async () => {
  web.closeAllConnections();
  await new Promise<void>((r) => web.close(() => r()));
  await dns.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  dns.clear();
  requests = [];
  reply = { status: 200, type: 'text/plain; charset=utf-8', body: POLICY };
  dns.set('_mta-sts.example.test', [{ type: 'TXT', data: 'v=STSv1; id=one;', ttl: 60 }]);
  dns.set('mta-sts.example.test', [{ type: 'A', address: '127.0.0.1' }]);
});

function setup(extra: Partial<MtaStsOptions> = {}): { sts: MtaStsPolicies; clock: FakeClock; events: MtaStsEvent[] } {
  const clock = new FakeClock();
  const events: MtaStsEvent[] = [];
  const resolver = new MxResolver({ servers: [dns.address], clock, timeoutMs: 500, tries: 1 });
  const sts = new MtaStsPolicies({ resolver, clock, https: { port: webPort, ca: CA_CRT, timeoutMs: 10_000 }, onEvent: (e) => events.push(e), ...extra });
  return { sts, clock, events };
}

test('the policy is fetched over HTTPS from mta-sts.<domain> and used to judge MX hosts', async () => {
  const { sts } = setup();
  const policy = await sts.policyFor('Example.Test');
  assert.deepEqual(policy, { mode: 'enforce', mx: ['mail.example.test', '*.backup.example.test'], maxAgeS: 86400, id: 'one' });
  assert.deepEqual(requests, [`mta-sts.example.test:${webPort}/.well-known/mta-sts.txt`]);
  assert.ok(sts.mxAllowed(policy!, 'mail.example.test'));
  assert.ok(sts.mxAllowed(policy!, 'mx7.backup.example.test'));
  assert.ok(!sts.mxAllowed(policy!, 'evil.test'));
});

test('no TXT record, or a broken one, means no policy and no fetch', async () => {
  const { sts, events } = setup();
  assert.equal(await sts.policyFor('nopolicy.test'), undefined);
  dns.set('_mta-sts.broken.test', [{ type: 'TXT', data: 'v=STSv1; id=a' }, { type: 'TXT', data: 'v=STSv1; id=b' }]);
  assert.equal(await sts.policyFor('broken.test'), undefined);
  assert.deepEqual(requests, []);
  assert.deepEqual(events.map((e) => e.kind), ['bad-record']);
});

test('a cached policy is used until max_age, then fetched again', async () => {
  const { sts, clock } = setup();
  reply.body = POLICY.replace('max_age: 86400', 'max_age: 3600');
  await sts.policyFor('example.test');
  clock.advance(3_599_000);
  assert.equal((await sts.policyFor('example.test'))?.id, 'one');
  assert.equal(requests.length, 1);
  clock.advance(2_000);
  reply.body = POLICY.replace('mode: enforce', 'mode: testing');
  assert.equal((await sts.policyFor('example.test'))?.mode, 'testing');
  assert.equal(requests.length, 2);
});

test('a new TXT id triggers a refetch; a failed refetch keeps the cached policy (RFC 8461 §5.1)', async () => {
  const { sts, clock, events } = setup();
  await sts.policyFor('example.test');
  dns.set('_mta-sts.example.test', [{ type: 'TXT', data: 'v=STSv1; id=two;', ttl: 60 }]);
  clock.advance(61_000); // the old TXT answer expires from the resolver cache
  reply = { status: 500, type: 'text/plain', body: 'oops' };
  const kept = await sts.policyFor('example.test');
  assert.equal(kept?.id, 'one');
  assert.equal(requests.length, 2);
  assert.deepEqual(events.at(-1), { kind: 'fetch-failed', domain: 'example.test', detail: 'mta-sts.example.test: HTTP 500', usingCached: true });

  reply = { status: 200, type: 'text/plain', body: POLICY.replace('mx: mail', 'mx: mail2') };
  const fresh = await sts.policyFor('example.test');
  assert.equal(fresh?.id, 'two');
  assert.deepEqual(fresh?.mx, ['mail2.example.test', '*.backup.example.test']);
});

test('the cached policy survives a vanished TXT record and a failing TXT lookup', async () => {
  const { sts, clock } = setup();
  await sts.policyFor('example.test');
  dns.remove('_mta-sts.example.test');
  clock.advance(61_000);
  assert.equal((await sts.policyFor('example.test'))?.id, 'one');
  dns.fail('_mta-sts.example.test', 'SERVFAIL');
  clock.advance(61_000);
  assert.equal((await sts.policyFor('example.test'))?.id, 'one');
  assert.equal(requests.length, 1);
});

test('without a cached policy a failed fetch means no policy', async () => {
  const cases: { reply: typeof reply; detail: RegExp }[] = [
    { reply: { status: 301, type: 'text/plain', body: '', location: 'https://elsewhere.test/' }, detail: /HTTP 301/ },
    { reply: { status: 200, type: 'text/html', body: POLICY }, detail: /text\/html/ },
    { reply: { status: 200, type: 'text/plain', body: POLICY + 'x'.repeat(70_000) }, detail: /larger than 65536/ },
    { reply: { status: 200, type: 'text/plain', body: 'version: STSv1\nmode: enforce\nmax_age: 5\n' }, detail: /bad policy: mode enforce without mx/ },
  ];
  for (const c of cases) {
    const { sts, events } = setup();
    reply = c.reply;
    assert.equal(await sts.policyFor('example.test'), undefined, String(c.detail));
    const last = events.at(-1);
    assert.ok(last?.kind === 'fetch-failed' && !last.usingCached);
    assert.match(last.detail, c.detail);
  }
  assert.equal(requests.length, cases.length, 'redirects are not followed');
});

test('the certificate must be valid for mta-sts.<domain> and chain to a trusted CA', async () => {
  dns.set('_mta-sts.other.test', [{ type: 'TXT', data: 'v=STSv1; id=x;' }]);
  dns.set('mta-sts.other.test', [{ type: 'A', address: '127.0.0.1' }]);
  const { sts, events } = setup();
  assert.equal(await sts.policyFor('other.test'), undefined);
  const wrongName = events.at(-1);
  assert.ok(wrongName?.kind === 'fetch-failed');
  assert.match(wrongName.detail, /mta-sts\.other\.test.*altnames/);

  const untrusted = setup({ https: { port: webPort, timeoutMs: 10_000 } }); // Node's bundled roots only
  assert.equal(await untrusted.sts.policyFor('example.test'), undefined);
  const noTrust = untrusted.events.at(-1);
  assert.ok(noTrust?.kind === 'fetch-failed');
  assert.match(noTrust.detail, /certificate/);
  assert.deepEqual(requests, [], 'no request reached the server');
});

test('the policy host address can come from a custom lookup, and a fetch function can replace HTTPS', async () => {
  dns.remove('mta-sts.example.test');
  const looked: string[] = [];
  const { sts } = setup({ https: { port: webPort, ca: CA_CRT, lookup: async (h) => (looked.push(h), '127.0.0.1') } });
  assert.equal((await sts.policyFor('example.test'))?.mode, 'enforce');
  assert.deepEqual(looked, ['mta-sts.example.test']);

  const fetched: string[] = [];
  const custom = setup({ fetchPolicy: async (d) => (fetched.push(d), 'version: STSv1\nmode: none\nmax_age: 60\n') });
  assert.equal((await custom.sts.policyFor('example.test'))?.mode, 'none');
  assert.deepEqual(fetched, ['example.test']);
});

test('concurrent lookups for one domain share one fetch', async () => {
  const { sts } = setup();
  const [a, b, c] = await Promise.all([sts.policyFor('example.test'), sts.policyFor('example.test'), sts.policyFor('EXAMPLE.test.')]);
  assert.deepEqual(a, b);
  assert.deepEqual(b, c);
  assert.equal(requests.length, 1);
});
