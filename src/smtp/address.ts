/**
 * @module smtp/address
 *
 * RFC 5321 §4.1.2 paths and mailboxes, with RFC 6531 §3.3 (SMTPUTF8)
 * extensions: the vocabulary relay policy rests on.
 *
 * Exports:
 *  - `Mailbox`, `ReversePath`, `ForwardPath`, `AddressError`.
 *  - `scanPath(input, pos, opts)`: parse a `<...>` path starting at `pos`,
 *    return it with the index after `>` (used by the command parser, since a
 *    quoted local part may contain spaces and `>`).
 *  - `parseReversePath(text, opts)`, `parseForwardPath(text, opts)`: a whole
 *    bracketed path.
 *  - `parseAddress(text, opts)`: a mailbox, bare (`a@b`) or bracketed (`<a@b>`).
 *  - `normalizeDomain(name, opts)`, `isValidDomain(name, opts)`, `formatPath(path, opts)`.
 *
 * Invariant 4 of DESIGN.md lives here: `Mailbox.domain` is the domain the mail
 * is routed to, and nothing else. The grammar guarantees it:
 *  - the local part is a Dot-string or a Quoted-string, so the domain starts
 *    after the one `@` outside quotes: `"user@evil.com"@good.com` and
 *    `user%evil.com@good.com` and `evil.com!user@good.com` all route to
 *    good.com, with the trick kept opaque inside `local`;
 *  - a second unquoted `@` is a syntax error, never a choice;
 *  - the domain is lower-cased; one trailing dot is removed and flagged
 *    (`trailingDot`); U-labels are put in canonical form by round-tripping
 *    through their A-labels, and a U-label that maps to more labels (full-width
 *    dots U+3002, U+FF0E, U+FF61) is refused, so `domain` and `asciiDomain`
 *    always name the same DNS name;
 *  - source routes (`<@a,@b:user@c>`) are accepted and ignored
 *    (RFC 5321 §4.1.1.3, Appendix C): the mailbox domain `c` is the domain;
 *  - an all-numeric last label is refused (an IPv4 address must be written
 *    as an address literal, RFC 5321 §4.1.3).
 *
 * Deliberately not enforced: the 64-octet local-part limit (RFC 5321
 * §4.5.3.1.1), which SRS and VERP addresses exceed in practice; RFC 5321
 * §4.5.3.1 asks receivers to avoid limits where they can. Domain limits
 * (63-octet label, 255-octet name) are DNS facts and are enforced.
 *
 * Nothing here throws.
 */

import { domainToASCII, domainToUnicode } from 'node:url';

export interface Mailbox {
  /** Local part as written: Dot-string, or Quoted-string with its quotes. Case preserved. */
  readonly local: string;
  /** Local part with quotes and quoted-pair backslashes removed. */
  readonly localValue: string;
  /** Routing domain: lower-case, no trailing dot; canonical U-labels; or a normalised literal. */
  readonly domain: string;
  /** `domain` with U-labels as A-labels (equal to `domain` when ASCII). */
  readonly asciiDomain: string;
  readonly domainKind: 'name' | 'ipv4' | 'ipv6';
  /** True when the local part or the domain has non-ASCII characters (needs SMTPUTF8). */
  readonly isUtf8: boolean;
  /** The address was written with a trailing dot on the domain (`a@good.com.`). */
  readonly trailingDot: boolean;
  /** `local@domain`, canonical. */
  readonly text: string;
}

export type ReversePath =
  | { readonly kind: 'null' }
  | { readonly kind: 'mailbox'; readonly mailbox: Mailbox; readonly sourceRoute?: readonly string[] };

export type ForwardPath =
  | { readonly kind: 'postmaster' }
  | { readonly kind: 'mailbox'; readonly mailbox: Mailbox; readonly sourceRoute?: readonly string[] };

export type Path = ReversePath | ForwardPath;

