/**
 * @module delivery/dns-query
 *
 * A small stub-resolver client: one question to a recursive resolver over
 * UDP, retried over TCP when the answer is truncated (RFC 1035 §4.2.1,
 * RFC 7766 §5), built on `dns-packet`.
 *
 * Why not `node:dns`: its `resolveMx` gives no TTL, it cannot ask for TLSA,
 * and it hides the AD bit (RFC 4035 §3.2.3) that DANE needs. One client for
 * every record type keeps the TTLs, the AD bit and the error mapping in one
 * place (reference/libraries.md §3).
 *
 * Exports:
 *  - `DnsClient` — `query(name, type, { dnssec })` → `DnsResponse`.
 *  - `DnsResponse` — rcode (NOERROR or NXDOMAIN only), answers, authorities,
 *    `authenticated` (the AD bit of the answer).
 *  - `DnsError` (code: `DnsErrorCode`) — every failure that means "try later".
 *  - `parseServer(text)`, `systemServers()`, `isValidDnsName(name)`.
 *  - `DnsQueryStats` — `DnsClient.stats`: questions by final outcome and the
 *    wall time spent on them (for /metrics: a slow resolver delays every
 *    first delivery to a domain).
 *
 * Invariants:
 *  - `query` resolves only with NOERROR or NXDOMAIN; every other outcome
 *    (SERVFAIL, REFUSED, FORMERR, NOTIMP, timeout, network, garbage) is a
 *    rejected `DnsError`, after every server was tried `tries` times.
 *  - An answer is accepted only from the server asked (connected UDP socket),
 *    with the query's random id and the same question (RFC 5452 §4.1).
 *  - Every socket is closed and every timer cleared when a try ends.
 *  - The AD bit is asked for on every query (RFC 6840 §5.7); DO (RFC 3225) is
 *    set only when `dnssec` is requested (TLSA), to keep answers small.
 */

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { getServers } from 'node:dns';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, RecordType } from 'dns-packet';

export type DnsErrorCode = 'TIMEOUT' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP' | 'BAD_RESPONSE' | 'NETWORK' | 'BAD_NAME' | 'NO_SERVERS';

/** A DNS failure that is not an answer: the caller defers (STYLE habit 14: environment trouble → 4xx). */
export class DnsError extends Error {
  override readonly name = 'DnsError';
  readonly code: DnsErrorCode;
  constructor(code: DnsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export interface DnsResponse {
  /** 0 (NOERROR) or 3 (NXDOMAIN). */
  readonly rcode: 0 | 3;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  /** The AD bit: the resolver validated the whole answer with DNSSEC. */
  readonly authenticated: boolean;
  /** 'host:port' of the server that answered, for details. */
  readonly server: string;
}

export interface DnsClientOptions {
  /** 'IP', 'IP:port', '[IPv6]:port'; empty or absent = the system resolvers (`/etc/resolv.conf`). */
  readonly servers?: readonly string[];
  /** Per try, in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Rounds over the server list (default 2). */
  readonly tries?: number;
}

const EDNS_PAYLOAD = 1232; // DNS flag day 2020: avoids IP fragmentation
const MAX_TCP_MESSAGE = 65535;
const RCODE_NAMES: Record<number, DnsErrorCode> = { 1: 'FORMERR', 2: 'SERVFAIL', 4: 'NOTIMP', 5: 'REFUSED' };

/** Parses 'IP', 'IP:port', '[IPv6]', '[IPv6]:port' or a bare IPv6 address. Throws on anything else. */
export function parseServer(text: string): DnsServer {
  const s = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host: string;
  let port = 53;
  if (bracket) {
    host = bracket[1] ?? '';
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (net.isIP(s)) {
    host = s;
  } else {
    const m = /^([^:]+):(\d+)$/.exec(s);
    if (!m) throw new DnsError('NO_SERVERS', `not a DNS server address: '${text}'`);
    host = m[1] ?? '';
    port = Number(m[2]);
  }
  if (!net.isIP(host) || !(port >= 1 && port <= 65535)) throw new DnsError('NO_SERVERS', `not a DNS server address: '${text}'`);
  return { host, port };
}

/** The system's resolvers, as node:dns read them from resolv.conf. */
export function systemServers(): DnsServer[] {
  return getServers().map(parseServer);
}

/** RFC 1035 §2.3.4: labels of 1..63 octets, at most 253 characters without the root dot. ASCII only (A-labels). */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  // eslint-disable-next-line no-control-regex
  if (!/^[\x21-\x7e]+$/.test(name)) return false;
  return name.split('.').every((l) => l.length >= 1 && l.length <= 63);
}

function fmt(server: DnsServer): string {
  return net.isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** Questions asked since start, by final outcome, and the time they took (retries included). */
export interface DnsQueryStats {
  noerror: number;
  nxdomain: number;
  /** Rejected with a `DnsError` after every server and try. */
  failed: number;
  seconds: number;
}

export class DnsClient {
  readonly servers: readonly DnsServer[];
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #stats: DnsQueryStats = { noerror: 0, nxdomain: 0, failed: 0, seconds: 0 };

  constructor(opts: DnsClientOptions = {}) {
    const list = opts.servers && opts.servers.length > 0 ? opts.servers.map(parseServer) : systemServers();
    if (list.length === 0) throw new DnsError('NO_SERVERS', 'no DNS servers configured');
    this.servers = list;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#tries = Math.max(1, opts.tries ?? 2);
  }

  /**
   * Ask `type` of `name` (no trailing dot needed). Resolves with NOERROR or
   * NXDOMAIN; rejects with `DnsError` after every server was tried.
   */
  async query(name: string, type: RecordType, opts: { dnssec?: boolean } = {}): Promise<DnsResponse> {
    const qname = name.replace(/\.$/, '');
    if (!isValidDnsName(qname)) throw new DnsError('BAD_NAME', `not a valid DNS name: '${name}'`);
    const started = performance.now();
    try {
      const res = await this.#askAll(qname, type, opts.dnssec === true);
      if (res.rcode === 3) this.#stats.nxdomain++;
      else this.#stats.noerror++;
      return res;
    } catch (err) {
      this.#stats.failed++;
      throw err;
    } finally {
      this.#stats.seconds += (performance.now() - started) / 1000;
    }
  }

  /** A copy of the counters since this client was made. */
  get stats(): DnsQueryStats {
    return { ...this.#stats };
  }

  async #askAll(qname: string, type: RecordType, dnssec: boolean): Promise<DnsResponse> {
    let last: DnsError = new DnsError('NO_SERVERS', 'no DNS servers configured');
    for (let round = 0; round < this.#tries; round++) {
      for (const server of this.servers) {
        try {
          return await this.#ask(server, qname, type, dnssec);
        } catch (err) {
          last = err instanceof DnsError ? err : new DnsError('NETWORK', `${fmt(server)}: ${(err as Error).message}`);
          if (last.code === 'BAD_NAME') throw last;
        }
      }
    }
    throw last;
  }

  /** One try against one server: UDP, then TCP if truncated. */
  async #ask(server: DnsServer, name: string, type: RecordType, dnssec: boolean): Promise<DnsResponse> {
    const id = randomInt(0, 65536);
    const wire = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
      questions: [{ type, name, class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: EDNS_PAYLOAD,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: dnssec ? dnsPacket.DNSSEC_OK : 0,
          flag_do: dnssec,
          options: [],
        },
      ],
    });
    let raw = await this.#udp(server, wire, (msg) => matches(msg, id, name, type));
    if ((raw.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0) {
      raw = await this.#tcp(server, wire, (msg) => matches(msg, id, name, type));
    }
    const rcode = raw.readUInt16BE(2) & 0xf;
    if (rcode !== 0 && rcode !== 3) {
      throw new DnsError(RCODE_NAMES[rcode] ?? 'BAD_RESPONSE', `${fmt(server)}: ${RCODE_NAMES[rcode] ?? `rcode ${rcode}`} for ${name}/${type}`);
    }
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(raw);
    } catch (err) {
      throw new DnsError('BAD_RESPONSE', `${fmt(server)}: undecodable answer for ${name}/${type}: ${(err as Error).message}`);
    }
    return {
      rcode: rcode as 0 | 3,
      answers: packet.answers ?? [],
      authorities: packet.authorities ?? [],
      authenticated: (raw.readUInt16BE(2) & dnsPacket.AUTHENTIC_DATA) !== 0,
      server: fmt(server),
    };
  }

