/**
 * @module delivery/client-tls
 *
 * Outbound STARTTLS (RFC 3207) and the judgement of the server's
 * certificate. PowerMTA `use-starttls` / `require-starttls` become
 * `TlsMode`; how the certificate is judged is `TlsVerify`.
 *
 * Exports:
 *  - `ClientTlsOptions`: mode, verify, minVersion, ca, checkCertificate.
 *  - `negotiateTls(conn, caps, opts, ctx)` → `TlsResult | undefined`
 *    (undefined: the session stays in clear, which only mode
 *    `opportunistic` allows), or throws `SmtpClientError`.
 *
 * Policy (and why):
 *  - `none`: never STARTTLS.
 *  - `opportunistic`: STARTTLS when offered. A refusal of STARTTLS (454)
 *    continues in clear. A failed handshake is TLS_HANDSHAKE_FAILED
 *    (deferred, scope host): the connection is dead; Postfix would retry in
 *    clear on a new connection, here the caller decides.
 *  - `required`: no STARTTLS offered, or refused → TLS_REQUIRED_UNAVAILABLE;
 *    a failed handshake → TLS_HANDSHAKE_FAILED. Never a byte of mail in clear.
 *  - Verification (`ca`, `dane`) failing is TLS_VERIFY_FAILED in either mode:
 *    an operator who asked for a check gets it. The handshake itself runs
 *    with `rejectUnauthorized: false` and the verdict is computed after it,
 *    before any further command, so "handshake failed" and "certificate not
 *    trusted" stay apart, and the DANE hook sees certificates that no CA
 *    signed (Node never calls checkServerIdentity after a chain failure).
 *     - `ca`: the chain verifies against `ca` (or Node's root store) AND the
 *       certificate names the MX host (`tls.checkServerIdentity`, RFC 6125)
 *       AND `checkCertificate` (when given) returns nothing.
 *     - `dane`: only `checkCertificate` decides (the DANE module's TLSA
 *       match, RFC 7672 §3); without the hook verification fails.
 *     - `none`: encrypt without checking; `verified` is false.
 *  - SNI is the MX host name when it is a name (RFC 6066 §3: not an IP).
 *  - Minimum protocol TLSv1.2 unless told otherwise.
 */

import * as net from 'node:net';
import type * as tls from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import type { ClientConnection } from './client-connection.js';
import { toRemoteReply } from './client-connection.js';
import { SmtpClientError, localReply } from './client-errors.js';
import type { EhloCapabilities } from '../smtp/ehlo.js';
import type { TlsMode, TlsResult, TlsVerify } from './types.js';

export interface ClientTlsOptions {
  readonly mode: TlsMode;
  readonly verify: TlsVerify;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Trust anchors for `verify: 'ca'` (Node's root store when absent). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Extra check (DANE): return an error message to fail verification. */
  checkCertificate?(cert: tls.DetailedPeerCertificate, socket: tls.TLSSocket): string | undefined;
}

export interface TlsContext {
  /** The MX host name for SNI and the name check. */
  readonly hostname: string | undefined;
  readonly commandTimeoutMs: number;
}

/**
 * STARTTLS per policy. Returns the TLS facts, or undefined when the session
 * stays in clear (opportunistic only). The caller must EHLO again after a
 * successful upgrade (RFC 3207 §4.2).
 */
export async function negotiateTls(conn: ClientConnection, caps: EhloCapabilities, opts: ClientTlsOptions, ctx: TlsContext): Promise<TlsResult | undefined> {
  if (opts.mode === 'none') return undefined;
  if (!caps.has('STARTTLS')) {
    if (opts.mode === 'opportunistic') return undefined;
    throw new SmtpClientError('TLS_REQUIRED_UNAVAILABLE', localReply('TLS_REQUIRED_UNAVAILABLE', 'starttls', 'TLS is required but the server does not offer STARTTLS', conn.mta));
  }
  conn.send('STARTTLS\r\n', 1);
  const reply = await conn.read('starttls', ctx.commandTimeoutMs);
  if (reply.code === 421) {
    conn.abort('SERVICE_UNAVAILABLE', 'server closing (421) at STARTTLS');
    throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(reply, 'starttls', conn.mta));
  }
  if (reply.code !== 220) {
    if (opts.mode === 'opportunistic') return undefined;
    const r = toRemoteReply(reply, 'starttls', conn.mta);
    throw new SmtpClientError('TLS_REQUIRED_UNAVAILABLE', localReply('TLS_REQUIRED_UNAVAILABLE', 'starttls', `TLS is required but STARTTLS was refused: ${reply.code} ${r.text}`, conn.mta));
  }

  const servername = ctx.hostname !== undefined && net.isIP(ctx.hostname) === 0 ? ctx.hostname : undefined;
  const options: tls.ConnectionOptions = {
    rejectUnauthorized: false,
    minVersion: opts.minVersion ?? 'TLSv1.2',
    ...(servername !== undefined ? { servername } : {}),
    ...(opts.verify === 'ca' && opts.ca !== undefined ? { ca: opts.ca as string | Buffer | Array<string | Buffer> } : {}),
  };
  const sock = await conn.upgrade(options, ctx.commandTimeoutMs);

  const cipher = sock.getCipher();
  const base = { protocol: sock.getProtocol() ?? 'unknown', cipher: cipher?.name ?? 'unknown' };
  const verifyError = judge(sock, opts, ctx.hostname);
  if (opts.verify === 'none') return { ...base, verified: false };
  if (verifyError !== undefined) {
    conn.abort('TLS_VERIFY_FAILED', verifyError);
    throw new SmtpClientError('TLS_VERIFY_FAILED', localReply('TLS_VERIFY_FAILED', 'starttls', `certificate verification failed: ${verifyError}`, conn.mta));
  }
  return { ...base, verified: true };
}

/** Why the peer's certificate fails the check `opts.verify` asks for; undefined when it passes. */
function judge(sock: tls.TLSSocket, opts: ClientTlsOptions, hostname: string | undefined): string | undefined {
  if (opts.verify === 'none') return undefined;
  const cert = sock.getPeerCertificate(true);
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return 'the server sent no certificate';
  if (opts.verify === 'dane') {
    if (opts.checkCertificate === undefined) return 'DANE verification requested but no TLSA check supplied';
    return safeHook(opts, cert, sock);
  }
  // verify === 'ca'
  if (!sock.authorized) return `untrusted certificate chain: ${String(sock.authorizationError ?? 'unknown reason')}`;
  if (hostname === undefined) return 'no MX host name to check the certificate against';
  const nameError = checkServerIdentity(hostname, cert);
  if (nameError !== undefined) return nameError.message;
  return opts.checkCertificate === undefined ? undefined : safeHook(opts, cert, sock);
}

function safeHook(opts: ClientTlsOptions, cert: tls.DetailedPeerCertificate, sock: tls.TLSSocket): string | undefined {
  try {
    return opts.checkCertificate?.(cert, sock);
  } catch (e) {
    return `certificate check threw: ${e instanceof Error ? e.message : String(e)}`;
  }
}
