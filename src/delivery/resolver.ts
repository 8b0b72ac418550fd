/**
 * @module delivery/resolver
 *
 * Where mail for a domain goes: MX lookup (RFC 5321 §5.1), null MX
 * (RFC 7505), IP literals, configured routes (`route` / `smtp-hosts`), and
 * the TXT and TLSA lookups MTA-STS and DANE need. Everything is asked with
 * `DnsClient` (dns-packet over UDP, TCP on truncation) rather than node:dns,
 * so every answer carries its TTL and the AD bit (see `dns-query.ts`).
 *
 * Exports:
 *  - `MxResolver` — `route(domain)`, `hostRoutes(spec, domain)`,
 *    `addresses(host)`, `txt(name)`, `tlsa(port, host)`, `clearCache()`.
 *  - `ResolvedMxHost` (an `MxHost` plus `authenticated`), `ResolvedRoute`,
 *    `AddressFailure`, `TxtResult`, `TlsaRecord`, `TlsaAnswer`,
 *    `MxResolverOptions`.
 *
 * Contracts:
 *  - Nothing here throws for DNS trouble: SERVFAIL, REFUSED, timeouts and
 *    garbage become `temp-fail` (defer, `retry-after-dns-error`); only
 *    NXDOMAIN of the domain itself (or a domain with neither MX nor address
 *    records, RFC 5321 §5.1) is `nxdomain` (bounce, `bad-domain`).
 *  - Hosts come out in the order to try them: by MX preference, equal
 *    preferences shuffled with the injected `rng` (RFC 5321 §5.1); each
 *    host's addresses are IPv4 first, then IPv6.
 *  - An MX host that does not resolve is skipped; if none resolves, the
 *    route is `temp-fail`.
 *  - A configured route (`hostRoutes`) never bounces: if nothing in it
 *    resolves it is `temp-fail` — a typo in the config must not bounce mail.
 *  - Answers are cached per (name, type) for the smallest TTL of the records
 *    used (capped at one day); NXDOMAIN/NODATA for min(SOA TTL, SOA
 *    minimum) capped at 5 minutes (RFC 2308 §5); failures are not cached.
 *    The cache is bounded (`maxEntries`, least recently used evicted) and
 *    runs on the injected `Clock`. A route's `ttlMs` is the smallest
 *    remaining TTL of the RRsets that produced its hosts and addresses.
 *  - `ResolvedMxHost.authenticated` is true only when every RRset that led to
 *    the host (the MX RRset, or its secure denial, and the host's A/AAAA)
 *    came with the AD bit: the precondition for DANE (RFC 7672 §2.2.1-2).
 *  - The recursive resolver follows CNAMEs (RFC 1034 §4.3.2); we read the
 *    chain out of its answer and do not chase further ourselves.
 *
 * Trust: the AD bit is only as good as the resolver and the path to it.
 * Petrel trusts the AD bit of its configured resolver (RFC 7672 §2.1,
 * RFC 6698 §4.1): point `resolver-servers` at a validating resolver on
 * loopback (e.g. unbound on 127.0.0.1) when DANE is used.
 *
 * XXX RFC 5321 §5.1 says to drop MX hosts at or below our own preference when
 * we are listed; that needs the local identity and is the dispatcher's job.
 */

import * as net from 'node:net';
import { domainToASCII } from 'node:url';
import type { Answer, RecordType } from 'dns-packet';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import type { HostRoute } from '../config/types.js';
import type { MxHost, RouteResult } from './types.js';
import { DnsClient, isValidDnsName } from './dns-query.js';
import type { DnsQueryStats } from './dns-query.js';
import { TtlCache } from './dns-cache.js';

export interface MxResolverOptions {
  /** 'IP' or 'IP:port' (`resolver-servers`); empty or absent = the system resolvers. */
  readonly servers?: readonly string[];
  readonly clock?: Clock;
  /** Per DNS try, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Rounds over the server list (default 2). */
  readonly tries?: number;
  /** Port for hosts found by MX or A lookup (`default-smtp-port`, default 25). */
  readonly defaultPort?: number;
  /** Bound on cached answers (default 10000). */
  readonly maxCacheEntries?: number;
  /** Random source in [0, 1) for shuffling equal MX preferences (default Math.random). */
  readonly rng?: () => number;
}

/** An `MxHost` plus whether DNSSEC covered every record that named it. */
export interface ResolvedMxHost extends MxHost {
  readonly authenticated: boolean;
}

