/**
 * @module smtp/params
 *
 * ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2 `Mail-parameters`,
 * `Rcpt-parameters`) and the xtext encoding they use (RFC 3461 §4).
 *
 * Exports:
 *  - `MailParams`, `RcptParams`, `Notify`, `Orcpt`, `ParamError`.
 *  - `parseMailParams(tokens)` / `parseRcptParams(tokens)`: `tokens` are the
 *    space-separated words after the path. Returns typed params or a
 *    `ParamError` carrying the reply to send.
 *  - `formatMailParams(p)` / `formatRcptParams(p)`: wire words for the client.
 *  - `requiredExtensions(params)` and `checkAdvertised(params, advertised)`:
 *    which EHLO keyword each parameter needs, so the server refuses e.g.
 *    `SMTPUTF8` when it did not offer it (RFC 5321 §4.1.1.11, 555).
 *  - `xtextEncode(s)` / `xtextDecode(s)`.
 *
 * Replies (contexts from `enhanced-codes.ts`):
 *  - unknown keyword, or a keyword the command does not take → `555 5.5.4`
 *    (RFC 5321 §4.1.1.11);
 *  - bad value, value on a keyword that takes none, duplicate → `501 5.5.4`.
 *  Whether SIZE exceeds the limit (`552 5.3.4`, RFC 1870 §6) is the server's
 *  decision; the parsed SIZE is exposed for it.
 *
 * Keywords and the values of BODY, RET and NOTIFY are case-insensitive
 * (RFC 5321 §2.4). Nothing here throws.
 */

import type { Reply } from './reply.js';
import { reply } from './enhanced-codes.js';

export type BodyType = '7BIT' | '8BITMIME' | 'BINARYMIME';
export type Ret = 'FULL' | 'HDRS';
export type NotifyCondition = 'SUCCESS' | 'FAILURE' | 'DELAY';
/** RFC 3461 §4.1: NEVER alone, or a non-empty set of conditions. */
export type Notify = 'NEVER' | readonly NotifyCondition[];

export interface Orcpt {
  /** RFC 3461 §4.2 addr-type, e.g. `rfc822` or `utf-8` (RFC 6533); lower-cased. */
  readonly addrType: string;
  /** Decoded original recipient. */
  readonly address: string;
}

export interface MailParams {
  /** RFC 1870 §3: declared message size in octets. */
  readonly size?: number;
  /** RFC 6152 §3 / RFC 3030 §3. */
  readonly body?: BodyType;
  /** RFC 6531 §3.4. */
  readonly smtputf8?: true;
  /** RFC 3461 §4.3. */
  readonly ret?: Ret;
  /** RFC 3461 §4.4, decoded from xtext. */
  readonly envid?: string;
  /** RFC 4954 §5, decoded from xtext; `<>` when the client does not vouch for the sender. */
  readonly auth?: string;
  /** RFC 8689 §4.2. */
  readonly requireTls?: true;
}

export interface RcptParams {
  readonly notify?: Notify;
  readonly orcpt?: Orcpt;
}

/** EHLO keywords parameters depend on. */
export type Extension = 'SIZE' | '8BITMIME' | 'BINARYMIME' | 'SMTPUTF8' | 'DSN' | 'AUTH' | 'REQUIRETLS';

export interface ParamError {
  readonly kind: 'PARAM_ERROR';
  readonly param: string;
  readonly reply: Reply;
}

export function isParamError(v: unknown): v is ParamError {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'PARAM_ERROR';
}

function invalid(param: string, text: string): ParamError {
  return { kind: 'PARAM_ERROR', param, reply: reply('SYNTAX', text) };
}

function unsupported(param: string): ParamError {
  return { kind: 'PARAM_ERROR', param, reply: reply('UNSUPPORTED_PARAM', `Unsupported parameter ${param}`) };
}

// --- xtext (RFC 3461 §4) ---------------------------------------------------

/**
 * Encode as xtext: octets outside "!".."~", and "+" and "=", become `+XX`
 * (upper-case hex). Non-ASCII characters are encoded as their UTF-8 octets.
 */
