/**
 * @module delivery/dkim-sign-core
 *
 * Computes one `DKIM-Signature:` field (RFC 6376; RFC 8463 for Ed25519)
 * from settings already decided — no configuration here.
 *
 * Built from mailauth's own pieces (body canonicalisation and hashing,
 * header canonicalisation, tag formatting and folding — the code its
 * `dkimSign` runs), composed here rather than called through `dkimSign`
 * because `dkimSign` cannot do three things Petrel's directives ask for:
 *   - over-signing (`dkim-disallow-adding-headers`): its `h=` lists only
 *     fields present in the message;
 *   - leaving `t=` out (`dkim-add-timestamp no`): it always writes one;
 *   - signing with a parsed `KeyObject`: it takes PEM only and parses it
 *     again for every message (about 4× slower for RSA-2048).
 * Without over-signing and with a timestamp, the output is byte-for-byte
 * what `dkimSign` gives for the same input (a test checks it).
 *
 * Exports: `Canon`, `SplitMessage`, `splitMessage`, `toCrlf`,
 * `CoreSignRequest`, `signatureField`.
 */
import * as crypto from 'node:crypto';
import { dkimBody } from 'mailauth/lib/dkim/body/index.js';
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header/index.js';
import type { ParsedHeaderLine } from 'mailauth/lib/dkim/header/index.js';
import { formatSignatureHeaderLine, parseHeaders } from 'mailauth/lib/tools.js';
import type { DkimKeyType } from './dkim-keys.js';

export type Canon = 'simple' | 'relaxed';

export interface SplitMessage {
  /** The whole message, with CRLF line ends. */
  readonly message: Buffer;
  /** Header fields in message order (folding kept). */
  readonly headers: readonly ParsedHeaderLine[];
  /** Everything after the blank line that ends the header. */
  readonly body: Buffer;
}

/** Rewrites bare LF line ends as CRLF (the form mail travels in); returns the same buffer when there is none. */
export function toCrlf(buf: Buffer): Buffer {
  let bare = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) if (i === 0 || buf[i - 1] !== 0x0d) bare++;
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x0a && (i === 0 || buf[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = c;
  }
  return out;
}

/** Splits a message at the first empty line (a message without one is all header). */
export function splitMessage(raw: Buffer): SplitMessage {
  const message = toCrlf(raw);
  if (message.subarray(0, 2).toString('latin1') === '\r\n') return { message, headers: [], body: message.subarray(2) };
  const end = message.indexOf('\r\n\r\n');
  const headerBlock = end < 0 ? message : message.subarray(0, end + 2);
  const body = end < 0 ? Buffer.alloc(0) : message.subarray(end + 4);
  const headers = headerBlock.length === 0 ? [] : parseHeaders(headerBlock).parsed.filter((h) => h.key);
  return { message, headers, body };
}

export interface CoreSignRequest {
  readonly split: SplitMessage;
  /** `d=` */
  readonly domain: string;
  /** `s=` */
  readonly selector: string;
  readonly key: crypto.KeyObject;
  readonly keyType: DkimKeyType;
  readonly headerCanon: Canon;
  readonly bodyCanon: Canon;
  /** Field names to sign (case-insensitive); every present instance is signed. */
  readonly signHeaders: readonly string[];
  /** Field names listed once more in `h=` than they occur (RFC 6376 §8.15); absent ones once. */
  readonly oversign: readonly string[];
  /** Write `l=` (the whole canonical body length). */
  readonly bodyLength: boolean;
  /** `t=`, Unix seconds; omitted when undefined. */
  readonly timestamp?: number;
  /** `x=`, Unix seconds; omitted when undefined. */
  readonly expires?: number;
  /** `i=`, when the identity is an address. */
  readonly auid?: string;
}

/** The folded `DKIM-Signature: …` field with its final CRLF, to put before the message. */
export function signatureField(req: CoreSignRequest): string {
  const { split } = req;
  const wanted = new Set(req.signHeaders.map((h) => h.toLowerCase()));
  // bottom-up, as RFC 6376 §5.4.2 pairs repeated names with instances
  const signed: ParsedHeaderLine[] = [];
  for (let i = split.headers.length - 1; i >= 0; i--) {
    const h = split.headers[i]!;
    if (h.key && wanted.has(h.key)) signed.push(h);
  }
  const names = signed.map((h) => h.casedKey ?? h.key ?? '');
  names.push(...req.oversign);

  const hasher = dkimBody(req.bodyCanon, 'sha256', false);
  if (split.body.length > 0) hasher.update(split.body);
  const bh = hasher.digest('base64');

  const algorithm = req.keyType === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
  const canonicalization = `${req.headerCanon}/${req.bodyCanon}`;
  const tags: Record<string, string | number | false | undefined> = {
    a: algorithm,
    c: canonicalization,
    d: req.domain,
    s: req.selector,
    h: names.join(': '),
    i: req.auid,
    l: req.bodyLength ? hasher.bodyHashedBytes : undefined,
    t: req.timestamp ?? false,
    x: req.expires,
    bh,
  };
  // the placeholder b= keeps the folding of every tag before b= as it will be in the final field
  const placeholder = formatSignatureHeaderLine('DKIM', { b: 'a'.repeat(73), ...tags }, true);
  const { canonicalizedHeader } = generateCanonicalizedHeader('DKIM', { keys: tags.h as string, headers: signed }, { canonicalization, signatureHeaderLine: placeholder });
  const b =
    req.keyType === 'rsa'
      ? crypto.sign('sha256', canonicalizedHeader, req.key)
      : // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the canonicalised header
        crypto.sign(null, crypto.createHash('sha256').update(canonicalizedHeader).digest(), req.key);
  return `${formatSignatureHeaderLine('DKIM', { b: b.toString('base64'), ...tags }, true)}\r\n`;
}