/** `RouteResult` whose hosts are `ResolvedMxHost`s (assignable to `RouteResult`). */
export type ResolvedRoute =
  | { readonly kind: 'hosts'; readonly hosts: readonly ResolvedMxHost[]; readonly ttlMs: number }
  | Exclude<RouteResult, { kind: 'hosts' }>;

export type AddressFailure = Extract<RouteResult, { kind: 'nxdomain' | 'temp-fail' }>;

/** TXT records, each a list of its character-strings; [] when the name has none. */
export type TxtResult = string[][] | { readonly kind: 'temp-fail'; readonly detail: string };

/** One TLSA record (RFC 6698 §2.1). */
export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly data: Buffer;
}

export type TlsaAnswer =
  | { readonly kind: 'records'; readonly records: readonly TlsaRecord[]; readonly authenticated: boolean; readonly ttlMs: number }
  /** NXDOMAIN or NODATA. */
  | { readonly kind: 'none'; readonly authenticated: boolean }
  | { readonly kind: 'temp-fail'; readonly detail: string };

/** One (name, type) lookup, as cached. `ttlMs` is what is left of it. */
type Lookup =
  | { readonly kind: 'data'; readonly records: readonly Answer[]; readonly ttlMs: number; readonly authenticated: boolean }
  | { readonly kind: 'nodata' | 'nxdomain'; readonly ttlMs: number; readonly authenticated: boolean }
  | { readonly kind: 'error'; readonly detail: string };

type AddressSet =
  | { readonly kind: 'ok'; readonly addresses: readonly string[]; readonly ttlMs: number; readonly authenticated: boolean }
  | AddressFailure;

const MAX_POSITIVE_TTL_MS = 86_400_000;
const MAX_NEGATIVE_TTL_MS = 300_000; // RFC 2308 §5 suggests 1–3 h max; we keep it short
/** How long an IP-literal or configured-IP route is good for (no DNS behind it). */
const LITERAL_TTL_MS = 3_600_000;
/** Bound on MX hosts resolved per domain (Postfix smtp_mx_address_limit is 5; we keep more). */
const MAX_MX_HOSTS = 16;

/** Lower case, no trailing dot, IDNA A-labels; undefined if not a valid name. */
function normalizeName(raw: string): string | undefined {
  let s = raw.trim().replace(/\.$/, '');
  if (/[^\x00-\x7f]/.test(s)) s = domainToASCII(s);
  s = s.toLowerCase();
  return isValidDnsName(s) ? s : undefined;
}

function ownerOf(a: Answer): string {
  return a.name.toLowerCase().replace(/\.$/, '');
}

/** `[192.0.2.1]` / `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3) → the address; null if bracketed but bad; undefined if not a literal. */
function addressLiteral(domain: string): string | null | undefined {
  const m = /^\[(.*)\]$/.exec(domain.trim());
  if (!m) return undefined;
  const inner = m[1] ?? '';
  const v6 = /^ipv6:(.*)$/i.exec(inner);
  if (v6) return net.isIPv6(v6[1] ?? '') ? (v6[1] ?? '').toLowerCase() : null;
  return net.isIPv4(inner) ? inner : null;
}

/** Fisher–Yates over `items` (in place) with `rng`. */
function shuffle<T>(items: T[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng() * (i + 1)));
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
}

export class MxResolver {
  readonly #dns: DnsClient;
  readonly #clock: Clock;
  readonly #cache: TtlCache<Lookup>;
  readonly #inflight = new Map<string, Promise<Lookup>>();
  readonly #rng: () => number;
  #cacheHits = 0;
  readonly defaultPort: number;

