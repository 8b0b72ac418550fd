/**
 * @module delivery/mta-sts
 *
 * SMTP MTA Strict Transport Security (RFC 8461): discover a recipient
 * domain's policy (TXT `_mta-sts.<domain>`), fetch it over HTTPS, parse it,
 * cache it until `max_age`, and tell whether an MX host is allowed.
 *
 * Exports:
 *  - `MtaStsPolicies` — `policyFor(domain)` → `MtaStsPolicy | undefined`,
 *    `mxAllowed(policy, mxHost)`, `clear()`.
 *  - `parseStsRecord(records)`, `parsePolicy(text)`, `mxPatternMatches(pattern, host)`.
 *  - `MtaStsPolicy`, `MtaStsOptions`, `MtaStsFetchError`, `MtaStsEvent`.
 *
 * What a caller does with a policy (RFC 8461 §5): `enforce` → deliver only to
 * MX hosts `mxAllowed` accepts, with TLS required and the certificate
 * verified by CA and name (`TlsVerify` 'ca'); otherwise defer. `testing` →
 * deliver as usual but report failures (TLSRPT). `none` (or no policy) → the
 * domain's normal TLS settings. DANE, when it applies, takes precedence
 * (RFC 8461 §2).
 *
 * Invariants:
 *  - A policy is used only before fetch time + max_age (RFC 8461 §5.1), on
 *    the injected `Clock`.
 *  - A cached, unexpired policy is kept when the TXT record disappears or
 *    its lookup fails, and when a refetch fails (RFC 8461 §5.1, §8.3: a
 *    domain withdraws a policy by publishing mode `none`, not by deleting).
 *  - A new fetch happens only when there is no unexpired policy or the TXT
 *    `id` differs from the cached policy's (RFC 8461 §3.1, §5.1).
 *  - The fetch is HTTPS GET `https://mta-sts.<domain>/.well-known/mta-sts.txt`,
 *    certificate checked for `mta-sts.<domain>`, no redirects, only 200 with
 *    `text/plain`, at most 64 KB, within 60 s (RFC 8461 §3.3).
 *  - Concurrent `policyFor` calls for one domain share one fetch.
 */

import * as https from 'node:https';
import * as net from 'node:net';
import type { LookupFunction } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import type { MxResolver } from './resolver.js';
import { TtlCache } from './dns-cache.js';

export interface MtaStsPolicy {
  readonly mode: 'enforce' | 'testing' | 'none';
  /** Lower-case patterns: `mail.example.com` or `*.example.com`. */
  readonly mx: readonly string[];
  readonly maxAgeS: number;
  /** The TXT record's id this policy was fetched under. */
  readonly id: string;
}

export type MtaStsEvent =
  | { readonly kind: 'fetch-failed'; readonly domain: string; readonly detail: string; readonly usingCached: boolean }
  | { readonly kind: 'bad-record'; readonly domain: string; readonly detail: string }
  | { readonly kind: 'fetched'; readonly domain: string; readonly policy: MtaStsPolicy };

export interface MtaStsOptions {
  readonly resolver: Pick<MxResolver, 'txt' | 'addresses'>;
  readonly clock?: Clock;
  /** Replaces the HTTPS fetch (returns the policy text or throws). */
  readonly fetchPolicy?: (domain: string) => Promise<string>;
  readonly https?: {
    /** Port of the policy host (default 443; tests use a loopback port). */
    readonly port?: number;
    /** CA certificates to trust instead of Node's bundled roots. */
    readonly ca?: string | Buffer | readonly (string | Buffer)[];
    /** Address of `mta-sts.<domain>` (default: the first address `resolver.addresses` gives). */
    readonly lookup?: (host: string) => Promise<string>;
    /** Whole-fetch deadline in ms (default 60 000, RFC 8461 §3.3). */
    readonly timeoutMs?: number;
  };
  /** Policies kept at most (default 10 000). */
  readonly maxEntries?: number;
  /** Reports for logs/TLSRPT. */
  readonly onEvent?: (event: MtaStsEvent) => void;
}

export class MtaStsFetchError extends Error {
  override readonly name = 'MtaStsFetchError';
}