export type AddressErrorCode = 'SYNTAX' | 'UTF8_NOT_ALLOWED' | 'DOMAIN' | 'LITERAL';

export interface AddressError {
  readonly kind: 'ADDRESS_ERROR';
  readonly code: AddressErrorCode;
  readonly reason: string;
}

export interface AddressOptions {
  /** Accept non-ASCII local parts and U-labels (RFC 6531). Default false. */
  readonly utf8?: boolean;
}

export function isAddressError(v: unknown): v is AddressError {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'ADDRESS_ERROR';
}

function fail(code: AddressErrorCode, reason: string): AddressError {
  return { kind: 'ADDRESS_ERROR', code, reason };
}

/** RFC 5322 §3.2.3 atext, ASCII part. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;
const MAX_DOMAIN_OCTETS = 255; // RFC 5321 §4.5.3.1.2
const MAX_LABEL_OCTETS = 63; // RFC 1035 §2.3.4
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

function isNonAscii(c: string): boolean {
  return c.charCodeAt(0) > 0x7f;
}

// --- Domains ---------------------------------------------------------------

export interface NormalizedDomain {
  /** Lower-case, trailing dot removed, U-labels canonical. */
  readonly domain: string;
  readonly ascii: string;
  readonly isUtf8: boolean;
  readonly trailingDot: boolean;
}

/** ASCII domain check on an already lower-cased name without trailing dot. */
function isValidAsciiName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DOMAIN_OCTETS) return false;
  const labels = name.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL_OCTETS || !LDH_LABEL.test(label)) return false;
  }
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
}

/**
 * Normalise a domain name (RFC 5321 §4.1.2 `Domain`, RFC 6531 §3.3 U-labels):
 * lower-case, one trailing dot removed and flagged, U-labels canonical.
 * Returns undefined when the name is not a valid domain.
 */
export function normalizeDomain(name: string, opts: AddressOptions = {}): NormalizedDomain | undefined {
  let raw = name;
  let trailingDot = false;
  if (raw.endsWith('.')) {
    raw = raw.slice(0, -1);
    trailingDot = true;
  }
  if (raw.length === 0 || raw.length > MAX_DOMAIN_OCTETS * 4) return undefined;
  const utf8 = /[^\x00-\x7f]/.test(raw);
  if (!utf8) {
    const lower = raw.toLowerCase();
    return isValidAsciiName(lower) ? { domain: lower, ascii: lower, isUtf8: false, trailingDot } : undefined;
  }
  if (opts.utf8 !== true) return undefined;
  // Every raw label must be LDH or contain non-ASCII; dots are the only separators.
  const rawLabels = raw.split('.');
  if (rawLabels.some((l) => l.length === 0 || /[^A-Za-z0-9\-\u0080-\uffff]/.test(l))) return undefined;
  const ascii = domainToASCII(raw);
  if (ascii === '' || !isValidAsciiName(ascii) || ascii.split('.').length !== rawLabels.length) return undefined;
  return { domain: domainToUnicode(ascii), ascii, isUtf8: true, trailingDot };
}

/** A valid domain name as RFC 5321 writes it: no trailing dot. */
export function isValidDomain(name: string, opts: AddressOptions = {}): boolean {
  const n = normalizeDomain(name, opts);
  return n !== undefined && !n.trailingDot;
}

/** RFC 5321 §4.1.3 IPv4-address-literal: four Snum of 0..255. */
export function isIpv4(s: string): boolean {
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(s);
  return m !== null && m.slice(1).every((n) => Number(n) <= 255);
}

