/**
 * @module test/harness/dns-server
 *
 * An authoritative DNS server for delivery tests, on loopback, answering
 * over UDP and TCP on the same port (RFC 1035 §4.2). Tests point a resolver
 * at it (`new Resolver().setServers([server.address])`) and script the zone.
 *
 * Exports:
 *  - `TestDnsServer`: `start({ host, port, authenticated })`, `port`,
 *    `address` ('127.0.0.1:PORT', or '[::1]:PORT'), `set(name, records)`,
 *    `add(name, records)`, `remove(name)`, `clear()`,
 *    `fail(name, how, type?)`, `unfail(name)`, `setAuthenticated(name, on)`,
 *    `queries`, `stop()`.
 *  - `RecordSpec`: the records a test can publish (MX, A, AAAA, TXT, CNAME,
 *    TLSA, PTR, NS, SOA).
 *  - `ptrName(ip)`: the in-addr.arpa / ip6.arpa owner name for an address.
 *
 * Contracts:
 *  - Names are case-insensitive (RFC 4343) and a trailing dot is ignored.
 *  - A name that was `set` (or is an ancestor of one, an "empty
 *    non-terminal", RFC 8020) but has no record of the asked type answers
 *    NOERROR with no answers and an SOA in authority (NODATA, RFC 2308 §2.2);
 *    a name never set answers NXDOMAIN with an SOA (RFC 2308 §2.1).
 *  - A/AAAA/MX/TXT/TLSA/... lookups follow CNAMEs inside the test zone (up
 *    to 8 links), answering the chain (RFC 1034 §4.3.2 step 3a).
 *  - `fail(name, 'TIMEOUT')` sends nothing at all, over UDP or TCP.
 *  - The AD bit (RFC 4035 §3.2.3) is set when every owner name in the answer
 *    chain was marked with `setAuthenticated`, or the server was started
 *    with `authenticated: true`. It is set whatever the query's DO/AD bits
 *    say: this is a test peer, the real validating resolver is elsewhere.
 *  - UDP answers longer than 512 bytes (or the EDNS payload size the query
 *    advertised, RFC 6891 §6.2.5) are replaced by an empty answer with TC set
 *    (RFC 1035 §4.2.1), so the client retries over TCP.
 *  - Garbage never stops the server: undecodable packets with a readable
 *    header get FORMERR, shorter ones are dropped.
 *  - `set()` throws at once for a record dns-packet cannot encode.
 */

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';

export type RecordSpec =
  | { type: 'MX'; preference: number; exchange: string; ttl?: number }
  | { type: 'A'; address: string; ttl?: number }
  | { type: 'AAAA'; address: string; ttl?: number }
  | { type: 'TXT'; data: string | string[]; ttl?: number }
  | { type: 'CNAME'; target: string; ttl?: number }
  | { type: 'TLSA'; usage: number; selector: number; matchingType: number; certificate: Buffer; ttl?: number }
  | { type: 'PTR'; target: string; ttl?: number }
  | { type: 'NS'; target: string; ttl?: number }
  | {
      type: 'SOA';
      mname: string;
      rname: string;
      serial?: number;
      refresh?: number;
      retry?: number;
      expire?: number;
      minimum?: number;
      ttl?: number;
    };

export type DnsFailure = 'SERVFAIL' | 'NXDOMAIN' | 'TIMEOUT' | 'REFUSED';

export interface DnsQueryRecord {
  /** Lower case, no trailing dot. */
  name: string;
  /** 'MX', 'A', ..., or 'UNKNOWN_<n>'. */
  type: string;
  transport: 'udp' | 'tcp';
}

