/**
 * @module config/ip
 *
 * Fast address-in-network tests for policy lookups on every connection:
 * `ipBytes(ip)` parses an IPv4 or IPv6 address into bytes (IPv4-mapped IPv6
 * addresses become their IPv4 bytes), `cidrContains(cidr, ip)` compares the
 * prefix bits. (`net.BlockList` is correct but allocates a SocketAddress per
 * check, which dominated the resolver's profile.)
 */
import type { Cidr } from './types.js';

const networkCache = new WeakMap<Cidr, Uint8Array | null>();

/** 4 bytes for IPv4 (and IPv4-mapped IPv6), 16 for IPv6, undefined when not an address. */
export function ipBytes(ip: string): Uint8Array | undefined {
  if (ip.includes(':')) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return v4(mapped[1]!);
    return v6(ip);
  }
  return v4(ip);
}

function v4(ip: string): Uint8Array | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function v6(ip: string): Uint8Array | undefined {
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const b = v4(it);
        if (!b) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0 || (halves.length === 2 && fill < 1)) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Does `cidr` contain `ip`? An IPv4-mapped IPv6 client matches IPv4 networks. */
export function cidrContains(cidr: Cidr, ip: string | Uint8Array): boolean {
  let net = networkCache.get(cidr);
  if (net === undefined) {
    net = ipBytes(cidr.address) ?? null;
    networkCache.set(cidr, net);
  }
  const addr = typeof ip === 'string' ? ipBytes(ip) : ip;
  if (!net || !addr || addr.length !== net.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}