/** RFC 5321 §4.1.3 IPv6-addr (full, compressed, and with embedded IPv4). */
export function isIpv6(s: string): boolean {
  const hex = /^[0-9A-Fa-f]{1,4}$/;
  let head = s;
  let maxGroups = 8;
  const lastColon = s.lastIndexOf(':');
  if (lastColon === -1) return false;
  if (s.slice(lastColon + 1).includes('.')) {
    if (!isIpv4(s.slice(lastColon + 1))) return false;
    maxGroups = 6;
    head = s.slice(0, lastColon + 1).endsWith('::') ? s.slice(0, lastColon + 1) : s.slice(0, lastColon);
  }
  const dbl = head.indexOf('::');
  if (dbl === -1) {
    const groups = head.split(':');
    return groups.length === maxGroups && groups.every((g) => hex.test(g));
  }
  if (head.indexOf('::', dbl + 1) !== -1) return false;
  const left = head.slice(0, dbl);
  const right = head.slice(dbl + 2);
  const groups = [...(left === '' ? [] : left.split(':')), ...(right === '' ? [] : right.split(':'))];
  return groups.length <= maxGroups - 1 && groups.every((g) => hex.test(g));
}

/** Classify and normalise an address literal's content (between the brackets). */
function parseLiteral(content: string): { domain: string; kind: 'ipv4' | 'ipv6' } | AddressError {
  if (isIpv4(content)) {
    return { domain: `[${content.split('.').map(Number).join('.')}]`, kind: 'ipv4' };
  }
  if (/^ipv6:/i.test(content)) {
    const addr = content.slice(5);
    if (isIpv6(addr)) return { domain: `[IPv6:${addr.toLowerCase()}]`, kind: 'ipv6' };
    return fail('LITERAL', 'invalid IPv6 address literal');
  }
  // General-address-literal (RFC 5321 §4.1.3): no tag besides IPv6 is registered.
  return fail('LITERAL', 'unsupported address literal');
}

// --- Cursor parsing --------------------------------------------------------

type Scan<T> = { readonly ok: true; readonly value: T; readonly end: number } | { readonly ok: false; readonly error: AddressError };

/** Local-part at `pos` (RFC 5321 §4.1.2, RFC 6531 §3.3). */
function scanLocal(s: string, pos: number, utf8: boolean): Scan<{ local: string; value: string; nonAscii: boolean }> {
  let i = pos;
  let nonAscii = false;
  if (s[i] === '"') {
    // Quoted-string: qtextSMTP = %d32-33 / %d35-91 / %d93-126 (/ UTF8-non-ascii).
    let value = '';
    i++;
    for (;;) {
      const c = s[i];
      if (c === undefined) return { ok: false, error: fail('SYNTAX', 'unterminated quoted string') };
      if (c === '"') break;
      if (c === '\\') {
        // quoted-pairSMTP = %d92 %d32-126
        const n = s[i + 1];
        if (n === undefined || n.charCodeAt(0) < 32 || n.charCodeAt(0) > 126) {
          return { ok: false, error: fail('SYNTAX', 'invalid quoted pair') };
        }
        value += n;
        i += 2;
        continue;
      }
      const cc = c.charCodeAt(0);
      if (isNonAscii(c)) {
        if (!utf8) return { ok: false, error: fail('UTF8_NOT_ALLOWED', 'non-ASCII local part') };
        nonAscii = true;
      } else if (cc < 32 || cc > 126) {
        return { ok: false, error: fail('SYNTAX', 'control character in quoted string') };
      }
      value += c;
      i++;
    }
    return { ok: true, value: { local: s.slice(pos, i + 1), value, nonAscii }, end: i + 1 };
  }
  // Dot-string = Atom *("." Atom).
  let atomLen = 0;
  for (;;) {
    const c = s[i];
    if (c === undefined) break;
    if (c === '.') {
      if (atomLen === 0) return { ok: false, error: fail('SYNTAX', 'empty atom in local part') };
      atomLen = 0;
    } else if (ATEXT.test(c)) {
      atomLen++;
    } else if (isNonAscii(c)) {
      if (!utf8) return { ok: false, error: fail('UTF8_NOT_ALLOWED', 'non-ASCII local part') };
      nonAscii = true;
      atomLen++;
    } else {
      break;
    }
    i++;
  }
  if (atomLen === 0) return { ok: false, error: fail('SYNTAX', i === pos ? 'empty local part' : 'local part ends with a dot') };
  const local = s.slice(pos, i);
  return { ok: true, value: { local, value: local, nonAscii }, end: i };
}

