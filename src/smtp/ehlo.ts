/**
 * @module smtp/ehlo
 *
 * The EHLO reply in both directions (RFC 5321 §4.1.1.1, RFC 1869 / §2.2).
 *
 * Exports:
 *  - `ServerCapabilities`, `EhloState`, `buildEhloKeywords(caps, state)`:
 *    the keyword lines a server advertises in a given session state.
 *  - `ehloReply(hostname, greeting, keywords)`: the multi-line 250 reply
 *    (no enhanced code: RFC 2034 §3).
 *  - `EhloCapabilities`, `parseEhloReply(reply)`: a server's EHLO reply as a
 *    capability map for the client.
 *
 * Advertising rules (per state, so a keyword never promises what the next
 * command would refuse):
 *  - STARTTLS only before TLS (RFC 3207 §4.2: not again after the handshake).
 *  - AUTH only when the session allows it (`authAllowed`, e.g. only under
 *    TLS) and it has not authenticated yet (RFC 4954 §4: one AUTH per session).
 *  - SIZE with its limit; `SIZE` bare when there is no fixed limit (RFC 1870 §4).
 *  - BINARYMIME only together with CHUNKING (RFC 3030 §3).
 *
 * Parsing rules: keywords are upper-cased (RFC 5321 §2.4); the first line
 * is the greeting, not a keyword; lines that are not `keyword *(SP param)`
 * are skipped; unknown keywords are kept. The old `AUTH=LOGIN PLAIN` form
 * (pre-RFC 2554 servers) adds its mechanisms to `AUTH`. Nothing throws.
 */

import type { Reply } from './reply.js';

export interface ServerCapabilities {
  /** Maximum message size: a number advertises `SIZE n`; 0 or null advertises bare `SIZE`; undefined, none. */
  readonly size?: number | null;
  readonly pipelining?: boolean;
  readonly eightBitMime?: boolean;
  readonly smtputf8?: boolean;
  readonly enhancedStatusCodes?: boolean;
  readonly dsn?: boolean;
  readonly chunking?: boolean;
  readonly binaryMime?: boolean;
  readonly startTls?: boolean;
  readonly requireTls?: boolean;
  /** SASL mechanisms, upper-case, in preference order. */
  readonly authMechanisms?: readonly string[];
  readonly help?: boolean;
}

export interface EhloState {
  readonly tls: boolean;
  readonly authenticated: boolean;
  /** Policy allows AUTH in this session now (e.g. only after STARTTLS). */
  readonly authAllowed: boolean;
}

/** Keyword lines to advertise, in a stable order. */
export function buildEhloKeywords(caps: ServerCapabilities, state: EhloState): string[] {
  const out: string[] = [];
  if (caps.pipelining === true) out.push('PIPELINING');
  if (caps.size !== undefined) out.push(caps.size !== null && caps.size > 0 ? `SIZE ${Math.floor(caps.size)}` : 'SIZE');
  if (caps.startTls === true && !state.tls) out.push('STARTTLS');
  const mechs = caps.authMechanisms ?? [];
  if (mechs.length > 0 && state.authAllowed && !state.authenticated) out.push(`AUTH ${mechs.join(' ')}`);
  if (caps.enhancedStatusCodes === true) out.push('ENHANCEDSTATUSCODES');
  if (caps.eightBitMime === true) out.push('8BITMIME');
  if (caps.dsn === true) out.push('DSN');
  if (caps.smtputf8 === true) out.push('SMTPUTF8');
  if (caps.chunking === true) {
    out.push('CHUNKING');
    if (caps.binaryMime === true) out.push('BINARYMIME');
  }
  if (caps.requireTls === true && state.tls) out.push('REQUIRETLS'); // RFC 8689 §4.1: only over TLS
  if (caps.help === true) out.push('HELP');
  return out;
}

/** The 250 reply to EHLO: `hostname greeting` then one keyword per line. */
export function ehloReply(hostname: string, greeting: string, keywords: readonly string[]): Reply {
  const first = greeting.length > 0 ? `${hostname} ${greeting}` : hostname;
  return { code: 250, lines: [first, ...keywords] };
}

export interface EhloCapabilities {
  /** First line of the reply: the server's name and greeting text. */
  readonly greeting: string;
  /** Upper-case keyword → its parameters as sent. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
  /** SIZE limit: a number, null when SIZE was sent without a limit (or 0), undefined when absent. */
  readonly size: number | null | undefined;
  /** SASL mechanisms, upper-case, from `AUTH` and the old `AUTH=` form. */
  readonly authMechanisms: ReadonlySet<string>;
  has(keyword: string): boolean;
}

const KEYWORD_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/;

/** A server's EHLO reply as a capability map (RFC 5321 §4.1.1.1 ehlo-ok-rsp). */
export function parseEhloReply(reply: Reply): EhloCapabilities {
  const keywords = new Map<string, string[]>();
  const auth = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const m = KEYWORD_LINE.exec(line.trim());
    if (m === null) continue;
    const keyword = (m[1] as string).toUpperCase();
    const params = (m[2] ?? '').split(/ +/).filter((p) => p.length > 0);
    const oldAuth = keyword === 'AUTH' && line.trim()[4] === '=';
    if (keyword === 'AUTH') for (const p of params) auth.add(p.toUpperCase());
    // The old "AUTH=" form adds mechanisms, it does not replace the RFC form.
    if (oldAuth && keywords.has('AUTH')) continue;
    keywords.set(keyword, params);
  }
  const sizeParams = keywords.get('SIZE');
  let size: number | null | undefined;
  if (sizeParams !== undefined) {
    const raw = sizeParams[0];
    const n = raw !== undefined && /^[0-9]{1,20}$/.test(raw) ? Number(raw) : 0;
    size = n > 0 ? Math.min(n, Number.MAX_SAFE_INTEGER) : null;
  }
  return {
    greeting: reply.lines[0] ?? '',
    keywords,
    size,
    authMechanisms: auth,
    has: (kw: string) => keywords.has(kw.toUpperCase()),
  };
}
