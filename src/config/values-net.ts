/**
 * @module config/values-net
 *
 * Parsers for the network types: `ip`, `cidr`, `listener`, `host-list`, `source-host`,
 * `http-access`, `cidr-rate` and `cidr-int`; plus `readIp` / `readCidr` for other parsers and
 * `cidrContains(cidr, ip)` for matching.
 *
 * Addresses come out canonical (`2001:db8::1`, IPv4-mapped as `::ffff:192.0.2.1`). Networks
 * accept PowerMTA's short IPv4 forms (`0/0` = 0.0.0.0/0, `10.1.0/24` = 10.1.0.0/24); a bare
 * address is a /32 or /128. A network written with host bits set (`10.1.2.3/24`) is masked
 * (`10.1.2.0/24`) with a warning, because real configs write it that way and mean the network.
 */
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import type {
  Cidr,
  CidrInt,
  CidrRate,
  HostRoute,
  HttpAccess,
  HttpAccessLevel,
  Listener,
  SourceHost,
  ValueInput,
  ValueResult,
} from './types.js';
import { EXPECTED } from './values-expected.js';
import {
  checkHostname,
  exactWords,
  fail,
  normalizeDomain,
  ok,
  oneWord,
  splitCommaList,
  splitWords,
  templateOrVariable,
  unterminatedQuote,
  withHint,
  wordPiece,
} from './values-common.js';
import type { Piece } from './values-common.js';
import { readInt } from './values-scalar.js';
import { readRate } from './values-time.js';

interface ParsedIp {
  readonly address: string;
  readonly family: 4 | 6;
  readonly bytes: readonly number[];
}

/** The canonical text of an address; IPv4-mapped IPv6 keeps its dotted tail. */
function canonicalIp(bytes: readonly number[]): string {
  const addr = ipaddr.fromByteArray([...bytes]);
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return `::ffff:${v6.toIPv4Address().toString()}`;
  }
  return addr.toString();
}

/** Why `text` is not an IPv4 address, for the common mistakes. */
function describeBadIpv4(text: string): string {
  const octets = text.split('.');
  const big = octets.find((o) => /^\d+$/.test(o) && Number(o) > 255);
  if (big !== undefined) return `${big} is out of range in '${text}' (each part is 0 to 255)`;
  if (octets.some((o) => /^0\d/.test(o))) return `'${text}' has a part with a leading zero (it would be read as octal elsewhere)`;
  if (octets.length < 4 && octets.every((o) => /^\d+$/.test(o))) {
    return `'${text}' is incomplete; short forms such as 10.1.0/24 need a prefix length`;
  }
  return `'${text}' is not an IP address`;
}

/** An IPv4 or IPv6 address (no zone id, no brackets). */
export function readIp(piece: Piece, expected: string = EXPECTED.ip): ValueResult<ParsedIp> {
  const { text, offset } = piece;
  if (text === '') return fail('missing IP address', expected, offset, text);
  const family = isIP(text);
  if (family === 0 || text.includes('%')) {
    const zone = text.indexOf('%');
    if (zone >= 0 && isIP(text.slice(0, zone)) === 6) return fail(`zone ids such as '${text.slice(zone)}' are not supported`, expected, offset + zone, text.slice(zone));
    const looksV4 = /^[\d.]+$/.test(text);
    const message = looksV4 ? describeBadIpv4(text) : withHint(`'${text}' is not an IP address`, templateOrVariable(text));
    return fail(message, expected, offset, text);
  }
  const bytes = ipaddr.parse(text).toByteArray();
  return ok({ address: canonicalIp(bytes), family: family === 4 ? 4 : 6, bytes });
}

export function parseIp(input: ValueInput): ValueResult<string> {
  const word = oneWord(input.raw, EXPECTED.ip);
  if (!word.ok) return word;
  const ip = readIp(word.value);
  return ip.ok ? ok(ip.value.address) : ip;
}