const MAX_POLICY_BYTES = 64 * 1024; // RFC 8461 §3.3
const MAX_AGE_LIMIT_S = 31_557_600; // RFC 8461 §3.2
const POLICY_PATH = '/.well-known/mta-sts.txt';

/**
 * The TXT record (RFC 8461 §3.1): `v=STSv1; id=<1-32 alnum>;`. `records` is
 * what `MxResolver.txt` gives (each record's strings are concatenated).
 * Records not starting with `v=STSv1` are ignored; not exactly one left, or
 * a bad one, means no policy.
 */
export function parseStsRecord(records: readonly (readonly string[])[]): { id: string } | { error: string } {
  const sts = records.map((r) => r.join('')).filter((t) => /^v=STSv1\s*(;|$)/.test(t));
  if (sts.length === 0) return { error: 'no v=STSv1 TXT record' };
  if (sts.length > 1) return { error: `${sts.length} v=STSv1 TXT records (RFC 8461 §3.1 wants one)` };
  let id: string | undefined;
  for (const field of (sts[0] as string).split(';').slice(1)) {
    const f = field.trim();
    if (f === '') continue;
    const m = /^([A-Za-z0-9_.-]+)=([\x21-\x3a\x3c\x3e-\x7e]*)$/.exec(f);
    if (!m) return { error: `malformed field '${f}'` };
    if (m[1] === 'id' && id === undefined) id = m[2];
  }
  if (id === undefined || !/^[A-Za-z0-9]{1,32}$/.test(id)) return { error: 'missing or malformed id' };
  return { id };
}

/**
 * The policy file (RFC 8461 §3.2): `key: value` lines separated by CRLF or
 * LF. Keys and values are matched without regard to case (RFC 5234 §2.3);
 * unknown keys are ignored; the first of a repeated key wins, except `mx`,
 * which accumulates. `max_age` above 31557600 is clamped to it.
 */
export function parsePolicy(text: string, id = ''): MtaStsPolicy | { error: string } {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9_-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return { error: `malformed policy line '${line.slice(0, 80)}'` };
    const key = (m[1] as string).toLowerCase();
    const value = m[2] as string;
    if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
    else if (!fields.has(key)) fields.set(key, value);
  }
  if (fields.get('version')?.toLowerCase() !== 'stsv1') return { error: 'version is not STSv1' };
  const mode = fields.get('mode')?.toLowerCase();
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return { error: `bad mode '${fields.get('mode') ?? ''}'` };
  const maxAge = fields.get('max_age');
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge)) return { error: `bad max_age '${maxAge ?? ''}'` };
  for (const p of mx) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(p)) return { error: `bad mx pattern '${p}'` };
  }
  if (mode !== 'none' && mx.length === 0) return { error: `mode ${mode} without mx patterns` };
  return { mode, mx, maxAgeS: Math.min(Number(maxAge), MAX_AGE_LIMIT_S), id };
}

/** RFC 8461 §4.1: exact (case-insensitive), or `*.suffix` matching exactly one more leftmost label. */
export function mxPatternMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return h === p;
  const suffix = p.slice(1); // '.example.com'
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

interface CachedPolicy {
  readonly policy: MtaStsPolicy;
}

export class MtaStsPolicies {
  readonly #resolver: Pick<MxResolver, 'txt' | 'addresses'>;
  readonly #cache: TtlCache<CachedPolicy>;
  readonly #fetch: (domain: string) => Promise<string>;
  readonly #inflight = new Map<string, Promise<MtaStsPolicy | undefined>>();
  readonly #onEvent: (event: MtaStsEvent) => void;

  constructor(opts: MtaStsOptions) {
    this.#resolver = opts.resolver;
    this.#cache = new TtlCache<CachedPolicy>(opts.clock ?? systemClock, opts.maxEntries ?? 10_000);
    this.#fetch = opts.fetchPolicy ?? ((domain) => this.#httpsFetch(domain, opts.https ?? {}));
    this.#onEvent = opts.onEvent ?? (() => {});
  }

  clear(): void {
    this.#cache.clear();
  }