/** Domain or address literal at `pos`, up to the first character that cannot belong to it. */
function scanDomain(
  s: string,
  pos: number,
  utf8: boolean,
): Scan<{ domain: string; ascii: string; kind: Mailbox['domainKind']; nonAscii: boolean; trailingDot: boolean }> {
  if (s[pos] === '[') {
    const close = s.indexOf(']', pos);
    if (close === -1) return { ok: false, error: fail('SYNTAX', 'unterminated address literal') };
    const content = s.slice(pos + 1, close);
    // dcontent = %d33-90 / %d94-126
    if (!/^[\x21-\x5a\x5e-\x7e]+$/.test(content)) return { ok: false, error: fail('LITERAL', 'invalid address literal') };
    const lit = parseLiteral(content);
    if ('code' in lit) return { ok: false, error: lit };
    const value = { domain: lit.domain, ascii: lit.domain, kind: lit.kind, nonAscii: false, trailingDot: false };
    return { ok: true, value, end: close + 1 };
  }
  let i = pos;
  while (i < s.length) {
    const c = s[i] as string;
    if (/[A-Za-z0-9.\-]/.test(c) || isNonAscii(c)) i++;
    else break;
  }
  const raw = s.slice(pos, i);
  if (raw.length === 0) return { ok: false, error: fail('DOMAIN', 'missing domain') };
  if (!utf8 && /[^\x00-\x7f]/.test(raw)) return { ok: false, error: fail('UTF8_NOT_ALLOWED', 'non-ASCII domain') };
  const n = normalizeDomain(raw, { utf8 });
  if (n === undefined) return { ok: false, error: fail('DOMAIN', 'invalid domain') };
  const value = { domain: n.domain, ascii: n.ascii, kind: 'name' as const, nonAscii: n.isUtf8, trailingDot: n.trailingDot };
  return { ok: true, value, end: i };
}

/** Mailbox = Local-part "@" ( Domain / address-literal ), at `pos`. */
function scanMailbox(s: string, pos: number, utf8: boolean): Scan<Mailbox> {
  const local = scanLocal(s, pos, utf8);
  if (!local.ok) return local;
  if (s[local.end] !== '@') {
    return { ok: false, error: fail('SYNTAX', s[local.end] === undefined ? 'missing @domain' : 'unexpected character in local part') };
  }
  const dom = scanDomain(s, local.end + 1, utf8);
  if (!dom.ok) return dom;
  const l = local.value;
  const d = dom.value;
  const mailbox: Mailbox = {
    local: l.local,
    localValue: l.value,
    domain: d.domain,
    asciiDomain: d.ascii,
    domainKind: d.kind,
    isUtf8: l.nonAscii || d.nonAscii,
    trailingDot: d.trailingDot,
    text: `${l.local}@${d.domain}`,
  };
  return { ok: true, value: mailbox, end: dom.end };
}

/** A-d-l = At-domain *( "," At-domain ) ":" (RFC 5321 §4.1.2), at `pos` (on the first `@`). */
function scanSourceRoute(s: string, pos: number, utf8: boolean): Scan<string[]> {
  const route: string[] = [];
  let i = pos;
  for (;;) {
    if (s[i] !== '@') return { ok: false, error: fail('SYNTAX', 'invalid source route') };
    const dom = scanDomain(s, i + 1, utf8);
    if (!dom.ok) return dom;
    route.push(dom.value.domain);
    i = dom.end;
    if (s[i] === ':') return { ok: true, value: route, end: i + 1 };
    if (s[i] !== ',') return { ok: false, error: fail('SYNTAX', 'invalid source route') };
    i++;
  }
}