  constructor(opts: MxResolverOptions = {}) {
    this.#dns = new DnsClient({
      ...(opts.servers !== undefined ? { servers: opts.servers } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.tries !== undefined ? { tries: opts.tries } : {}),
    });
    this.#clock = opts.clock ?? systemClock;
    this.#cache = new TtlCache<Lookup>(this.#clock, opts.maxCacheEntries ?? 10_000);
    this.#rng = opts.rng ?? Math.random;
    this.defaultPort = opts.defaultPort ?? 25;
  }

  clearCache(): void {
    this.#cache.clear();
  }

  /** DNS questions actually sent (cache misses) and answers served from the cache. */
  stats(): DnsQueryStats & { cacheHits: number } {
    return { ...this.#dns.stats, cacheHits: this.#cacheHits };
  }

  /** The hosts to deliver `domain`'s mail to (RFC 5321 §5.1, RFC 7505). */
  async route(domain: string): Promise<ResolvedRoute> {
    const literal = addressLiteral(domain);
    if (literal === null) return { kind: 'nxdomain', detail: `${domain}: malformed address literal` };
    if (literal !== undefined) {
      const host: ResolvedMxHost = { host: literal, preference: 0, addresses: [literal], port: this.defaultPort, fromMx: false, authenticated: false };
      return { kind: 'hosts', hosts: [host], ttlMs: LITERAL_TTL_MS };
    }
    const name = normalizeName(domain);
    if (name === undefined) return { kind: 'nxdomain', detail: `'${domain}' is not a valid domain name` };

    const mx = await this.#lookup(name, 'MX');
    switch (mx.kind) {
      case 'error':
        return { kind: 'temp-fail', detail: `MX lookup for ${name} failed: ${mx.detail}` };
      case 'nxdomain':
        return { kind: 'nxdomain', detail: `${name}: no such domain (NXDOMAIN)` };
      case 'nodata':
        return this.#implicitMx(name, mx);
      case 'data':
        return this.#fromMx(name, mx);
    }
  }

  /** RFC 5321 §5.1: no MX records → the domain itself is the host, at preference 0. */
  async #implicitMx(name: string, mx: { readonly ttlMs: number; readonly authenticated: boolean }): Promise<ResolvedRoute> {
    const set = await this.#addressSet(name);
    if (set.kind !== 'ok') return set.kind === 'nxdomain' ? { kind: 'nxdomain', detail: `${name}: no MX records and ${set.detail}` } : set;
    if (set.addresses.length === 0) return { kind: 'nxdomain', detail: `${name} has no MX and no A/AAAA records (RFC 5321 §5.1)` };
    const host: ResolvedMxHost = {
      host: name,
      preference: 0,
      addresses: set.addresses,
      port: this.defaultPort,
      fromMx: false,
      authenticated: mx.authenticated && set.authenticated,
    };
    return { kind: 'hosts', hosts: [host], ttlMs: Math.min(mx.ttlMs, set.ttlMs) };
  }

  async #fromMx(name: string, mx: Extract<Lookup, { kind: 'data' }>): Promise<ResolvedRoute> {
    // Dedupe exchanges (keeping the best preference) and spot the null MX.
    const best = new Map<string, number>();
    let nullMx = false;
    for (const r of mx.records) {
      if (r.type !== 'MX') continue;
      const exchange = r.data.exchange.toLowerCase().replace(/\.$/, '');
      if (exchange === '') {
        nullMx = true;
        continue;
      }
      const pref = r.data.preference ?? 0;
      const seen = best.get(exchange);
      if (seen === undefined || pref < seen) best.set(exchange, pref);
    }
    // RFC 7505 §3: "0 ." alone means no mail. A domain MUST NOT mix it with other MX
    // records; if one does, we ignore the null entry and use the others.
    if (best.size === 0) {
      return nullMx ? { kind: 'null-mx' } : { kind: 'temp-fail', detail: `${name}: MX answer without usable records` };
    }

    // Sort by preference, shuffle within equal preferences (RFC 5321 §5.1).
    const byPref = new Map<number, string[]>();
    for (const [exchange, pref] of best) byPref.set(pref, [...(byPref.get(pref) ?? []), exchange]);
    const ordered: { exchange: string; preference: number }[] = [];
    for (const pref of [...byPref.keys()].sort((a, b) => a - b)) {
      const group = byPref.get(pref) ?? [];
      group.sort();
      shuffle(group, this.#rng);
      for (const exchange of group) ordered.push({ exchange, preference: pref });
    }
    const wanted = ordered.slice(0, MAX_MX_HOSTS);

    const sets = await Promise.all(wanted.map((w) => this.#addressSet(w.exchange)));
    const hosts: ResolvedMxHost[] = [];
    const problems: string[] = [];
    let ttlMs = mx.ttlMs;
    wanted.forEach((w, i) => {
      const set = sets[i] as AddressSet;
      if (set.kind !== 'ok') {
        problems.push(`${w.exchange}: ${set.detail}`);
      } else if (set.addresses.length === 0) {
        problems.push(`${w.exchange}: no A/AAAA records`);
      } else {
        ttlMs = Math.min(ttlMs, set.ttlMs);
        hosts.push({
          host: w.exchange,
          preference: w.preference,
          addresses: set.addresses,
          port: this.defaultPort,
          fromMx: true,
          authenticated: mx.authenticated && set.authenticated,
        });
      }
    });
    if (hosts.length === 0) return { kind: 'temp-fail', detail: `no MX host of ${name} resolved (${problems.join('; ')})` };
    return { kind: 'hosts', hosts, ttlMs };
  }

  /**
   * PowerMTA `route` / `smtp-hosts` values, in the order given: `[IP]:port`
   * (no lookup), `host:port` (its A/AAAA), `lookup-mx:domain` (that domain's
   * MX). An empty list means the normal MX route of `domain`.
   * Preference = position × 65536 + MX preference, so the order survives.
   */
  async hostRoutes(spec: readonly HostRoute[], domain: string): Promise<ResolvedRoute> {
    if (spec.length === 0) return this.route(domain);
    const parts = await Promise.all(
      spec.map(async (r, i): Promise<{ hosts: ResolvedMxHost[]; ttlMs: number } | string> => {
        const base = i * 65536;
        switch (r.kind) {
          case 'ip':
            return {
              hosts: [{ host: r.address, preference: base, addresses: [r.address], port: r.port ?? this.defaultPort, fromMx: false, authenticated: false }],
              ttlMs: LITERAL_TTL_MS,
            };
          case 'host': {
            const set = await this.#addressSet(r.host);
            if (set.kind !== 'ok') return `${r.text}: ${set.detail}`;
            if (set.addresses.length === 0) return `${r.text}: no A/AAAA records`;
            const host = normalizeName(r.host) ?? r.host;
            return {
              hosts: [{ host, preference: base, addresses: set.addresses, port: r.port ?? this.defaultPort, fromMx: false, authenticated: set.authenticated }],
              ttlMs: set.ttlMs,
            };
          }
          case 'lookup-mx': {
            const route = await this.route(r.domain);
            if (route.kind !== 'hosts') return `${r.text}: ${route.kind === 'null-mx' ? 'null MX (RFC 7505)' : route.detail}`;
            return {
              hosts: route.hosts.map((h) => ({ ...h, preference: base + h.preference, port: r.port ?? h.port })),
              ttlMs: route.ttlMs,
            };
          }
        }
      }),
    );
    const hosts: ResolvedMxHost[] = [];
    const problems: string[] = [];
    let ttlMs = LITERAL_TTL_MS;
    for (const p of parts) {
      if (typeof p === 'string') {
        problems.push(p);
      } else {
        hosts.push(...p.hosts);
        ttlMs = Math.min(ttlMs, p.ttlMs);
      }
    }
    if (hosts.length === 0) return { kind: 'temp-fail', detail: `no configured host for ${domain} resolved (${problems.join('; ')})` };
    return { kind: 'hosts', hosts, ttlMs };
  }

  /** A and AAAA of `host` (IPv4 first); [] when the name exists without addresses. An IP address is returned as is. */
  async addresses(host: string): Promise<string[] | AddressFailure> {
    const set = await this.#addressSet(host);
    return set.kind === 'ok' ? [...set.addresses] : set;
  }

  /** TXT records of `name`; [] for NXDOMAIN or NODATA. */
  async txt(name: string): Promise<TxtResult> {
    const n = normalizeName(name);
    if (n === undefined) return [];
    const r = await this.#lookup(n, 'TXT');
    if (r.kind === 'error') return { kind: 'temp-fail', detail: `TXT lookup for ${n} failed: ${r.detail}` };
    if (r.kind !== 'data') return [];
    return r.records.flatMap((a) => {
      if (a.type !== 'TXT') return [];
      const parts = Array.isArray(a.data) ? a.data : [a.data];
      return [parts.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8')))];
    });
  }

  /**
   * TLSA records of `_<port>._tcp.<host>` (RFC 6698 §3, RFC 7672 §2.2), asked
   * with DO set. `authenticated` is the AD bit: whether the caller may use them.
   */
  async tlsa(port: number, host: string): Promise<TlsaAnswer> {
    const n = normalizeName(`_${port}._tcp.${host}`);
    if (n === undefined) return { kind: 'temp-fail', detail: `'${host}' is not a valid host name` };
    const r = await this.#lookup(n, 'TLSA', true);
    switch (r.kind) {
      case 'error':
        return { kind: 'temp-fail', detail: `TLSA lookup for ${n} failed: ${r.detail}` };
      case 'nxdomain':
      case 'nodata':
        return { kind: 'none', authenticated: r.authenticated };
      case 'data': {
        const records: TlsaRecord[] = [];
        for (const a of r.records) {
          if (a.type === 'TLSA') records.push({ usage: a.data.usage, selector: a.data.selector, matchingType: a.data.matchingType, data: Buffer.from(a.data.certificate) });
        }
        return { kind: 'records', records, authenticated: r.authenticated, ttlMs: r.ttlMs };
      }
    }
  }

  // --- Lookups ---------------------------------------------------------------

  async #addressSet(rawHost: string): Promise<AddressSet> {
    const ip = rawHost.replace(/^\[|\]$/g, '');
    if (net.isIP(ip)) return { kind: 'ok', addresses: [ip.toLowerCase()], ttlMs: LITERAL_TTL_MS, authenticated: false };
    const host = normalizeName(rawHost);
    if (host === undefined) return { kind: 'nxdomain', detail: `'${rawHost}' is not a valid host name` };
    const [a, aaaa] = await Promise.all([this.#lookup(host, 'A'), this.#lookup(host, 'AAAA')]);
    if (a.kind === 'nxdomain' || aaaa.kind === 'nxdomain') return { kind: 'nxdomain', detail: `${host}: no such host (NXDOMAIN)` };
    const good = [a, aaaa].filter((l): l is Exclude<Lookup, { kind: 'error' }> => l.kind !== 'error');
    const addresses = good.flatMap((l) => (l.kind === 'data' ? l.records.flatMap((r) => (r.type === 'A' || r.type === 'AAAA' ? [r.data] : [])) : []));
    // One family failing while the other answered with addresses is still usable
    // (a broken AAAA server must not stop IPv4 delivery); otherwise it's a failure.
    if (good.length < 2 && addresses.length === 0) {
      const details = [a, aaaa].flatMap((l) => (l.kind === 'error' ? [l.detail] : []));
      return { kind: 'temp-fail', detail: `address lookup for ${host} failed: ${details.join('; ')}` };
    }
    // The TTL of the RRsets that gave addresses; a NODATA for the other family
    // (often uncacheable: no SOA) must not make the whole route uncacheable.
    const withData = good.filter((l) => l.kind === 'data');
    return {
      kind: 'ok',
      addresses,
      ttlMs: Math.min(...(withData.length > 0 ? withData : good).map((l) => l.ttlMs)),
      authenticated: good.length === 2 && good.every((l) => l.authenticated),
    };
  }

  /** One (name, type) lookup through the cache; concurrent identical lookups share one query. */
  #lookup(name: string, type: RecordType, dnssec = false): Promise<Lookup> {
    const key = `${type} ${name}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cacheHits++;
      return Promise.resolve({ ...hit.value, ttlMs: hit.remainingMs } as Lookup);
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const p = this.#ask(name, type, dnssec).then((result) => {
      this.#inflight.delete(key);
      if (result.kind !== 'error') this.#cache.set(key, result, result.ttlMs);
      return result;
    });
    this.#inflight.set(key, p);
    return p;
  }

  async #ask(name: string, type: RecordType, dnssec: boolean): Promise<Lookup> {
    let res;
    try {
      res = await this.#dns.query(name, type, { dnssec });
    } catch (err) {
      return { kind: 'error', detail: err instanceof Error ? err.message : String(err) };
    }
    // Follow the CNAME chain inside the answer (the resolver already chased it).
    let owner = name;
    let ttlS = Infinity;
    for (let hop = 0; hop < 16; hop++) {
      const cname = res.answers.find((a) => a.type === 'CNAME' && ownerOf(a) === owner);
      if (!cname || cname.type !== 'CNAME') break;
      ttlS = Math.min(ttlS, cname.ttl ?? 0);
      owner = String(cname.data).toLowerCase().replace(/\.$/, '');
    }
    const records = res.answers.filter((a) => a.type === type && ownerOf(a) === owner);
    if (records.length > 0) {
      for (const r of records) ttlS = Math.min(ttlS, r.type === 'OPT' ? 0 : (r.ttl ?? 0));
      return { kind: 'data', records, ttlMs: Math.min(ttlS * 1000, MAX_POSITIVE_TTL_MS), authenticated: res.authenticated };
    }
    // RFC 2308 §5: negative answers live for min(SOA TTL, SOA MINIMUM); without an SOA, not at all.
    const soa = res.authorities.find((a) => a.type === 'SOA');
    const negMs = soa && soa.type === 'SOA' ? Math.min((soa.ttl ?? 0) * 1000, (soa.data.minimum ?? 0) * 1000, MAX_NEGATIVE_TTL_MS) : 0;
    return { kind: res.rcode === 3 ? 'nxdomain' : 'nodata', ttlMs: negMs, authenticated: res.authenticated };
  }
}