  /** Is `mxHost` one of the policy's MX patterns (RFC 8461 §4.1)? */
  mxAllowed(policy: MtaStsPolicy, mxHost: string): boolean {
    return policy.mx.some((p) => mxPatternMatches(p, mxHost));
  }

  /** The policy in force for `domain`, or undefined when it has none we can use. */
  async policyFor(rawDomain: string): Promise<MtaStsPolicy | undefined> {
    const domain = rawDomain.trim().toLowerCase().replace(/\.$/, '');
    const pending = this.#inflight.get(domain);
    if (pending) return pending;
    const p = this.#discover(domain).finally(() => this.#inflight.delete(domain));
    this.#inflight.set(domain, p);
    return p;
  }

  async #discover(domain: string): Promise<MtaStsPolicy | undefined> {
    const cached = this.#cache.get(domain)?.value.policy;
    const txt = await this.#resolver.txt(`_mta-sts.${domain}`);
    if (!Array.isArray(txt)) return cached; // lookup failed: keep what we have (§5.1)
    const record = parseStsRecord(txt);
    if ('error' in record) {
      if (txt.length > 0) this.#onEvent({ kind: 'bad-record', domain, detail: record.error });
      return cached;
    }
    if (cached && cached.id === record.id) return cached;

    let text: string;
    try {
      text = await this.#fetch(domain);
    } catch (err) {
      this.#onEvent({ kind: 'fetch-failed', domain, detail: (err as Error).message, usingCached: cached !== undefined });
      return cached;
    }
    const parsed = parsePolicy(text, record.id);
    if ('error' in parsed) {
      this.#onEvent({ kind: 'fetch-failed', domain, detail: `bad policy: ${parsed.error}`, usingCached: cached !== undefined });
      return cached;
    }
    this.#cache.set(domain, { policy: parsed }, parsed.maxAgeS * 1000);
    this.#onEvent({ kind: 'fetched', domain, policy: parsed });
    return parsed;
  }

  /** RFC 8461 §3.3: HTTPS GET, certificate for mta-sts.<domain>, no redirects, ≤ 64 KB, text/plain. */
  #httpsFetch(domain: string, opts: NonNullable<MtaStsOptions['https']>): Promise<string> {
    const host = `mta-sts.${domain}`;
    const resolveHost =
      opts.lookup ??
      (async (h: string): Promise<string> => {
        const r = await this.#resolver.addresses(h);
        if (!Array.isArray(r)) throw new MtaStsFetchError(`${h}: ${r.detail}`);
        const first = r[0];
        if (first === undefined) throw new MtaStsFetchError(`${h} has no address`);
        return first;
      });
    const lookup = ((hostname: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      resolveHost(hostname).then(
        (address) => {
          const family = net.isIPv6(address) ? 6 : 4;
          if (options.all) cb(null, [{ address, family }]);
          else cb(null, address, family);
        },
        (err: Error) => cb(err),
      );
    }) as unknown as LookupFunction;
    const timeoutMs = opts.timeoutMs ?? 60_000;

    return new Promise<string>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, text?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        if (err) reject(err);
        else resolve(text as string);
      };
      const req = https.request({
        host,
        servername: host,
        port: opts.port ?? 443,
        path: POLICY_PATH,
        method: 'GET',
        agent: false,
        lookup,
        ...(opts.ca !== undefined ? { ca: opts.ca as string | Buffer | (string | Buffer)[] } : {}),
        headers: { accept: 'text/plain', 'user-agent': 'Petrel MTA-STS' },
      });
      const timer = setTimeout(() => finish(new MtaStsFetchError(`${host}: no policy within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => finish(new MtaStsFetchError(`${host}: ${err.message}`)));
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          // Includes 3xx: redirects MUST NOT be followed (§3.3).
          finish(new MtaStsFetchError(`${host}: HTTP ${res.statusCode ?? '?'}`));
          return;
        }
        const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
        if (type !== 'text/plain') {
          finish(new MtaStsFetchError(`${host}: content type '${type ?? ''}' is not text/plain`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POLICY_BYTES) finish(new MtaStsFetchError(`${host}: policy larger than ${MAX_POLICY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => finish(undefined, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => finish(new MtaStsFetchError(`${host}: ${err.message}`)));
      });
      req.end();
    });
  }
}