const DEFAULT_TTL = 300;
const MAX_CNAME_CHAIN = 8;
const CLASSIC_UDP_LIMIT = 512; // RFC 1035 §2.3.4
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Lower case, without the trailing dot; the root is ''. */
function norm(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/** Split a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
function txtStrings(data: string | string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const s of Array.isArray(data) ? data : [data]) {
    const b = Buffer.from(s, 'utf8');
    if (b.length === 0) out.push(b);
    for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255));
  }
  return out;
}

function toAnswer(owner: string, r: RecordSpec): Answer {
  const base = { name: owner, ttl: r.ttl ?? DEFAULT_TTL, class: 'IN' as const };
  switch (r.type) {
    case 'MX':
      return { ...base, type: 'MX', data: { preference: r.preference, exchange: r.exchange } };
    case 'A':
    case 'AAAA':
      return { ...base, type: r.type, data: r.address };
    case 'TXT':
      return { ...base, type: 'TXT', data: txtStrings(r.data) };
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return { ...base, type: r.type, data: r.target };
    case 'TLSA':
      return {
        ...base,
        type: 'TLSA',
        data: { usage: r.usage, selector: r.selector, matchingType: r.matchingType, certificate: r.certificate },
      };
    case 'SOA':
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: r.mname,
          rname: r.rname,
          serial: r.serial ?? 1,
          refresh: r.refresh ?? 3600,
          retry: r.retry ?? 600,
          expire: r.expire ?? 86400,
          minimum: r.minimum ?? 60,
        },
      };
  }
}

/** The reverse-lookup owner name for an IPv4 or IPv6 address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function ptrName(ip: string): string {
  if (net.isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  if (!net.isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const [head = '', tail = ''] = ip.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
}

export class TestDnsServer {
  readonly host: string;
  readonly port: number;
  /** What `Resolver.setServers()` takes: '127.0.0.1:PORT' or '[::1]:PORT'. */
  readonly address: string;
  /** Every question received, in order. */
  readonly queries: DnsQueryRecord[] = [];

  #udp: dgram.Socket;
  #tcp: net.Server;
  #tcpSockets = new Set<net.Socket>();
  #zone = new Map<string, RecordSpec[]>();
  #failures = new Map<string, { how: DnsFailure; type: string | undefined }>();
  #authenticated = new Set<string>();
  #allAuthenticated: boolean;

  private constructor(udp: dgram.Socket, tcp: net.Server, host: string, port: number, allAuthenticated: boolean) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.host = host;
    this.port = port;
    this.address = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    this.#allAuthenticated = allAuthenticated;
    udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
    udp.on('error', () => {}); // e.g. ICMP port unreachable on send: irrelevant to tests
    tcp.on('connection', (s) => this.#onTcp(s));
  }

  /**
   * Bind UDP and TCP on the same port. With port 0, the UDP port the kernel
   * picks is then claimed for TCP; if TCP finds it taken, try again (bounded).
   */
  static async start(opts: { host?: string; port?: number; authenticated?: boolean } = {}): Promise<TestDnsServer> {
    const host = opts.host ?? '127.0.0.1';
    const wanted = opts.port ?? 0;
    let lastError: unknown;
    for (let attempt = 0; attempt < (wanted === 0 ? 20 : 1); attempt++) {
      const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(wanted, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        lastError = err;
        await new Promise<void>((r) => udp.close(() => r()));
        continue;
      }
      return new TestDnsServer(udp, tcp, host, port, opts.authenticated ?? false);
    }
    throw lastError instanceof Error ? lastError : new Error('could not bind the test DNS server');
  }

  /** Replace every record of `name` (an empty list makes the name exist with no data). */
  set(name: string, records: RecordSpec[]): void {
    const owner = norm(name);
    for (const r of records) {
      if ((r.type === 'A' && !net.isIPv4(r.address)) || (r.type === 'AAAA' && !net.isIPv6(r.address))) {
        throw new Error(`${name}: not an ${r.type === 'A' ? 'IPv4' : 'IPv6'} address: ${r.address}`);
      }
    }
    for (const r of records) dnsPacket.encode({ type: 'response', answers: [toAnswer(owner || '.', r)] }); // throws early on a bad spec
    this.#zone.set(owner, [...records]);
  }

  /** Add records to `name`, keeping those already there. */
  add(name: string, records: RecordSpec[]): void {
    this.set(name, [...(this.#zone.get(norm(name)) ?? []), ...records]);
  }

  /** Forget `name` (it answers NXDOMAIN again unless it is an ancestor of another name). */
  remove(name: string): void {
    this.#zone.delete(norm(name));
  }

  /** Forget all records, failures, authentication marks and recorded queries. */
  clear(): void {
    this.#zone.clear();
    this.#failures.clear();
    this.#authenticated.clear();
    this.queries.length = 0;
  }

  /** Make lookups of `name` (only of `type`, if given) fail this way until `unfail`/`clear`. */
  fail(name: string, how: DnsFailure, type?: RecordSpec['type']): void {
    this.#failures.set(norm(name), { how, type });
  }

  unfail(name: string): void {
    this.#failures.delete(norm(name));
  }

  /** Mark answers about `name` as DNSSEC-validated (AD bit), for DANE tests. */
  setAuthenticated(name: string, on = true): void {
    if (on) this.#authenticated.add(norm(name));
    else this.#authenticated.delete(norm(name));
  }

  async stop(): Promise<void> {
    for (const s of this.#tcpSockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => this.#tcp.close(() => r())),
      new Promise<void>((r) => {
        try {
          this.#udp.close(() => r());
        } catch {
          r(); // already closed
        }
      }),
    ]);
  }

  // --- Transports ------------------------------------------------------------

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const reply = this.#handle(msg, 'udp');
    if (reply) this.#udp.send(reply, rinfo.port, rinfo.address);
  }

  /** RFC 1035 §4.2.2: each message is preceded by a two-byte length; many per connection. */
  #onTcp(socket: net.Socket): void {
    this.#tcpSockets.add(socket);
    socket.on('close', () => this.#tcpSockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        const reply = this.#handle(msg, 'tcp');
        if (reply && !socket.destroyed) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      }
    });
  }

  // --- Answering ---------------------------------------------------------------

  /** The encoded reply to one message, or undefined to stay silent. Never throws. */
  #handle(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return msg.length >= 12 && (msg.readUInt16BE(2) & 0x8000) === 0 ? errorReply(msg, RCODE.FORMERR) : undefined;
    }
    if (query.type === 'response') return undefined;
    try {
      return this.#answer(query, (msg.readUInt16BE(2) >> 11) & 0xf, transport);
    } catch {
      return errorReply(msg, RCODE.SERVFAIL);
    }
  }

  #answer(query: DecodedPacket, opcode: number, transport: 'udp' | 'tcp'): Buffer | undefined {
    const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const opt = query.additionals?.find((a) => a.type === 'OPT');
    const question = query.questions?.[0];
    const base = (rcode: number, extra = 0) => ({
      type: 'response' as const,
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | rd | extra | rcode,
      questions: query.questions ?? [],
      additionals: opt ? [optRecord()] : [],
    });
    if (opcode !== 0 /* QUERY */) return dnsPacket.encode({ ...base(RCODE.NOTIMP), questions: [] });
    if (!question || (query.questions?.length ?? 0) !== 1) return dnsPacket.encode(base(RCODE.FORMERR));

    const qname = norm(question.name);
    const qtype = question.type as string;
    this.queries.push({ name: qname, type: qtype, transport });

    const failure = this.#failures.get(qname);
    if (failure && (failure.type === undefined || failure.type === qtype)) {
      if (failure.how === 'TIMEOUT') return undefined;
      return dnsPacket.encode(base(RCODE[failure.how]));
    }

    const { rcode, answers, owners } = this.#resolve(qname, qtype);
    const authorities = answers.length === 0 ? [this.#soaFor(owners[owners.length - 1] ?? qname)] : [];
    const ad = this.#allAuthenticated || owners.every((o) => this.#authenticated.has(o)) ? dnsPacket.AUTHENTIC_DATA : 0;
    const packet: Packet = { ...base(rcode, ad), answers, authorities };
    const wire = dnsPacket.encode(packet);

    if (transport === 'udp') {
      const limit = opt && opt.type === 'OPT' ? Math.max(CLASSIC_UDP_LIMIT, opt.udpPayloadSize) : CLASSIC_UDP_LIMIT;
      if (wire.length > limit) return dnsPacket.encode(base(rcode, ad | dnsPacket.TRUNCATED_RESPONSE));
    }
    return wire;
  }

  /** Look `qname`/`qtype` up, following CNAMEs. `owners` lists each name visited. */
  #resolve(qname: string, qtype: string): { rcode: number; answers: Answer[]; owners: string[] } {
    const answers: Answer[] = [];
    const owners: string[] = [];
    let name = qname;
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      owners.push(name);
      const records = this.#zone.get(name);
      if (records === undefined) {
        return { rcode: this.#isEmptyNonTerminal(name) ? RCODE.NOERROR : RCODE.NXDOMAIN, answers, owners };
      }
      const matching = records.filter((r) => qtype === 'ANY' || r.type === qtype);
      if (matching.length > 0) {
        answers.push(...matching.map((r) => toAnswer(name || '.', r)));
        return { rcode: RCODE.NOERROR, answers, owners };
      }
      const cname = records.find((r): r is Extract<RecordSpec, { type: 'CNAME' }> => r.type === 'CNAME');
      if (!cname) return { rcode: RCODE.NOERROR, answers, owners };
      answers.push(toAnswer(name || '.', cname));
      name = norm(cname.target);
    }
    return { rcode: RCODE.SERVFAIL, answers: [], owners }; // CNAME loop or too long a chain
  }

  #isEmptyNonTerminal(name: string): boolean {
    const suffix = name === '' ? '' : `.${name}`;
    for (const owner of this.#zone.keys()) if (owner.endsWith(suffix) && owner !== name) return true;
    return false;
  }

  /** The SOA of the closest enclosing name that has one, else one made up for the last two labels. */
  #soaFor(name: string): Answer {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const owner = labels.slice(i).join('.');
      const soa = this.#zone.get(owner)?.find((r) => r.type === 'SOA');
      if (soa) return toAnswer(owner || '.', soa);
    }
    const zone = labels.slice(-2).join('.') || '.';
    return toAnswer(zone, { type: 'SOA', mname: `ns.${zone}`, rname: `hostmaster.${zone}`, ttl: 60 });
  }
}

function optRecord(): Answer {
  return { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

/** A bare reply carrying only the query's id, RD bit and an rcode; built by hand so it works for any header. */
function errorReply(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x0100) | dnsPacket.RECURSION_AVAILABLE | rcode, 2);
  return out;
}

