/**
 * @module management/access
 *
 * Who may do what over HTTP (PowerMTA `http-access CIDR none|monitor|admin`):
 *
 * - The client address is the socket's peer address — never a header
 *   (`X-Forwarded-For` is ignored).
 * - The most specific matching rule wins (longest prefix; among equals the
 *   later line); no matching rule means `none`.
 * - `Authorization: Bearer TOKEN` with the configured token grants `admin`
 *   from any address (compared in constant time); a wrong token is refused
 *   (401), it never falls back to the address's level.
 * - `none` → 403 for everything; `monitor` → GET/HEAD; `admin` → also
 *   POST/DELETE. The route may ask for more (`config.level`).
 * - Browser defences for requests authorised by address: the Host header
 *   must be an IP literal, `localhost`, this host's name or an allowed name
 *   (DNS rebinding), and a state-changing request that carries an `Origin`
 *   must come from the same host and port (CSRF).
 *
 * Exports: `levelFor`, `accessFromConfig`, `bindHostFor`, `checkToken`,
 * `hostAllowed`, `sameOrigin`, `LEVEL_RANK`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import { values, type PetrelConfig } from '../config/model.js';
import { cidrContains, ipBytes } from '../config/ip.js';
import type { HttpAccess } from '../config/types.js';
import type { AccessLevel, AccessRule } from './deps.js';

export const LEVEL_RANK: Readonly<Record<AccessLevel, number>> = { none: 0, monitor: 1, admin: 2 };

/** The level the rules give a client address. */
export function levelFor(rules: readonly AccessRule[], ip: string | undefined): AccessLevel {
  if (!ip) return 'none';
  const bytes = ipBytes(ip);
  if (!bytes) return 'none';
  let best: AccessRule | undefined;
  for (const r of rules) {
    if (!cidrContains(r.cidr, bytes)) continue;
    if (!best || r.cidr.prefix >= best.cidr.prefix) best = r;
  }
  return best?.level ?? 'none';
}

const LOOPBACK: readonly AccessRule[] = [
  { cidr: { family: 4, address: '127.0.0.1', prefix: 32, text: '127.0.0.1' }, level: 'admin' },
  { cidr: { family: 6, address: '::1', prefix: 128, text: '::1' }, level: 'admin' },
];

/**
 * The access rules of a configuration: its `http-access` lines, or — when
 * there are none — admin for loopback only (what the local `petrel` CLI needs).
 */
export function accessFromConfig(config: PetrelConfig): AccessRule[] {
  const lines = values<HttpAccess>(config.global, 'http-access');
  return lines.length > 0 ? lines.map((l) => ({ cidr: l.cidr, level: l.level })) : [...LOOPBACK];
}

/**
 * Where to listen: loopback unless a rule grants a non-loopback network
 * `monitor` or `admin` (then every address: `::`, or `0.0.0.0` when all such
 * rules are IPv4). A token alone does not open the port to the network.
 */
export function bindHostFor(rules: readonly AccessRule[]): string {
  const open = rules.filter((r) => r.level !== 'none' && !isLoopbackCidr(r.cidr.address, r.cidr.prefix));
  if (open.length === 0) return '127.0.0.1';
  return open.some((r) => r.cidr.family === 6) ? '::' : '0.0.0.0';
}

function isLoopbackCidr(address: string, prefix: number): boolean {
  if (net.isIPv4(address)) return address.startsWith('127.') && prefix >= 8;
  return address === '::1' && prefix === 128;
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function checkToken(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/** Parses `Bearer TOKEN`; undefined when there is no Authorization header, null when it is not a bearer token. */
export function bearerOf(header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Host header acceptable for an address-authorised request (DNS-rebinding defence). */
export function hostAllowed(hostHeader: string | undefined, extra: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return false;
    return net.isIPv6(host.slice(1, end));
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return false;
    host = host.slice(0, colon);
  }
  host = host.replace(/\.$/, '');
  if (net.isIPv4(host)) return true;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const me = os.hostname().toLowerCase();
  if (host === me || host.startsWith(me + '.')) return true;
  return extra.some((h) => h.toLowerCase().replace(/\.$/, '') === host);
}

/** A state-changing request with an Origin must come from this very host:port. */
export function sameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!hostHeader) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === hostHeader.trim().toLowerCase();
  } catch {
    return false;
  }
}
