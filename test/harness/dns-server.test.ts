/**
 * @module test/harness/dns-server.test
 *
 * The test DNS server answers Node's own resolver (c-ares) and raw
 * dns-packet queries over UDP and TCP the way delivery tests rely on.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import type { DecodedPacket as PacketTypes, Question } from 'dns-packet';

/** dns-packet decodes the rcode too; its types leave it out. */
type DecodedPacket = PacketTypes & { rcode?: string };
import { TestDnsServer, ptrName } from './dns-server.js';

let server: TestDnsServer;

before(async () => {
  server = await TestDnsServer.start();
});
after(async () => {
  await server.stop();
});
beforeEach(() => server.clear());

function resolver(): Resolver {
  const r = new Resolver({ timeout: 300, tries: 1 });
  r.setServers([server.address]);
  return r;
}

async function rejectsWithCode(p: Promise<unknown>, codes: string[]): Promise<void> {
  await assert.rejects(p, (err: NodeJS.ErrnoException) => {
    assert.ok(codes.includes(String(err.code)), `got ${err.code}, wanted one of ${codes.join(', ')}`);
    return true;
  });
}

function udpQuery(question: Question, opts: { id?: number; edns?: boolean } = {}): Promise<DecodedPacket> {
  const sock = dgram.createSocket('udp4');
  const id = opts.id ?? 4242;
  const packet = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [question],
    additionals: opts.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: true, options: [] }]
      : [],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('no UDP answer'));
    }, 2000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(msg));
    });
    sock.send(packet, server.port, '127.0.0.1');
  });
}

function tcpQuery(question: Question): Promise<DecodedPacket> {
  const packet = dnsPacket.streamEncode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [question] });
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.destroy();
        resolve(dnsPacket.streamDecode(buf) as DecodedPacket);
      }
    });
    sock.setTimeout(2000, () => {
      sock.destroy();
      reject(new Error('no TCP answer'));
    });
    // Split the message across two writes: framing must not assume one read per query.
    sock.write(packet.subarray(0, 3));
    setImmediate(() => sock.write(packet.subarray(3)));
  });
}

test('MX, A, AAAA and TXT resolve through node:dns, names case-insensitive with or without the trailing dot', async () => {
  server.set('Example.COM.', [
    { type: 'MX', preference: 20, exchange: 'mx2.example.com' },
    { type: 'MX', preference: 10, exchange: 'mx1.example.com' },
    { type: 'TXT', data: 'v=spf1 -all' },
  ]);
  server.set('mx1.example.com', [{ type: 'A', address: '127.0.0.2' }, { type: 'AAAA', address: '::1' }]);
  const r = resolver();
  const mx = (await r.resolveMx('example.com')).sort((a, b) => a.priority - b.priority);
  assert.deepEqual(mx, [
    { priority: 10, exchange: 'mx1.example.com' },
    { priority: 20, exchange: 'mx2.example.com' },
  ]);
  assert.deepEqual(await r.resolve4('MX1.example.com.'), ['127.0.0.2']);
  assert.deepEqual(await r.resolve6('mx1.example.com'), ['::1']);
  assert.deepEqual(await r.resolveTxt('example.com'), [['v=spf1 -all']]);
  assert.deepEqual(
    server.queries.map((q) => [q.name, q.type]),
    [
      ['example.com', 'MX'],
      ['mx1.example.com', 'A'],
      ['mx1.example.com', 'AAAA'],
      ['example.com', 'TXT'],
    ],
  );
});

test('a long TXT is split into 255-byte strings and a null MX (RFC 7505) comes back as "."', async () => {
  const long = 'p='.padEnd(600, 'A');
  server.set('sel._domainkey.example.com', [{ type: 'TXT', data: long }]);
  server.set('nomail.example.com', [{ type: 'MX', preference: 0, exchange: '.' }]);
  const r = resolver();
  const txt = await r.resolveTxt('sel._domainkey.example.com');
  assert.deepEqual(txt[0]!.map((s) => s.length), [255, 255, 90]);
  assert.equal(txt[0]!.join(''), long);
  const mx = await r.resolveMx('nomail.example.com');
  assert.equal(mx.length, 1);
  assert.equal(mx[0]!.priority, 0);
  assert.ok(mx[0]!.exchange === '' || mx[0]!.exchange === '.', `null MX exchange was ${JSON.stringify(mx[0]!.exchange)}`);
});

test('NXDOMAIN for unknown names, NODATA with an SOA for a known name without the type', async () => {
  server.set('example.com', [{ type: 'A', address: '127.0.0.3' }]);
  const r = resolver();
  await rejectsWithCode(r.resolveMx('nosuch.example.com'), ['ENOTFOUND']);
  await rejectsWithCode(r.resolveMx('example.com'), ['ENODATA']);
  const raw = await udpQuery({ type: 'MX', name: 'example.com' });
  assert.equal(raw.rcode, 'NOERROR');
  assert.equal(raw.answers!.length, 0);
  assert.equal(raw.authorities![0]!.type, 'SOA');
  const nx = await udpQuery({ type: 'A', name: 'nosuch.example.com' });
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities![0]!.type, 'SOA');
});

