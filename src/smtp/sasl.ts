/**
 * @module smtp/sasl
 *
 * The pure parts of SMTP AUTH (RFC 4954): base64 framing of SASL exchanges
 * and the PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and CRAM-MD5
 * (RFC 2195) message formats. Credential lookup, randomness and time belong
 * to the server (`server/sasl/`); they come in as arguments.
 *
 * Exports:
 *  - `decodeBase64Strict(s)`, `encodeBase64(data)`.
 *  - `parseInitialResponse(arg)`: the optional AUTH argument; `=` is an empty
 *    initial response (RFC 4954 §4).
 *  - `parseContinuation(line)`: a client's line after a 334: `*` cancels
 *    (RFC 4954 §4), anything else must be base64.
 *  - PLAIN: `decodePlain(data)`, `encodePlain(creds)`.
 *  - LOGIN: `LOGIN_USERNAME_CHALLENGE`, `LOGIN_PASSWORD_CHALLENGE`, `decodeLoginValue(data)`.
 *  - CRAM-MD5: `formatCramMd5Challenge(parts)`, `parseCramMd5Response(data)`,
 *    `cramMd5Digest(challenge, secret)`, `verifyCramMd5(...)`, `formatCramMd5Response(...)`.
 *  - `constantTimeEqual(a, b)`: compares secrets without leaking where they differ.
 *
 * Contracts: base64 is validated strictly (alphabet, padding, canonical
 * trailing bits), so two different strings never decode to the same secret;
 * identities must be valid UTF-8 without NUL (RFC 4616 §2). Nothing throws.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict base64 (RFC 4648 §4): undefined for anything not canonical. The empty string is empty data. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!BASE64.test(s)) return undefined;
  const data = Buffer.from(s, 'base64');
  return data.toString('base64') === s ? data : undefined;
}

export function encodeBase64(data: string | Uint8Array): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64');
}

function decodeUtf8(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

export type SaslInput =
  | { readonly kind: 'none' }
  | { readonly kind: 'data'; readonly data: Buffer }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'invalid' };

/** The AUTH command's initial-response argument (RFC 4954 §4): absent, `=` (empty), or base64. */
export function parseInitialResponse(arg: string | undefined): SaslInput {
  if (arg === undefined) return { kind: 'none' };
  if (arg === '=') return { kind: 'data', data: Buffer.alloc(0) };
  if (arg.length === 0) return { kind: 'invalid' };
  const data = decodeBase64Strict(arg);
  return data === undefined ? { kind: 'invalid' } : { kind: 'data', data };
}

/** A client's response line to a 334 challenge (RFC 4954 §4). */
export function parseContinuation(line: string): SaslInput {
  if (line === '*') return { kind: 'cancel' };
  const data = decodeBase64Strict(line);
  return data === undefined ? { kind: 'invalid' } : { kind: 'data', data };
}

// --- PLAIN (RFC 4616) ------------------------------------------------------------

export interface PlainCredentials {
  /** Authorization identity; empty when the client acts as itself. */
  readonly authzid: string;
  readonly authcid: string;
  readonly password: string;
}

/** RFC 4616 §2: message = [authzid] NUL authcid NUL passwd; authcid and passwd non-empty. */
export function decodePlain(data: Uint8Array): PlainCredentials | undefined {
  const text = decodeUtf8(data);
  if (text === undefined) return undefined;
  const parts = text.split('\0');
  if (parts.length !== 3) return undefined;
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid.length === 0 || password.length === 0) return undefined;
  return { authzid, authcid, password };
}

/** Base64 PLAIN message for the client. */
export function encodePlain(creds: { readonly authzid?: string; readonly authcid: string; readonly password: string }): string {
  return encodeBase64(`${creds.authzid ?? ''}\0${creds.authcid}\0${creds.password}`);
}

// --- LOGIN -----------------------------------------------------------------------

/** base64("Username:"), the customary first LOGIN challenge. */
export const LOGIN_USERNAME_CHALLENGE = 'VXNlcm5hbWU6';
/** base64("Password:"), the customary second LOGIN challenge. */
export const LOGIN_PASSWORD_CHALLENGE = 'UGFzc3dvcmQ6';

/** A LOGIN username or password: UTF-8 without NUL; undefined otherwise. */
export function decodeLoginValue(data: Uint8Array): string | undefined {
  const text = decodeUtf8(data);
  return text === undefined || text.includes('\0') ? undefined : text;
}

// --- CRAM-MD5 (RFC 2195) -----------------------------------------------------

/**
 * RFC 2195 §2 challenge text, a msg-id: `<random.timestamp@hostname>`. The
 * caller supplies the randomness and the time (no clocks in `smtp/`).
 */
export function formatCramMd5Challenge(parts: {
  readonly random: string;
  readonly timestamp: number | string;
  readonly hostname: string;
}): string {
  return `<${parts.random}.${parts.timestamp}@${parts.hostname}>`;
}

/** HMAC-MD5 of the challenge text keyed with the shared secret, lower-case hex. */
export function cramMd5Digest(challenge: string, secret: string): string {
  return createHmac('md5', secret).update(challenge, 'utf8').digest('hex');
}

/** RFC 2195 §2 response: `username SP digest` (32 hex digits, the last space separates). */
export function parseCramMd5Response(data: Uint8Array): { readonly username: string; readonly digest: string } | undefined {
  const text = decodeUtf8(data);
  if (text === undefined) return undefined;
  const sp = text.lastIndexOf(' ');
  if (sp < 1) return undefined;
  const username = text.slice(0, sp);
  const digest = text.slice(sp + 1).toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(digest) || username.includes('\0')) return undefined;
  return { username, digest };
}

/** True when `digest` is the right response to `challenge` for `secret`. */
export function verifyCramMd5(challenge: string, secret: string, digest: string): boolean {
  return constantTimeEqual(cramMd5Digest(challenge, secret), digest.toLowerCase());
}

/** The client's base64 response to a base64 CRAM-MD5 challenge; undefined if the challenge is not base64. */
export function formatCramMd5Response(username: string, challengeBase64: string, secret: string): string | undefined {
  const challenge = decodeBase64Strict(challengeBase64);
  if (challenge === undefined) return undefined;
  return encodeBase64(`${username} ${cramMd5Digest(challenge.toString('utf8'), secret)}`);
}

// --- Comparison --------------------------------------------------------------

/**
 * Compare two secrets in time independent of where they differ. Both are
 * hashed first, so lengths need not match and the length is not leaked by
 * an early return.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