export function xtextEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d
      ? String.fromCharCode(byte)
      : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Decode xtext; undefined when malformed (a raw "=", a character outside
 * "!".."~", or "+" not followed by two hex digits). Lower-case hex is accepted
 * (RFC 3461 asks for upper case; being liberal here costs nothing).
 */
export function xtextDecode(s: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 0x3d) {
      bytes.push(c);
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// --- Parsing ---------------------------------------------------------------

/** RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). */
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** RFC 5321 §4.1.2 esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 §3.3 adds UTF8-non-ascii. */
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\uffff]+$/;
const ENVID_MAX = 100; // RFC 3461 §4.4
const ORCPT_MAX = 500; // RFC 3461 §4.2

interface RawParam {
  readonly key: string;
  readonly value: string | undefined;
}

/** Split `KEY[=VALUE]` words; detects syntax errors and duplicates. */
function splitParams(tokens: readonly string[]): RawParam[] | ParamError {
  const seen = new Set<string>();
  const out: RawParam[] = [];
  for (const tok of tokens) {
    const eq = tok.indexOf('=');
    const rawKey = eq === -1 ? tok : tok.slice(0, eq);
    const value = eq === -1 ? undefined : tok.slice(eq + 1);
    if (!KEYWORD.test(rawKey)) return invalid(rawKey.slice(0, 32), 'Syntax error in parameters');
    const key = rawKey.toUpperCase();
    if (value !== undefined && !VALUE.test(value)) return invalid(key, `Invalid ${key} value`);
    if (seen.has(key)) {
      // A repeated keyword without a value (Python's smtplib sends `SMTPUTF8 SMTPUTF8`) means nothing more:
      // accept it, as Postfix does. A repeated key=value could disagree with itself: refuse it.
      if (value === undefined && out.some((p) => p.key === key && p.value === undefined)) continue;
      return invalid(key, `Duplicate parameter ${key}`);
    }
    seen.add(key);
    out.push({ key, value });
  }
  return out;
}

const MAIL_KEYS = new Set(['SIZE', 'BODY', 'SMTPUTF8', 'RET', 'ENVID', 'AUTH', 'REQUIRETLS']);
const RCPT_KEYS = new Set(['NOTIFY', 'ORCPT']);

/** MAIL FROM parameters. */
export function parseMailParams(tokens: readonly string[]): MailParams | ParamError {
  const raw = splitParams(tokens);
  if (!Array.isArray(raw)) return raw;
  const p: { -readonly [K in keyof MailParams]: MailParams[K] } = {};
  for (const { key, value } of raw) {
    if (!MAIL_KEYS.has(key)) return unsupported(key);
    switch (key) {
      case 'SIZE': {
        // RFC 1870 §3: size-value = 1*20DIGIT
        if (value === undefined || !/^[0-9]{1,20}$/.test(value)) return invalid(key, 'Invalid SIZE');
        const n = Number(value);
        p.size = Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
        break;
      }
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME' && v !== 'BINARYMIME') return invalid(key, 'Invalid BODY');
        p.body = v;
        break;
      }
      case 'SMTPUTF8':
      case 'REQUIRETLS':
        if (value !== undefined) return invalid(key, `${key} takes no value`);
        if (key === 'SMTPUTF8') p.smtputf8 = true;
        else p.requireTls = true;
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return invalid(key, 'Invalid RET');
        p.ret = v;
        break;
      }
      case 'ENVID': {
        const d = value === undefined || value.length > ENVID_MAX ? undefined : xtextDecode(value);
        if (d === undefined || d.length === 0) return invalid(key, 'Invalid ENVID');
        p.envid = d;
        break;
      }
      case 'AUTH': {
        const d = value === undefined ? undefined : xtextDecode(value);
        if (d === undefined || d.length === 0) return invalid(key, 'Invalid AUTH');
        p.auth = d;
        break;
      }
    }
  }
  return p;
}

