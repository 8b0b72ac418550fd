/**
 * @module delivery/resolver.test
 *
 * `MxResolver` against the loopback test DNS server (UDP + TCP): MX order
 * and shuffling, implicit MX, null MX, NXDOMAIN vs temporary failures,
 * skipped hosts, IP literals, configured routes, TTL and negative caching
 * on a FakeClock, the cache bound, truncation → TCP, IPv6 transport,
 * failover between servers, CNAMEs, the AD bit, TXT and TLSA.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { TestDnsServer } from '../../test/harness/dns-server.js';
import { FakeClock } from '../util/clock.js';
import { MxResolver } from './resolver.js';
import type { MxResolverOptions, ResolvedRoute } from './resolver.js';
import type { HostRoute } from '../config/types.js';
import { parseServer } from './dns-query.js';

let dns: TestDnsServer;

before(async () => {
  dns = await TestDnsServer.start();
});
after(async () => {
  await dns.stop();
});
beforeEach(() => dns.clear());

function resolver(opts: Partial<MxResolverOptions> = {}): MxResolver {
  return new MxResolver({ servers: [dns.address], timeoutMs: 1000, tries: 1, clock: new FakeClock(), ...opts });
}

function hostsOf(r: ResolvedRoute): { host: string; preference: number; addresses: readonly string[]; port: number; fromMx: boolean }[] {
  assert.equal(r.kind, 'hosts', `expected hosts, got ${JSON.stringify(r)}`);
  if (r.kind !== 'hosts') return [];
  return r.hosts.map(({ host, preference, addresses, port, fromMx }) => ({ host, preference, addresses, port, fromMx }));
}

function count(name: string, type: string): number {
  return dns.queries.filter((q) => q.name === name && q.type === type).length;
}

test('MX hosts come sorted by preference, each with IPv4 then IPv6 addresses', async () => {
  dns.set('example.test', [
    { type: 'MX', preference: 20, exchange: 'mx2.example.test' },
    { type: 'MX', preference: 10, exchange: 'MX1.Example.Test.' },
  ]);
  dns.set('mx1.example.test', [
    { type: 'AAAA', address: '2001:db8::1' },
    { type: 'A', address: '192.0.2.1' },
    { type: 'A', address: '192.0.2.2' },
  ]);
  dns.set('mx2.example.test', [{ type: 'A', address: '192.0.2.3' }]);
  const r = await resolver({ defaultPort: 2525 }).route('Example.TEST.');
  assert.deepEqual(hostsOf(r), [
    { host: 'mx1.example.test', preference: 10, addresses: ['192.0.2.1', '192.0.2.2', '2001:db8::1'], port: 2525, fromMx: true },
    { host: 'mx2.example.test', preference: 20, addresses: ['192.0.2.3'], port: 2525, fromMx: true },
  ]);
});

test('equal preferences are shuffled by the injected rng; lower preferences stay first', async () => {
  dns.set('shuffle.test', [
    { type: 'MX', preference: 5, exchange: 'a.shuffle.test' },
    { type: 'MX', preference: 5, exchange: 'b.shuffle.test' },
    { type: 'MX', preference: 5, exchange: 'c.shuffle.test' },
    { type: 'MX', preference: 1, exchange: 'first.shuffle.test' },
  ]);
  for (const h of ['a', 'b', 'c', 'first']) dns.set(`${h}.shuffle.test`, [{ type: 'A', address: '192.0.2.9' }]);
  const order = async (rng: () => number) => hostsOf(await resolver({ rng }).route('shuffle.test')).map((h) => h.host);
  assert.deepEqual(await order(() => 0.999), ['first.shuffle.test', 'a.shuffle.test', 'b.shuffle.test', 'c.shuffle.test']);
  assert.deepEqual(await order(() => 0), ['first.shuffle.test', 'b.shuffle.test', 'c.shuffle.test', 'a.shuffle.test']);
});

test('no MX records: the domain itself is the host (implicit MX, RFC 5321 §5.1)', async () => {
  dns.set('nomx.test', [
    { type: 'A', address: '192.0.2.7' },
    { type: 'AAAA', address: '2001:db8::7' },
  ]);
  assert.deepEqual(hostsOf(await resolver().route('nomx.test')), [
    { host: 'nomx.test', preference: 0, addresses: ['192.0.2.7', '2001:db8::7'], port: 25, fromMx: false },
  ]);
});

test('a domain with neither MX nor address records is permanent (nxdomain)', async () => {
  dns.set('empty.test', [{ type: 'TXT', data: 'hello' }]);
  const r = await resolver().route('empty.test');
  assert.equal(r.kind, 'nxdomain');
});

test('null MX (RFC 7505) and NXDOMAIN', async () => {
  dns.set('nullmx.test', [{ type: 'MX', preference: 0, exchange: '.' }]);
  const res = resolver();
  assert.deepEqual(await res.route('nullmx.test'), { kind: 'null-mx' });
  const nx = await res.route('nowhere.test');
  assert.equal(nx.kind, 'nxdomain');
});

test('SERVFAIL, REFUSED and silence are temporary failures', async () => {
  const res = resolver({ timeoutMs: 150 });
  for (const how of ['SERVFAIL', 'REFUSED', 'TIMEOUT'] as const) {
    dns.fail(`${how.toLowerCase()}.test`, how);
    const r = await res.route(`${how.toLowerCase()}.test`);
    assert.equal(r.kind, 'temp-fail', how);
    if (r.kind === 'temp-fail') assert.match(r.detail, how === 'TIMEOUT' ? /no answer/ : new RegExp(how));
  }
});

test('an MX host that does not resolve is skipped; if none resolves, temp-fail', async () => {
  dns.set('partial.test', [
    { type: 'MX', preference: 10, exchange: 'gone.partial.test' },
    { type: 'MX', preference: 20, exchange: 'broken.partial.test' },
    { type: 'MX', preference: 30, exchange: 'ok.partial.test' },
  ]);
  dns.fail('broken.partial.test', 'SERVFAIL');
  dns.set('ok.partial.test', [{ type: 'A', address: '192.0.2.30' }]);
  assert.deepEqual(hostsOf(await resolver().route('partial.test')).map((h) => h.host), ['ok.partial.test']);

  dns.remove('ok.partial.test');
  const r = await resolver().route('partial.test');
  assert.equal(r.kind, 'temp-fail');
  if (r.kind === 'temp-fail') assert.match(r.detail, /gone\.partial\.test.*NXDOMAIN.*broken\.partial\.test/);
});

test('one address family failing does not block the other', async () => {
  dns.set('v4only.test', [{ type: 'A', address: '192.0.2.44' }]);
  dns.fail('v4only.test', 'SERVFAIL', 'AAAA');
  assert.deepEqual(await resolver().addresses('v4only.test'), ['192.0.2.44']);
  dns.fail('v4only.test', 'SERVFAIL', 'A');
  const r = await resolver().addresses('v4only.test');
  assert.ok(!Array.isArray(r) && r.kind === 'temp-fail');
});

test('IP literals route to the address without DNS', async () => {
  const res = resolver();
  assert.deepEqual(hostsOf(await res.route('[192.0.2.1]')), [{ host: '192.0.2.1', preference: 0, addresses: ['192.0.2.1'], port: 25, fromMx: false }]);
  assert.deepEqual(hostsOf(await res.route('[IPv6:2001:DB8::5]')).map((h) => h.addresses), [['2001:db8::5']]);
  assert.equal((await res.route('[300.1.1.1]')).kind, 'nxdomain');
  assert.equal(dns.queries.length, 0);
});

test('answers are cached for their smallest TTL on the injected clock', async () => {
  const clock = new FakeClock();
  const res = resolver({ clock });
  dns.set('ttl.test', [{ type: 'MX', preference: 10, exchange: 'mx.ttl.test', ttl: 600 }]);
  dns.set('mx.ttl.test', [
    { type: 'A', address: '192.0.2.50', ttl: 120 },
    { type: 'AAAA', address: '2001:db8::50', ttl: 300 },
  ]);
  const first = await res.route('ttl.test');
  assert.ok(first.kind === 'hosts' && first.ttlMs === 120_000);
  clock.advance(119_000);
  const second = await res.route('ttl.test');
  assert.ok(second.kind === 'hosts' && second.ttlMs === 1_000, JSON.stringify(second));
  assert.equal(count('ttl.test', 'MX'), 1);
  assert.equal(count('mx.ttl.test', 'A'), 1);
  clock.advance(2_000);
  dns.set('mx.ttl.test', [{ type: 'A', address: '192.0.2.51', ttl: 120 }]);
  // The AAAA RRset (TTL 300) is still cached, though it is gone from the zone.
  assert.deepEqual(hostsOf(await res.route('ttl.test'))[0]?.addresses, ['192.0.2.51', '2001:db8::50']);
  assert.equal(count('ttl.test', 'MX'), 1, 'the MX RRset is still fresh');
  assert.equal(count('mx.ttl.test', 'A'), 2);
  res.clearCache();
  await res.route('ttl.test');
  assert.equal(count('ttl.test', 'MX'), 2);
});

test('negative answers are cached for the SOA minimum, at most 5 minutes (RFC 2308)', async () => {
  const clock = new FakeClock();
  const res = resolver({ clock });
  dns.set('short.test', [{ type: 'SOA', mname: 'ns.short.test', rname: 'h.short.test', minimum: 30, ttl: 3600 }]);
  dns.set('long.test', [{ type: 'SOA', mname: 'ns.long.test', rname: 'h.long.test', minimum: 3600, ttl: 3600 }]);
  for (const d of ['x.short.test', 'x.long.test']) assert.equal((await res.route(d)).kind, 'nxdomain');
  clock.advance(29_000);
  for (const d of ['x.short.test', 'x.long.test']) await res.route(d);
  assert.deepEqual([count('x.short.test', 'MX'), count('x.long.test', 'MX')], [1, 1]);
  clock.advance(2_000);
  for (const d of ['x.short.test', 'x.long.test']) await res.route(d);
  assert.deepEqual([count('x.short.test', 'MX'), count('x.long.test', 'MX')], [2, 1]);
  clock.advance(270_000); // 301 s after the first answer
  await res.route('x.long.test');
  assert.equal(count('x.long.test', 'MX'), 2);
});

test('failures are not cached', async () => {
  const res = resolver();
  dns.fail('flaky.test', 'SERVFAIL');
  assert.equal((await res.route('flaky.test')).kind, 'temp-fail');
  dns.unfail('flaky.test');
  dns.set('flaky.test', [{ type: 'A', address: '192.0.2.60' }]);
  assert.equal((await res.route('flaky.test')).kind, 'hosts');
});

test('the cache is bounded: the least recently used answer goes first', async () => {
  const res = resolver({ maxCacheEntries: 2 });
  for (const n of ['a', 'b', 'c']) dns.set(`${n}.bound.test`, [{ type: 'TXT', data: n }]);
  await res.txt('a.bound.test');
  await res.txt('b.bound.test');
  await res.txt('a.bound.test'); // a is now the most recent
  await res.txt('c.bound.test'); // evicts b
  await res.txt('a.bound.test');
  await res.txt('b.bound.test');
  assert.deepEqual(['a', 'b', 'c'].map((n) => count(`${n}.bound.test`, 'TXT')), [1, 2, 1]);
});

test('concurrent lookups of one name share a query', async () => {
  dns.set('shared.test', [{ type: 'MX', preference: 1, exchange: 'mx.shared.test' }]);
  dns.set('mx.shared.test', [{ type: 'A', address: '192.0.2.70' }]);
  const res = resolver();
  const [a, b] = await Promise.all([res.route('shared.test'), res.route('shared.test')]);
  assert.deepEqual(a, b);
  assert.equal(count('shared.test', 'MX'), 1);
});

test('configured routes: [IP]:port, host:port and lookup-mx keep their order and ports', async () => {
  dns.set('relay.test', [{ type: 'A', address: '192.0.2.80' }]);
  dns.set('other.test', [
    { type: 'MX', preference: 10, exchange: 'mx.other.test' },
    { type: 'MX', preference: 20, exchange: 'mx2.other.test' },
  ]);
  dns.set('mx.other.test', [{ type: 'A', address: '192.0.2.81' }]);
  dns.set('mx2.other.test', [{ type: 'AAAA', address: '2001:db8::82' }]);
  const spec: HostRoute[] = [
    { kind: 'ip', address: '::1', port: 2526, text: '[::1]:2526' },
    { kind: 'host', host: 'relay.test', port: 587, text: 'relay.test:587' },
    { kind: 'lookup-mx', domain: 'other.test', text: 'lookup-mx:other.test' },
  ];
  assert.deepEqual(hostsOf(await resolver().hostRoutes(spec, 'customer.test')), [
    { host: '::1', preference: 0, addresses: ['::1'], port: 2526, fromMx: false },
    { host: 'relay.test', preference: 65536, addresses: ['192.0.2.80'], port: 587, fromMx: false },
    { host: 'mx.other.test', preference: 131072 + 10, addresses: ['192.0.2.81'], port: 25, fromMx: true },
    { host: 'mx2.other.test', preference: 131072 + 20, addresses: ['2001:db8::82'], port: 25, fromMx: true },
  ]);
  assert.equal(count('customer.test', 'MX'), 0);
});

test('a configured route that resolves nothing defers instead of bouncing', async () => {
  dns.set('nullmx.test', [{ type: 'MX', preference: 0, exchange: '.' }]);
  const r = await resolver().hostRoutes(
    [
      { kind: 'host', host: 'typo.test', text: 'typo.test' },
      { kind: 'lookup-mx', domain: 'nullmx.test', text: 'lookup-mx:nullmx.test' },
    ],
    'customer.test',
  );
  assert.equal(r.kind, 'temp-fail');
  if (r.kind === 'temp-fail') assert.match(r.detail, /typo\.test.*NXDOMAIN.*null MX/);
  dns.set('customer.test', [{ type: 'A', address: '192.0.2.90' }]);
  assert.equal((await resolver().hostRoutes([], 'customer.test')).kind, 'hosts', 'an empty spec is the normal route');
});

test('a truncated UDP answer is retried over TCP', async () => {
  const long = 'x'.repeat(1500);
  dns.set('big.test', [{ type: 'TXT', data: [long, 'tail'] }]);
  assert.deepEqual(await resolver().txt('big.test'), [[...long.match(/.{1,255}/g)!, 'tail']]);
  assert.deepEqual(
    dns.queries.filter((q) => q.name === 'big.test').map((q) => q.transport),
    ['udp', 'tcp'],
  );
});

test('a DNS server on ::1, and failover past a dead server', async () => {
  const v6 = await TestDnsServer.start({ host: '::1' });
  try {
    v6.set('six.test', [{ type: 'AAAA', address: '2001:db8::6' }]);
    // A port nobody listens on: the connected UDP socket gets ICMP "port unreachable".
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const deadPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const res = new MxResolver({ servers: [`127.0.0.1:${deadPort}`, v6.address], timeoutMs: 1000, tries: 1 });
    assert.deepEqual(await res.addresses('six.test'), ['2001:db8::6']);
    assert.ok(v6.queries.some((q) => q.name === 'six.test'));
  } finally {
    await v6.stop();
  }
});

test('MX hosts behind CNAMEs resolve', async () => {
  dns.set('alias.test', [{ type: 'MX', preference: 10, exchange: 'mail.alias.test' }]);
  dns.set('mail.alias.test', [{ type: 'CNAME', target: 'real.alias.test', ttl: 60 }]);
  dns.set('real.alias.test', [{ type: 'A', address: '192.0.2.100', ttl: 600 }]);
  const r = await resolver().route('alias.test');
  assert.deepEqual(hostsOf(r)[0]?.addresses, ['192.0.2.100']);
  assert.ok(r.kind === 'hosts' && r.ttlMs === 60_000, 'the CNAME TTL counts');
});

test('hosts are marked authenticated only when the MX and address answers had the AD bit', async () => {
  dns.set('signed.test', [{ type: 'MX', preference: 10, exchange: 'mx.signed.test' }]);
  dns.set('mx.signed.test', [{ type: 'A', address: '192.0.2.110' }]);
  dns.setAuthenticated('signed.test');
  let r = await resolver().route('signed.test');
  assert.ok(r.kind === 'hosts' && r.hosts[0]?.authenticated === false, 'address records not validated');
  dns.setAuthenticated('mx.signed.test');
  r = await resolver().route('signed.test');
  assert.ok(r.kind === 'hosts' && r.hosts[0]?.authenticated === true);
});

test('TXT and TLSA lookups', async () => {
  const res = resolver();
  dns.set('_mta-sts.txt.test', [{ type: 'TXT', data: ['v=STSv1; ', 'id=abc;'] }, { type: 'TXT', data: 'other' }]);
  assert.deepEqual(await res.txt('_mta-sts.txt.test'), [['v=STSv1; ', 'id=abc;'], ['other']]);
  assert.deepEqual(await res.txt('none.txt.test'), []);
  dns.fail('bad.txt.test', 'SERVFAIL');
  assert.equal((await res.txt('bad.txt.test') as { kind: string }).kind, 'temp-fail');

  const digest = Buffer.alloc(32, 7);
  dns.set('_25._tcp.mx.tlsa.test', [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1, certificate: digest, ttl: 90 }]);
  assert.deepEqual(await res.tlsa(25, 'mx.tlsa.test'), {
    kind: 'records',
    records: [{ usage: 3, selector: 1, matchingType: 1, data: digest }],
    authenticated: false,
    ttlMs: 90_000,
  });
  dns.setAuthenticated('_25._tcp.mx2.tlsa.test');
  dns.set('mx2.tlsa.test', [{ type: 'A', address: '192.0.2.1' }]);
  assert.deepEqual(await res.tlsa(25, 'mx2.tlsa.test'), { kind: 'none', authenticated: true });
  assert.ok(dns.queries.some((q) => q.name === '_25._tcp.mx.tlsa.test' && q.type === 'TLSA'));
});

test('resolver-servers entries: IP, IP:port, [IPv6]:port; anything else is refused', () => {
  assert.deepEqual(parseServer('192.0.2.53'), { host: '192.0.2.53', port: 53 });
  assert.deepEqual(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseServer('[::1]:5353'), { host: '::1', port: 5353 });
  assert.deepEqual(parseServer('2001:db8::53'), { host: '2001:db8::53', port: 53 });
  for (const bad of ['dns.example', '127.0.0.1:0', '127.0.0.1:70000', '[::1', '']) assert.throws(() => parseServer(bad), { name: 'DnsError' }, bad);
  assert.throws(() => new MxResolver({ servers: ['nameserver.test'] }), { name: 'DnsError' });
});

test('names that are not valid DNS names are refused without a query', async () => {
  const res = resolver();
  assert.equal((await res.route('a..b.test')).kind, 'nxdomain');
  assert.equal((await res.route(`${'x'.repeat(64)}.test`)).kind, 'nxdomain');
  assert.equal(dns.queries.length, 0);
  dns.set('xn--bcher-kva.test', [{ type: 'A', address: '192.0.2.120' }]);
  assert.deepEqual(hostsOf(await res.route('Bücher.test')).map((h) => h.host), ['xn--bcher-kva.test'], 'IDNs are asked as A-labels');
});