/** Zero every bit past `prefix`. */
function maskBytes(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

/** PowerMTA's short IPv4 network forms: `0`, `10.1`, `10.1.0` (before a `/prefix`), padded with zeros. */
function readShortIpv4(piece: Piece, expected: string): ValueResult<ParsedIp> {
  const octets = piece.text.split('.');
  let at = piece.offset;
  for (const octet of octets) {
    if (Number(octet) > 255) return fail(`${octet} is out of range in '${piece.text}' (each part is 0 to 255)`, expected, at, octet);
    if (/^0\d/.test(octet)) return fail(`'${octet}' has a leading zero`, expected, at, octet);
    at += octet.length + 1;
  }
  const bytes = [...octets.map(Number), 0, 0, 0].slice(0, 4);
  return ok({ address: canonicalIp(bytes), family: 4, bytes });
}

/** An address or a network → Cidr (network address masked, with a warning if host bits were set). */
export function readCidr(piece: Piece, expected: string = EXPECTED.cidr): ValueResult<Cidr> {
  const { text, offset } = piece;
  const slash = text.indexOf('/');
  const addrPiece = { text: slash < 0 ? text : text.slice(0, slash), offset };
  const ip =
    slash >= 0 && /^\d+(\.\d+){0,2}$/.test(addrPiece.text) ? readShortIpv4(addrPiece, expected) : readIp(addrPiece, expected);
  if (!ip.ok) return ip;
  const maxPrefix = ip.value.family === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1);
    const prefixOffset = offset + slash + 1;
    if (!/^\d+$/.test(prefixText)) return fail(`the prefix length '${prefixText}' is not a number`, expected, prefixOffset, prefixText);
    prefix = Number(prefixText);
    if (prefix > maxPrefix) {
      return fail(`prefix length /${prefixText} is too long for IPv${ip.value.family} (at most /${maxPrefix})`, expected, prefixOffset, prefixText);
    }
  }
  const masked = maskBytes(ip.value.bytes, prefix);
  const address = canonicalIp(masked);
  const cidr: Cidr = { family: ip.value.family, address, prefix, text };
  if (masked.some((byte, i) => byte !== ip.value.bytes[i])) {
    return ok(cidr, [`'${text}' has host bits set; read as ${address}/${prefix}`]);
  }
  return ok(cidr);
}

export function parseCidr(input: ValueInput): ValueResult<Cidr> {
  const word = oneWord(input.raw, EXPECTED.cidr);
  return word.ok ? readCidr(word.value) : word;
}

/** Does the network contain the address? Invalid addresses are in no network; IPv4-mapped IPv6 counts as IPv4. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  if (isIP(ip) === 0) return false;
  let bytes = ipaddr.parse(ip).toByteArray();
  if (bytes.length === 16 && cidr.family === 4 && bytes.slice(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff))) bytes = bytes.slice(12);
  if (bytes.length !== (cidr.family === 4 ? 4 : 16)) return false;
  const network = ipaddr.parse(cidr.address).toByteArray();
  const masked = maskBytes(bytes, cidr.prefix);
  return masked.every((byte, i) => byte === network[i]);
}

// ---- ports, listeners, hosts ----------------------------------------------------

function readPort(piece: Piece, expected: string): ValueResult<number> {
  const { text, offset } = piece;
  if (text === '') return fail('missing port number after ":"', expected, offset, text);
  if (!/^\d+$/.test(text)) return fail(withHint(`the port '${text}' is not a number`, templateOrVariable(text)), expected, offset, text);
  const port = Number(text);
  if (port < 1 || port > 65535) return fail(`port ${text} is out of range (1 to 65535)`, expected, offset, text);
  return ok(port);
}

/** Split `ADDR:PORT` / `[ADDR]:PORT` / `[ADDR]` into pieces; the port may be absent. */
function splitHostPort(piece: Piece, expected: string): ValueResult<{ host: Piece; port?: Piece; bracketed: boolean }> {
  const { text, offset } = piece;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail(`'${text}' has no closing ']'`, expected, offset, text);
    const host = { text: text.slice(1, close), offset: offset + 1 };
    const rest = text.slice(close + 1);
    if (rest === '') return ok({ host, bracketed: true });
    if (!rest.startsWith(':')) return fail(`unexpected '${rest}' after ']'`, expected, offset + close + 1, rest);
    return ok({ host, port: { text: rest.slice(1), offset: offset + close + 2 }, bracketed: true });
  }
  const colon = text.indexOf(':');
  if (colon < 0) return ok({ host: piece, bracketed: false });
  if (text.indexOf(':', colon + 1) >= 0) {
    return fail(`IPv6 addresses must be written in brackets with the port after them, e.g. [::1]:25`, expected, offset, text);
  }
  return ok({
    host: { text: text.slice(0, colon), offset },
    port: { text: text.slice(colon + 1), offset: offset + colon + 1 },
    bracketed: false,
  });
}

/** Values Petrel understands for the listener option `tls=`. */
const LISTENER_TLS_MODES = ['implicit'];

