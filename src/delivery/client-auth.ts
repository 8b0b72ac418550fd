/**
 * @module delivery/client-auth
 *
 * SMTP AUTH to a smarthost (RFC 4954): the client side of PLAIN (RFC 4616),
 * LOGIN (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195), on the SASL
 * encodings of `smtp/sasl.ts`.
 *
 * Exports:
 *  - `ClientAuthOptions`: username, password, mechanisms?, allowPlainWithoutTls?
 *  - `chooseMechanism(offered, opts, tlsActive)` → mechanism or a reason.
 *  - `authenticate(conn, caps, opts, tlsActive, timeoutMs)`: resolves on 235,
 *    throws `SmtpClientError` AUTH_FAILED (scope queue: a configuration
 *    problem, every message of the queue would fail alike) otherwise.
 *
 * Rules:
 *  - The password never crosses the wire in clear: PLAIN and LOGIN only
 *    under TLS unless `allowPlainWithoutTls` (PowerMTA
 *    `use-unencrypted-plain-auth`). Preference: in clear CRAM-MD5 first
 *    (the secret is never sent), under TLS PLAIN first (one round trip).
 *    `mechanisms` restricts the set; it does not reorder it.
 *  - No AUTH offered, or no usable mechanism → AUTH_FAILED without sending.
 *  - A 334 where a final reply was due is answered with `*` (RFC 4954 §4:
 *    cancel), then AUTH_FAILED.
 *  - Error texts name the mechanism and the server's reply, never a secret.
 */

import { encodeBase64, encodePlain, formatCramMd5Response } from '../smtp/sasl.js';
import type { EhloCapabilities } from '../smtp/ehlo.js';
import type { ParsedReply } from '../smtp/reply.js';
import type { ClientConnection } from './client-connection.js';
import { toRemoteReply } from './client-connection.js';
import { SmtpClientError, localReply } from './client-errors.js';

export interface ClientAuthOptions {
  readonly username: string;
  readonly password: string;
  /** Mechanisms allowed (upper-case); default all of `SUPPORTED_MECHANISMS`. */
  readonly mechanisms?: readonly string[];
  /** Allow PLAIN/LOGIN without TLS (PowerMTA `use-unencrypted-plain-auth`). */
  readonly allowPlainWithoutTls?: boolean;
}

export const SUPPORTED_MECHANISMS = ['CRAM-MD5', 'PLAIN', 'LOGIN'] as const;
export type ClientMechanism = (typeof SUPPORTED_MECHANISMS)[number];

const ORDER_CLEAR: readonly ClientMechanism[] = ['CRAM-MD5', 'PLAIN', 'LOGIN'];
const ORDER_TLS: readonly ClientMechanism[] = ['PLAIN', 'LOGIN', 'CRAM-MD5'];

/** The mechanism to use, or why there is none. */
export function chooseMechanism(
  offered: ReadonlySet<string>,
  opts: ClientAuthOptions,
  tlsActive: boolean,
): { readonly mechanism: ClientMechanism } | { readonly reason: string } {
  if (offered.size === 0) return { reason: 'the server offers no AUTH' };
  const allowed = new Set((opts.mechanisms ?? SUPPORTED_MECHANISMS).map((m) => m.toUpperCase()));
  const plainOk = tlsActive || opts.allowPlainWithoutTls === true;
  for (const m of tlsActive ? ORDER_TLS : ORDER_CLEAR) {
    if (!allowed.has(m) || !offered.has(m)) continue;
    if ((m === 'PLAIN' || m === 'LOGIN') && !plainOk) continue;
    return { mechanism: m };
  }
  const list = [...offered].join(' ');
  const clearOnly = !plainOk && [...offered].some((m) => (m === 'PLAIN' || m === 'LOGIN') && allowed.has(m));
  return { reason: clearOnly ? `only ${list} offered and PLAIN/LOGIN are not used without TLS` : `no usable mechanism among: ${list}` };
}

/** Authenticates or throws AUTH_FAILED (or a connection failure). */
export async function authenticate(conn: ClientConnection, caps: EhloCapabilities, opts: ClientAuthOptions, tlsActive: boolean, timeoutMs: number): Promise<void> {
  const choice = chooseMechanism(caps.authMechanisms, opts, tlsActive);
  if ('reason' in choice) {
    throw new SmtpClientError('AUTH_FAILED', localReply('AUTH_FAILED', 'auth', `cannot authenticate: ${choice.reason}`, conn.mta));
  }
  const mech = choice.mechanism;
  const step = async (line: string): Promise<ParsedReply> => {
    conn.send(`${line}\r\n`, 1);
    const r = await conn.read('auth', timeoutMs);
    if (r.code === 421) {
      conn.abort('SERVICE_UNAVAILABLE', 'server closing (421) during AUTH');
      throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(r, 'auth', conn.mta));
    }
    return r;
  };
  const fail = async (r: ParsedReply): Promise<never> => {
    if (r.code === 334) {
      // RFC 4954 §4: "*" cancels the exchange; the server answers 501.
      await step('*').catch(() => undefined);
    }
    const remote = toRemoteReply(r, 'auth', conn.mta);
    throw new SmtpClientError('AUTH_FAILED', { ...remote, text: `AUTH ${mech} failed: ${remote.text}` });
  };

  let r: ParsedReply;
  switch (mech) {
    case 'PLAIN':
      r = await step(`AUTH PLAIN ${encodePlain({ authcid: opts.username, password: opts.password })}`);
      break;
    case 'LOGIN':
      r = await step('AUTH LOGIN');
      if (r.code !== 334) return fail(r);
      r = await step(encodeBase64(opts.username));
      if (r.code !== 334) return fail(r);
      r = await step(encodeBase64(opts.password));
      break;
    case 'CRAM-MD5': {
      r = await step('AUTH CRAM-MD5');
      if (r.code !== 334) return fail(r);
      const response = formatCramMd5Response(opts.username, (r.rawLines[0] ?? '').trim(), opts.password);
      if (response === undefined) {
        await step('*').catch(() => undefined);
        throw new SmtpClientError('AUTH_FAILED', localReply('AUTH_FAILED', 'auth', 'AUTH CRAM-MD5 failed: the challenge is not base64', conn.mta));
      }
      r = await step(response);
      break;
    }
    default: {
      const never: never = mech;
      throw new Error(`unknown mechanism ${String(never)}`);
    }
  }
  if (r.code !== 235) return fail(r);
}
