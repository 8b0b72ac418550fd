/**
 * @module delivery/client-errors
 *
 * Typed failures of the outbound SMTP client, each with a stable `code`, the
 * local reply that describes it (a `RemoteReply` with `local: true`, or the
 * server's own reply when the server caused it), and the outcome it implies
 * for every recipient that is not final yet (STYLE habits 8 and 14:
 * failure scope is explicit; trouble with a peer is a deferral, never a
 * bounce, except where the remote server itself said 5xx at the greeting).
 *
 * Exports:
 *  - `ClientErrorCode`: `DeliveryErrorCode` plus `SERVICE_UNAVAILABLE` (a 421
 *    from the server at any point) and `REMOTE_REJECTED` (greeting, EHLO and
 *    HELO, or RSET refused). XXX: these two belong in `delivery/types.ts`.
 *  - `CLIENT_ERROR_CODES`: code → default reply code, enhanced code, scope.
 *  - `SmtpClientError`: `Error` with `code`, `reply`, `scope`, `kind`.
 *  - `localReply(code, phase, text, mta)`: the local reply for a code.
 *  - `isSmtpClientError(e)`.
 *  - `failureOutcomes(error, recipientIds, facts?)`: one outcome per id.
 *
 * Contracts: messages never contain a password; reply texts are cut to
 * `MAX_TEXT` characters; nothing here throws.
 */

import type { DeliveryErrorCode, DeliveryFacts, OutcomeScope, RecipientOutcome, RemoteReply } from './types.js';

export type ClientErrorCode = DeliveryErrorCode | 'SERVICE_UNAVAILABLE' | 'REMOTE_REJECTED';

export interface ClientErrorInfo {
  /** Synthetic reply code when the failure is local. */
  readonly code: number;
  /** RFC 3463 enhanced status code of the local reply. */
  readonly enhanced: string;
  /** Whom the failure concerns (types.ts `OutcomeScope`). */
  readonly scope: OutcomeScope;
}

/** Every code with its local reply and scope (RFC 3463 §3 subjects). */
export const CLIENT_ERROR_CODES: Readonly<Record<ClientErrorCode, ClientErrorInfo>> = Object.freeze({
  /** TCP connect refused or unreachable (X.4.1 no answer from host). */
  CONNECT_REFUSED: { code: 451, enhanced: '4.4.1', scope: 'host' },
  /** TCP connect did not complete within `connect-timeout`. */
  CONNECT_TIMEOUT: { code: 451, enhanced: '4.4.1', scope: 'host' },
  /** No greeting within `smtp-greeting-timeout` (X.4.2 bad connection). */
  GREETING_TIMEOUT: { code: 451, enhanced: '4.4.2', scope: 'host' },
  /** No reply to a command within the command timeout. */
  COMMAND_TIMEOUT: { code: 451, enhanced: '4.4.2', scope: 'host' },
  /** The body could not be sent within `data-send-timeout`, or no reply to the end of data within `smtp-data-termination-timeout`. */
  DATA_TIMEOUT: { code: 451, enhanced: '4.4.2', scope: 'host' },
  /** The server closed or reset the connection. */
  CONNECTION_LOST: { code: 451, enhanced: '4.4.2', scope: 'host' },
  /** The server's replies cannot be parsed or came out of turn (X.5.0). */
  PROTOCOL_ERROR: { code: 451, enhanced: '4.5.0', scope: 'host' },
  /** TLS is required and the server does not offer STARTTLS or refused it (X.7.4 security features not supported). */
  TLS_REQUIRED_UNAVAILABLE: { code: 451, enhanced: '4.7.4', scope: 'host' },
  /** The TLS handshake failed (X.7.5 cryptographic failure). */
  TLS_HANDSHAKE_FAILED: { code: 451, enhanced: '4.7.5', scope: 'host' },
  /** The server's certificate did not verify (X.7.5). */
  TLS_VERIFY_FAILED: { code: 451, enhanced: '4.7.5', scope: 'host' },
  /** AUTH to a smarthost failed: a configuration problem, the whole queue waits (X.7.8). */
  AUTH_FAILED: { code: 451, enhanced: '4.7.8', scope: 'queue' },
  /** The message needs SMTPUTF8 and the server does not offer it (RFC 6531 §3.5, X.6.7). */
  SMTPUTF8_UNSUPPORTED: { code: 553, enhanced: '5.6.7', scope: 'message' },
  /** The message is larger than the server's SIZE (RFC 1870 §6, X.3.4). */
  MESSAGE_TOO_BIG: { code: 552, enhanced: '5.3.4', scope: 'message' },
  /** A 421 from the server (RFC 5321 §3.8): it is closing the channel. */
  SERVICE_UNAVAILABLE: { code: 421, enhanced: '4.4.2', scope: 'host' },
  /** The server refused the greeting, EHLO and HELO, or RSET. */
  REMOTE_REJECTED: { code: 451, enhanced: '4.4.0', scope: 'host' },
});

/** Reply texts kept for accounting are cut to this many characters. */
export const MAX_TEXT = 1000;

export function clipText(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}

/** The local reply describing a failure of `code`. */
export function localReply(code: ClientErrorCode, phase: RemoteReply['phase'], text: string, mta?: string): RemoteReply {
  const info = CLIENT_ERROR_CODES[code];
  return {
    code: info.code,
    enhanced: info.enhanced,
    text: clipText(text),
    phase,
    local: true,
    ...(mta !== undefined ? { mta } : {}),
  };
}

/**
 * A failure of the client. `reply` is what accounting records: the
 * server's reply when the server caused it (421, 5xx greeting, AUTH 535),
 * else a local description. `kind` is what happens to the recipients not yet
 * final: always `deferred`, except a 5xx greeting, which is `bounced`
 * (PowerMTA `bounce-upon-5xx-greeting`, default true; the caller may
 * downgrade it) and the message-scope checks (SIZE, SMTPUTF8).
 */
export class SmtpClientError extends Error {
  readonly code: ClientErrorCode;
  readonly reply: RemoteReply;
  readonly scope: OutcomeScope;
  readonly kind: 'deferred' | 'bounced';

  constructor(code: ClientErrorCode, reply: RemoteReply, opts: { kind?: 'deferred' | 'bounced'; cause?: unknown } = {}) {
    super(`${code}: ${reply.code} ${reply.enhanced ?? ''} ${reply.text}`.replace(/ {2,}/g, ' '), opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'SmtpClientError';
    this.code = code;
    this.reply = reply;
    this.scope = CLIENT_ERROR_CODES[code].scope;
    this.kind = opts.kind ?? (code === 'SMTPUTF8_UNSUPPORTED' || code === 'MESSAGE_TOO_BIG' ? 'bounced' : 'deferred');
  }
}

export function isSmtpClientError(e: unknown, code?: ClientErrorCode): e is SmtpClientError {
  return e instanceof SmtpClientError && (code === undefined || e.code === code);
}

/** The same outcome for every recipient id, from a failure. */
export function failureOutcomes(error: SmtpClientError, recipientIds: readonly string[], facts?: DeliveryFacts): RecipientOutcome[] {
  return recipientIds.map((recipientId) => ({
    recipientId,
    kind: error.kind,
    scope: error.scope,
    reply: error.reply,
    ...(facts !== undefined ? { delivery: facts } : {}),
  }));
}