/** `0/0:25`, `10.0.1.22:587`, `[::]:587`, `[::1]:2525`, `127.0.0.1/28:25`, then `key=value` options. */
export function parseListener(input: ValueInput): ValueResult<Listener> {
  const expected = EXPECTED.listener;
  const raw = input.raw;
  const words = splitWords(raw);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  if (words.length === 0) return fail('missing value', expected, 0, '');
  const first = wordPiece(words[0]!, raw);
  const parts = splitHostPort(first, expected);
  if (!parts.ok) return parts;
  if (parts.value.port === undefined) {
    return fail(`the listener '${first.text}' has no port; write e.g. ${first.text.includes(':') ? `[${first.text}]` : first.text}:25`, expected, first.offset + first.text.length, first.text);
  }
  if (parts.value.host.text.includes(':') && !parts.value.bracketed) {
    return fail('IPv6 listener addresses must be written in brackets, e.g. [::]:25', expected, first.offset, first.text);
  }
  const cidr = readCidr(parts.value.host, expected);
  if (!cidr.ok) return cidr;
  const port = readPort(parts.value.port, expected);
  if (!port.ok) return port;
  const { family, prefix, address } = cidr.value;
  const options: Record<string, string> = {};
  for (const word of words.slice(1)) {
    const eq = word.text.indexOf('=');
    if (eq <= 0) return fail(`listener options are written key=value; found '${word.text}'`, expected, word.offset, word.text);
    const key = word.text.slice(0, eq).toLowerCase();
    const value = word.text.slice(eq + 1);
    if (value === '') return fail(`the option '${key}' has no value`, expected, word.offset + eq + 1, word.text);
    if (key in options) return fail(`the option '${key}' is given twice`, expected, word.offset, word.text);
    if (key === 'tls' && !LISTENER_TLS_MODES.includes(value.toLowerCase())) {
      return fail(`unknown tls mode '${value}' (known: ${LISTENER_TLS_MODES.join(', ')})`, expected, word.offset + eq + 1, value);
    }
    options[key] = key === 'tls' ? value.toLowerCase() : value;
  }
  const maxPrefix = family === 4 ? 32 : 128;
  const base = { address, family, port: port.value, options, text: words[0]!.text };
  // 0/0 and [::] mean "every address" (a wildcard bind), not a network to enumerate.
  const listener: Listener = prefix === 0 || prefix === maxPrefix ? base : { ...base, cidr: cidr.value };
  return ok(listener, cidr.warnings);
}

/** One `smtp-hosts`/`route` item. */
function readHostRoute(piece: Piece, expected: string): ValueResult<HostRoute> {
  const { text, offset } = piece;
  const space = text.search(/\s/);
  if (space >= 0) return fail(`'${text}' contains a space; separate hosts with commas`, expected, offset + space, text);
  const lookupMx = /^lookup-mx:/i.exec(text);
  const body = lookupMx ? { text: text.slice(lookupMx[0].length), offset: offset + lookupMx[0].length } : piece;
  const parts = splitHostPort(body, expected);
  if (!parts.ok) return parts;
  let port: number | undefined;
  if (parts.value.port !== undefined) {
    const read = readPort(parts.value.port, expected);
    if (!read.ok) return read;
    port = read.value;
  }
  const withPort = port === undefined ? {} : { port };
  const host = parts.value.host;
  if (parts.value.bracketed || (!lookupMx && isIP(host.text) !== 0)) {
    if (lookupMx) return fail('lookup-mx: needs a domain, not an address', expected, host.offset, host.text);
    const ip = readIp(host, expected);
    if (!ip.ok) return ip;
    return ok({ kind: 'ip', address: ip.value.address, ...withPort, text });
  }
  const problem = checkHostname(host.text);
  if (problem) return fail(problem.message, expected, host.offset + problem.index, host.text);
  const name = normalizeDomain(host.text);
  return ok(lookupMx ? { kind: 'lookup-mx', domain: name, ...withPort, text } : { kind: 'host', host: name, ...withPort, text });
}

/** `[192.168.0.1]:2525, mx.example.com:587, lookup-mx:example.com` → routes in order. */
export function parseHostList(input: ValueInput): ValueResult<HostRoute[]> {
  const expected = EXPECTED['host-list'];
  if (input.raw.trim() === '') return fail('missing value', expected, 0, '');
  const items = splitCommaList(input.raw, 0, expected);
  if (!items.ok) return items;
  const routes: HostRoute[] = [];
  for (const item of items.value) {
    const route = readHostRoute(item, expected);
    if (!route.ok) return route;
    routes.push(route.value);
  }
  return ok(routes);
}