/** RCPT TO parameters. */
export function parseRcptParams(tokens: readonly string[]): RcptParams | ParamError {
  const raw = splitParams(tokens);
  if (!Array.isArray(raw)) return raw;
  const p: { -readonly [K in keyof RcptParams]: RcptParams[K] } = {};
  for (const { key, value } of raw) {
    if (!RCPT_KEYS.has(key)) return unsupported(key);
    if (key === 'NOTIFY') {
      const n = parseNotify(value);
      if (n === undefined) return invalid(key, 'Invalid NOTIFY');
      p.notify = n;
    } else {
      // RFC 3461 §4.2: orcpt-parameter = "ORCPT=" addr-type ";" xtext
      const semi = value === undefined ? -1 : value.indexOf(';');
      if (value === undefined || semi < 1 || value.length > ORCPT_MAX) return invalid(key, 'Invalid ORCPT');
      const addrType = value.slice(0, semi);
      const address = xtextDecode(value.slice(semi + 1));
      if (!/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/.test(addrType) || address === undefined || address.length === 0) {
        return invalid(key, 'Invalid ORCPT');
      }
      p.orcpt = { addrType: addrType.toLowerCase(), address };
    }
  }
  return p;
}

/** RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ), no repeats. */
function parseNotify(value: string | undefined): Notify | undefined {
  if (value === undefined) return undefined;
  const parts = value.toUpperCase().split(',');
  if (parts.length === 1 && parts[0] === 'NEVER') return 'NEVER';
  const out: NotifyCondition[] = [];
  for (const part of parts) {
    if ((part !== 'SUCCESS' && part !== 'FAILURE' && part !== 'DELAY') || out.includes(part)) return undefined;
    out.push(part);
  }
  return out;
}

// --- Extensions ------------------------------------------------------------

/** EHLO keywords the given parameters need (RFC 1870, 6152, 3030, 6531, 3461, 4954, 8689). */
export function requiredExtensions(params: MailParams | RcptParams): Extension[] {
  const out = new Set<Extension>();
  if ('size' in params && params.size !== undefined) out.add('SIZE');
  if ('body' in params && params.body !== undefined) out.add(params.body === 'BINARYMIME' ? 'BINARYMIME' : '8BITMIME');
  if ('smtputf8' in params && params.smtputf8 === true) out.add('SMTPUTF8');
  if (('ret' in params && params.ret !== undefined) || ('envid' in params && params.envid !== undefined)) out.add('DSN');
  if (('notify' in params && params.notify !== undefined) || ('orcpt' in params && params.orcpt !== undefined)) out.add('DSN');
  if ('auth' in params && params.auth !== undefined) out.add('AUTH');
  if ('requireTls' in params && params.requireTls === true) out.add('REQUIRETLS');
  return [...out];
}

/**
 * The reply for the first parameter whose extension was not advertised
 * (`555 5.5.4`, RFC 5321 §4.1.1.11), or undefined when all were.
 * `advertised` holds upper-case EHLO keywords.
 */
export function checkAdvertised(params: MailParams | RcptParams, advertised: ReadonlySet<string>): Reply | undefined {
  const missing = requiredExtensions(params).find((e) => !advertised.has(e));
  return missing === undefined ? undefined : reply('UNSUPPORTED_PARAM', `Unsupported parameter: ${missing} not offered`);
}

// --- Formatting (client side) ------------------------------------------------

/** Wire words for MAIL FROM parameters, in a fixed order. */
export function formatMailParams(p: MailParams): string[] {
  const out: string[] = [];
  if (p.size !== undefined) out.push(`SIZE=${Math.max(0, Math.floor(p.size))}`);
  if (p.body !== undefined) out.push(`BODY=${p.body}`);
  if (p.smtputf8 === true) out.push('SMTPUTF8');
  if (p.ret !== undefined) out.push(`RET=${p.ret}`);
  if (p.envid !== undefined) out.push(`ENVID=${xtextEncode(p.envid)}`);
  if (p.auth !== undefined) out.push(`AUTH=${p.auth === '<>' ? '<>' : xtextEncode(p.auth)}`);
  if (p.requireTls === true) out.push('REQUIRETLS');
  return out;
}

/** Wire words for RCPT TO parameters. */
export function formatRcptParams(p: RcptParams): string[] {
  const out: string[] = [];
  if (p.notify !== undefined) out.push(`NOTIFY=${p.notify === 'NEVER' ? 'NEVER' : p.notify.join(',')}`);
  if (p.orcpt !== undefined) out.push(`ORCPT=${p.orcpt.addrType};${xtextEncode(p.orcpt.address)}`);
  return out;
}