  #udp(server: DnsServer, wire: Buffer, accept: (msg: Buffer) => boolean): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
      const finish = (err: Error | undefined, msg?: Buffer): void => {
        clearTimeout(timer);
        socket.removeAllListeners('message');
        socket.on('error', () => {});
        try {
          socket.close();
        } catch {
          /* already closed */
        }
        if (err) reject(err);
        else resolve(msg as Buffer);
      };
      const timer = setTimeout(() => finish(new DnsError('TIMEOUT', `${fmt(server)}: no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      socket.on('error', (err) => finish(new DnsError('NETWORK', `${fmt(server)}: ${err.message}`)));
      // A connected socket drops datagrams from any other address (RFC 5452 §4.1).
      socket.on('message', (msg) => {
        if (accept(msg)) finish(undefined, msg);
      });
      socket.connect(server.port, server.host, () => socket.send(wire));
    });
  }

  /** RFC 1035 §4.2.2 / RFC 7766: two-byte length prefix on both sides. */
  #tcp(server: DnsServer, wire: Buffer, accept: (msg: Buffer) => boolean): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect({ host: server.host, port: server.port });
      let buffered = Buffer.alloc(0);
      const finish = (err: Error | undefined, msg?: Buffer): void => {
        clearTimeout(timer);
        socket.removeAllListeners('data');
        socket.on('error', () => {});
        socket.destroy();
        if (err) reject(err);
        else resolve(msg as Buffer);
      };
      const timer = setTimeout(() => finish(new DnsError('TIMEOUT', `${fmt(server)}: no TCP answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      socket.on('error', (err) => finish(new DnsError('NETWORK', `${fmt(server)} (tcp): ${err.message}`)));
      socket.on('close', () => finish(new DnsError('NETWORK', `${fmt(server)} (tcp): connection closed before an answer`)));
      socket.on('connect', () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(wire.length);
        socket.write(Buffer.concat([prefix, wire]));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const len = buffered.readUInt16BE(0);
          if (len > MAX_TCP_MESSAGE || buffered.length < 2 + len) return;
          const msg = buffered.subarray(2, 2 + len);
          buffered = buffered.subarray(2 + len);
          if (accept(msg)) {
            finish(undefined, msg);
            return;
          }
        }
      });
    });
  }
}

/** Is `msg` the response to our question (id, QR bit, and the question echoed)? */
function matches(msg: Buffer, id: number, name: string, type: RecordType): boolean {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg.readUInt16BE(2) & 0x8000) === 0) return false;
  const rcode = msg.readUInt16BE(2) & 0xf;
  // Error replies may come without the question section (as some servers send them).
  if (msg.readUInt16BE(4) === 0) return rcode !== 0 && rcode !== 3;
  try {
    const q = dnsPacket.decode(msg).questions?.[0];
    return q !== undefined && q.type === type && q.name.toLowerCase().replace(/\.$/, '') === name.toLowerCase();
  } catch {
    return false;
  }
}