// ---- address + something ---------------------------------------------------------

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** `IP HOSTNAME`; the IP slot may also be a range `a-b` or a network, recorded in `range`. */
export function parseSourceHost(input: ValueInput): ValueResult<SourceHost> {
  const expected = EXPECTED['source-host'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 2, expected, ['IP address', 'host name']);
  if (!words.ok) return words;
  const ipPiece = wordPiece(words.value[0]!, raw);
  const hostPiece = wordPiece(words.value[1]!, raw);
  const problem = checkHostname(hostPiece.text);
  if (problem) return fail(problem.message, expected, hostPiece.offset + problem.index, hostPiece.text);
  const hostname = hostPiece.text;
  const dash = ipPiece.text.indexOf('-');
  if (dash >= 0) {
    const low = readIp({ text: ipPiece.text.slice(0, dash), offset: ipPiece.offset }, expected);
    if (!low.ok) return low;
    const high = readIp({ text: ipPiece.text.slice(dash + 1), offset: ipPiece.offset + dash + 1 }, expected);
    if (!high.ok) return high;
    if (low.value.family !== high.value.family) return fail(`the range '${ipPiece.text}' mixes IPv4 and IPv6`, expected, ipPiece.offset, ipPiece.text);
    if (compareBytes(low.value.bytes, high.value.bytes) > 0) {
      return fail(`the range '${ipPiece.text}' runs backwards (the first address is higher)`, expected, ipPiece.offset, ipPiece.text);
    }
    return ok({ ip: low.value.address, family: low.value.family, hostname, range: ipPiece.text });
  }
  if (ipPiece.text.includes('/')) {
    const cidr = readCidr(ipPiece, expected);
    if (!cidr.ok) return cidr;
    return ok({ ip: cidr.value.address, family: cidr.value.family, hostname, range: ipPiece.text }, cidr.warnings);
  }
  const ip = readIp(ipPiece, expected);
  if (!ip.ok) return ip;
  return ok({ ip: ip.value.address, family: ip.value.family, hostname });
}

const HTTP_ACCESS_LEVELS: readonly HttpAccessLevel[] = ['none', 'monitor', 'admin'];

/** `IP|CIDR none|monitor|admin`. */
export function parseHttpAccess(input: ValueInput): ValueResult<HttpAccess> {
  const expected = EXPECTED['http-access'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 2, expected, ['address', 'access level (none, monitor or admin)']);
  if (!words.ok) return words;
  const cidr = readCidr(wordPiece(words.value[0]!, raw), expected);
  if (!cidr.ok) return cidr;
  const levelPiece = wordPiece(words.value[1]!, raw);
  const level = HTTP_ACCESS_LEVELS.find((l) => l === levelPiece.text.toLowerCase());
  if (!level) return fail(`unknown access level '${levelPiece.text}' (use none, monitor or admin)`, expected, levelPiece.offset, levelPiece.text);
  return ok({ cidr: cidr.value, level }, cidr.warnings);
}

/** `CIDR RATE` (source-ip-max-msg-rate and friends). */
export function parseCidrRate(input: ValueInput): ValueResult<CidrRate> {
  const expected = EXPECTED['cidr-rate'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 2, expected, ['network', 'rate']);
  if (!words.ok) return words;
  const cidr = readCidr(wordPiece(words.value[0]!, raw), expected);
  if (!cidr.ok) return cidr;
  const rate = readRate(wordPiece(words.value[1]!, raw), expected);
  if (!rate.ok) return rate;
  return ok({ cidr: cidr.value, rate: rate.value }, cidr.warnings);
}

/** `CIDR N` (source-ip-max-smtp-out); N may be `unlimited` (→ Infinity). */
export function parseCidrInt(input: ValueInput): ValueResult<CidrInt> {
  const expected = EXPECTED['cidr-int'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 2, expected, ['network', 'number']);
  if (!words.ok) return words;
  const cidr = readCidr(wordPiece(words.value[0]!, raw), expected);
  if (!cidr.ok) return cidr;
  const numberPiece = wordPiece(words.value[1]!, raw);
  if (numberPiece.text.toLowerCase() === 'unlimited') return ok({ cidr: cidr.value, value: Infinity }, cidr.warnings);
  const value = readInt(numberPiece, expected);
  if (!value.ok) return value;
  return ok({ cidr: cidr.value, value: value.value }, cidr.warnings);
}