/**
 * Path at `pos` (which must be `<`): `<>`, `<Postmaster>`, or
 * `<[A-d-l ":"] Mailbox>`. The caller decides which kinds its command allows.
 */
export function scanPath(
  s: string,
  pos: number,
  opts: AddressOptions = {},
): { readonly ok: true; readonly path: Path; readonly end: number } | { readonly ok: false; readonly error: AddressError } {
  const utf8 = opts.utf8 === true;
  if (s[pos] !== '<') return { ok: false, error: fail('SYNTAX', 'path must start with <') };
  let i = pos + 1;
  if (s[i] === '>') return { ok: true, path: { kind: 'null' }, end: i + 1 };
  // RFC 5321 §4.1.1.3: "<Postmaster>" without domain, case-insensitive.
  if (s.slice(i, i + 11).toLowerCase() === 'postmaster>') return { ok: true, path: { kind: 'postmaster' }, end: i + 11 };
  let sourceRoute: string[] | undefined;
  if (s[i] === '@') {
    const route = scanSourceRoute(s, i, utf8);
    if (!route.ok) return route;
    sourceRoute = route.value;
    i = route.end;
  }
  const mb = scanMailbox(s, i, utf8);
  if (!mb.ok) return mb;
  if (s[mb.end] !== '>') return { ok: false, error: fail('SYNTAX', 'path must end with >') };
  const path: Path =
    sourceRoute === undefined
      ? { kind: 'mailbox', mailbox: mb.value }
      : { kind: 'mailbox', mailbox: mb.value, sourceRoute };
  return { ok: true, path, end: mb.end + 1 };
}

/** A whole reverse-path: `<>` or `<mailbox>` (RFC 5321 §4.1.2 Reverse-path). */
export function parseReversePath(text: string, opts: AddressOptions = {}): ReversePath | AddressError {
  const r = scanPath(text, 0, opts);
  if (!r.ok) return r.error;
  if (r.end !== text.length) return fail('SYNTAX', 'text after path');
  if (r.path.kind === 'postmaster') return fail('SYNTAX', 'reverse path needs a domain');
  return r.path;
}

/** A whole forward-path: `<Postmaster>` or `<mailbox>` (RFC 5321 §4.1.2 Forward-path). */
export function parseForwardPath(text: string, opts: AddressOptions = {}): ForwardPath | AddressError {
  const r = scanPath(text, 0, opts);
  if (!r.ok) return r.error;
  if (r.end !== text.length) return fail('SYNTAX', 'text after path');
  if (r.path.kind === 'null') return fail('SYNTAX', 'forward path cannot be empty');
  return r.path;
}

/** A mailbox, bare (`user@example.com`) or bracketed (`<user@example.com>`). */
export function parseAddress(text: string, opts: AddressOptions = {}): Mailbox | AddressError {
  if (text.startsWith('<')) {
    const p = parseForwardPath(text, opts);
    if (isAddressError(p)) return p;
    return p.kind === 'mailbox' ? p.mailbox : fail('SYNTAX', 'postmaster without domain');
  }
  const r = scanMailbox(text, 0, opts.utf8 === true);
  if (!r.ok) return r.error;
  return r.end === text.length ? r.value : fail('SYNTAX', 'text after address');
}

export interface FormatPathOptions {
  /** Write U-labels as A-labels (for a server that did not offer SMTPUTF8). */
  readonly asciiDomain?: boolean;
}

/** Wire form of a path, source route dropped (RFC 5321 §4.1.1.3: SHOULD NOT send one). */
export function formatPath(path: Path, opts: FormatPathOptions = {}): string {
  switch (path.kind) {
    case 'null':
      return '<>';
    case 'postmaster':
      return '<Postmaster>';
    case 'mailbox': {
      const m = path.mailbox;
      return `<${m.local}@${opts.asciiDomain === true ? m.asciiDomain : m.domain}>`;
    }
    default: {
      const never: never = path;
      return never;
    }
  }
}