test('SERVFAIL, NXDOMAIN, REFUSED and TIMEOUT failures', async () => {
  server.set('sf.example.com', [{ type: 'MX', preference: 10, exchange: 'mx.example.com' }]);
  server.fail('sf.example.com', 'SERVFAIL');
  server.set('gone.example.com', [{ type: 'A', address: '127.0.0.4' }]);
  server.fail('gone.example.com', 'NXDOMAIN');
  server.fail('ref.example.com', 'REFUSED');
  server.fail('slow.example.com', 'TIMEOUT');
  const r = resolver();
  await rejectsWithCode(r.resolveMx('sf.example.com'), ['ESERVFAIL']);
  await rejectsWithCode(r.resolve4('gone.example.com'), ['ENOTFOUND']);
  await rejectsWithCode(r.resolve4('ref.example.com'), ['EREFUSED', 'ECONNREFUSED', 'ESERVFAIL']);
  await rejectsWithCode(r.resolveMx('slow.example.com'), ['ETIMEOUT', 'ECONNREFUSED']);
  server.unfail('sf.example.com');
  assert.deepEqual(await r.resolveMx('sf.example.com'), [{ priority: 10, exchange: 'mx.example.com' }]);
});

test('a failure can be limited to one record type', async () => {
  server.set('mx.example.com', [{ type: 'A', address: '127.0.0.5' }]);
  server.fail('mx.example.com', 'SERVFAIL', 'AAAA');
  const r = resolver();
  await rejectsWithCode(r.resolve6('mx.example.com'), ['ESERVFAIL']);
  assert.deepEqual(await r.resolve4('mx.example.com'), ['127.0.0.5']);
});

test('CNAMEs are followed for A and MX lookups', async () => {
  server.set('alias.example.com', [{ type: 'CNAME', target: 'real.example.net' }]);
  server.set('real.example.net', [
    { type: 'A', address: '127.0.0.6' },
    { type: 'MX', preference: 5, exchange: 'mx.example.net' },
  ]);
  const r = resolver();
  assert.deepEqual(await r.resolve4('alias.example.com'), ['127.0.0.6']);
  assert.deepEqual(await r.resolveMx('alias.example.com'), [{ priority: 5, exchange: 'mx.example.net' }]);
  assert.deepEqual(await r.resolveCname('alias.example.com'), ['real.example.net']);
});

test('PTR records answer reverse lookups', async () => {
  server.set(ptrName('127.0.0.2'), [{ type: 'PTR', target: 'mx1.example.com' }]);
  server.set(ptrName('::1'), [{ type: 'PTR', target: 'six.example.com' }]);
  const r = resolver();
  assert.deepEqual(await r.reverse('127.0.0.2'), ['mx1.example.com']);
  assert.deepEqual(await r.reverse('::1'), ['six.example.com']);
});

test('TLSA over UDP and TCP, with the AD bit only when the name is marked authenticated', async () => {
  const digest = Buffer.alloc(32, 0xab);
  const owner = '_25._tcp.mx.example.com';
  server.set(owner, [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1, certificate: digest }]);

  const unsigned = await udpQuery({ type: 'TLSA', name: owner });
  assert.equal(unsigned.id, 4242);
  assert.equal(unsigned.flag_ad, false);
  assert.equal(unsigned.answers!.length, 1);

  server.setAuthenticated(owner, true);
  for (const answer of [await udpQuery({ type: 'TLSA', name: owner }), await tcpQuery({ type: 'TLSA', name: owner })]) {
    assert.equal(answer.flag_ad, true);
    const rr = answer.answers![0]!;
    assert.equal(rr.type, 'TLSA');
    if (rr.type !== 'TLSA') return;
    assert.deepEqual(
      { usage: rr.data.usage, selector: rr.data.selector, matchingType: rr.data.matchingType },
      { usage: 3, selector: 1, matchingType: 1 },
    );
    assert.deepEqual(Buffer.from(rr.data.certificate), digest);
  }
  assert.deepEqual(
    server.queries.map((q) => q.transport),
    ['udp', 'udp', 'tcp'],
  );
});

test('a UDP answer over 512 bytes without EDNS is truncated (TC) and complete over TCP; with EDNS it fits', async () => {
  const records = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, address: `127.0.1.${i + 1}` }));
  server.set('big.example.com', records);
  const udp = await udpQuery({ type: 'A', name: 'big.example.com' });
  assert.equal(udp.flag_tc, true);
  assert.equal(udp.answers!.length, 0);
  const tcp = await tcpQuery({ type: 'A', name: 'big.example.com' });
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers!.length, 40);
  const edns = await udpQuery({ type: 'A', name: 'big.example.com' }, { edns: true });
  assert.equal(edns.flag_tc, false);
  assert.equal(edns.answers!.length, 40);
  // node:dns retries over TCP by itself and gets all of them.
  server.queries.length = 0;
  assert.equal((await resolver().resolve4('big.example.com')).length, 40);
  assert.deepEqual(
    server.queries.map((q) => q.transport),
    ['udp', 'tcp'],
  );
});

test('garbage packets do not stop the server', async () => {
  const sock = dgram.createSocket('udp4');
  const garbage = [Buffer.from('hello'), Buffer.alloc(12, 0xff), Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 0x0c])])];
  garbage.push(Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 1, 2])); // a label running off the end
  for (const g of garbage) await new Promise<void>((r) => sock.send(g, server.port, '127.0.0.1', () => r()));
  sock.close();
  const tcp = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => tcp.on('connect', () => r()));
  tcp.end(Buffer.from([0, 5, 1, 2, 3, 4, 5]));
  server.set('alive.example.com', [{ type: 'A', address: '127.0.0.7' }]);
  assert.deepEqual(await resolver().resolve4('alive.example.com'), ['127.0.0.7']);
});

test('set() refuses a record that cannot be encoded', () => {
  assert.throws(() => server.set('bad.example.com', [{ type: 'A', address: 'not-an-ip' }]));
});
