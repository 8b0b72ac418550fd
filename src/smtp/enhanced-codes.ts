/**
 * @module smtp/enhanced-codes
 *
 * Context-keyed replies (STYLE habit 22, after smtp-server's
 * `CONTEXTUAL_STATUS_CODES`): handlers name the situation, this table
 * supplies the reply code, the RFC 3463 enhanced status code and a default
 * text, so nobody spells `5.7.1` by hand.
 *
 * Exports:
 *  - `ReplyContext`: the closed list of situations.
 *  - `REPLY_CONTEXTS`: context → `{ code, enhanced, text, ref }`; `ref` cites
 *    the document that defines the pairing.
 *  - `reply(context, text?)`: builds a `Reply`; `text` may be one line or
 *    several and replaces the default text.
 *
 * Contracts:
 *  - Every enhanced code's class equals the first digit of its reply code
 *    (RFC 3463 §2, RFC 2034 §4); the test suite checks this for every row.
 *  - The greeting and the HELO/EHLO replies carry no enhanced code
 *    (RFC 2034 §3), nor do 3xx replies (RFC 3463 §2 defines classes 2, 4, 5 only).
 *  - Enhanced codes are taken from the IANA "SMTP Enhanced Status Codes"
 *    registry (RFC 5248); where several fit, the one Postfix sends is used.
 *
 * Decisions, with reasons:
 *  - BARE_LF / BARE_CR: `550 5.5.2`, as Postfix's `smtpd_forbid_bare_newline`
 *    (reply code `smtpd_forbid_bare_newline_reject_code`, default 550, text
 *    "Error: bare <LF> received"; postfix.org/smtp-smuggling.html). The
 *    session should close the connection after sending it.
 *  - LINE_TOO_LONG (command line): `500 5.5.2`, RFC 5321 §4.5.3.1.4 prescribes
 *    "500 Line too long"; 5.5.2 is "syntax error". `5.5.6` is reserved for an
 *    over-long AUTH exchange line (RFC 4954 §6) and is AUTH_LINE_TOO_LONG.
 *  - TEXT_LINE_TOO_LONG (DATA line over 998 octets, RFC 5321 §4.5.3.1.6):
 *    `554 5.6.0`; 554 is the "transaction failed" reply RFC 5321 §4.3.2 lists
 *    for the end of DATA, X.6.0 is "other or undefined media error".
 */

import type { Reply } from './reply.js';

export type ReplyContext =
  | 'GREETING'
  | 'NO_SERVICE'
  | 'EHLO_OK'
  | 'HELO_OK'
  | 'MAIL_OK'
  | 'RCPT_OK'
  | 'DATA_START'
  | 'MESSAGE_ACCEPTED'
  | 'BDAT_OK'
  | 'NO_VALID_RECIPIENTS'
  | 'BAD_SEQUENCE'
  | 'SYNTAX'
  | 'SYNTAX_COMMAND'
  | 'SYNTAX_SENDER'
  | 'SYNTAX_RECIPIENT'
  | 'UNKNOWN_COMMAND'
  | 'NOT_IMPLEMENTED'
  | 'PARAM_NOT_IMPLEMENTED'
  | 'UNSUPPORTED_PARAM'
  | 'RELAY_DENIED'
  | 'POLICY_REJECT'
  | 'POLICY_DEFER'
  | 'MAILBOX_UNKNOWN'
  | 'AUTH_REQUIRED'
  | 'AUTH_CHALLENGE'
  | 'AUTH_OK'
  | 'AUTH_FAILED'
  | 'AUTH_CANCELLED'
  | 'AUTH_MECHANISM_UNSUPPORTED'
  | 'AUTH_LINE_TOO_LONG'
  | 'AUTH_TEMP_FAILURE'
  | 'ENCRYPTION_REQUIRED'
  | 'TLS_REQUIRED'
  | 'STARTTLS_READY'
  | 'TLS_UNAVAILABLE'
  | 'TOO_MANY_RCPTS'
  | 'MESSAGE_TOO_BIG'
  | 'STORAGE_FULL'
  | 'LOCAL_ERROR'
  | 'SHUTTING_DOWN'
  | 'TOO_MANY_CONNECTIONS'
  | 'TOO_MANY_ERRORS'
  | 'TIMEOUT'
  | 'PROTOCOL_SYNC'
  | 'BARE_LF'
  | 'BARE_CR'
  | 'LINE_TOO_LONG'
  | 'TEXT_LINE_TOO_LONG'
  | 'UTF8_REQUIRED'
  | 'VRFY'
  | 'NOOP_OK'
  | 'RSET_OK'
  | 'QUIT'
  | 'HELP';

export interface ContextEntry {
  readonly code: number;
  /** Absent where RFC 2034 §3 / RFC 3463 §2 give none (greeting, EHLO, 3xx). */
  readonly enhanced?: string;
  readonly text: string;
  /** Where the pairing comes from. */
  readonly ref: string;
}

export const REPLY_CONTEXTS: Readonly<Record<ReplyContext, ContextEntry>> = Object.freeze({
  GREETING: { code: 220, text: 'ESMTP ready', ref: 'RFC 5321 §4.2; no enhanced code, RFC 2034 §3' },
  NO_SERVICE: { code: 554, enhanced: '5.3.2', text: 'No SMTP service here', ref: 'RFC 5321 §3.1; RFC 3463 X.3.2' },
  EHLO_OK: { code: 250, text: 'Hello', ref: 'RFC 5321 §4.1.1.1; no enhanced code, RFC 2034 §3' },
  HELO_OK: { code: 250, text: 'Hello', ref: 'RFC 5321 §4.1.1.1; no enhanced code, RFC 2034 §3' },
  MAIL_OK: { code: 250, enhanced: '2.1.0', text: 'Sender OK', ref: 'RFC 5321 §4.1.1.2; RFC 3463 X.1.0' },
  RCPT_OK: { code: 250, enhanced: '2.1.5', text: 'Recipient OK', ref: 'RFC 5321 §4.1.1.3; RFC 3463 X.1.5' },
  DATA_START: {
    code: 354,
    text: 'End data with <CR><LF>.<CR><LF>',
    ref: 'RFC 5321 §4.1.1.4; 3xx has no enhanced code, RFC 3463 §2',
  },
  MESSAGE_ACCEPTED: { code: 250, enhanced: '2.0.0', text: 'Message accepted', ref: 'RFC 5321 §4.1.1.4; RFC 3463 X.0.0' },
  BDAT_OK: { code: 250, enhanced: '2.0.0', text: 'Chunk accepted', ref: 'RFC 3030 §2; RFC 3463 X.0.0' },
  NO_VALID_RECIPIENTS: { code: 554, enhanced: '5.5.1', text: 'No valid recipients', ref: 'RFC 5321 §3.3; RFC 2920 §3.1' },
  BAD_SEQUENCE: { code: 503, enhanced: '5.5.1', text: 'Bad sequence of commands', ref: 'RFC 5321 §4.2.4; RFC 3463 X.5.1' },
  SYNTAX: { code: 501, enhanced: '5.5.4', text: 'Syntax error in parameters', ref: 'RFC 5321 §4.2.2; RFC 3463 X.5.4' },
  SYNTAX_COMMAND: { code: 500, enhanced: '5.5.2', text: 'Syntax error', ref: 'RFC 5321 §4.2.2; RFC 3463 X.5.2' },
  SYNTAX_SENDER: { code: 501, enhanced: '5.1.7', text: 'Bad sender address syntax', ref: 'RFC 5321 §4.2.2; RFC 3463 X.1.7' },
  SYNTAX_RECIPIENT: {
    code: 501,
    enhanced: '5.1.3',
    text: 'Bad recipient address syntax',
    ref: 'RFC 5321 §4.2.2; RFC 3463 X.1.3',
  },
  UNKNOWN_COMMAND: { code: 500, enhanced: '5.5.1', text: 'Command unrecognized', ref: 'RFC 5321 §4.2.4; RFC 3463 X.5.1' },
  NOT_IMPLEMENTED: { code: 502, enhanced: '5.5.1', text: 'Command not implemented', ref: 'RFC 5321 §4.2.4; RFC 3463 X.5.1' },
  PARAM_NOT_IMPLEMENTED: {
    code: 504,
    enhanced: '5.5.4',
    text: 'Command parameter not implemented',
    ref: 'RFC 5321 §4.2.4; RFC 3463 X.5.4',
  },
  UNSUPPORTED_PARAM: {
    code: 555,
    enhanced: '5.5.4',
    text: 'Unsupported parameter',
    ref: 'RFC 5321 §4.1.1.11; RFC 3463 X.5.4',
  },
  RELAY_DENIED: { code: 550, enhanced: '5.7.1', text: 'Relaying denied', ref: 'RFC 5321 §3.6.2; RFC 3463 X.7.1' },
  POLICY_REJECT: { code: 550, enhanced: '5.7.1', text: 'Rejected by policy', ref: 'RFC 3463 X.7.1' },
  POLICY_DEFER: { code: 450, enhanced: '4.7.1', text: 'Try again later', ref: 'RFC 3463 X.7.1' },
  MAILBOX_UNKNOWN: { code: 550, enhanced: '5.1.1', text: 'Mailbox unknown', ref: 'RFC 5321 §4.2.3; RFC 3463 X.1.1' },
  AUTH_REQUIRED: { code: 530, enhanced: '5.7.0', text: 'Authentication required', ref: 'RFC 4954 §6' },
  AUTH_CHALLENGE: { code: 334, text: '', ref: 'RFC 4954 §4; 3xx has no enhanced code' },
  AUTH_OK: { code: 235, enhanced: '2.7.0', text: 'Authentication successful', ref: 'RFC 4954 §6' },
  AUTH_FAILED: { code: 535, enhanced: '5.7.8', text: 'Authentication credentials invalid', ref: 'RFC 4954 §6' },
  AUTH_CANCELLED: { code: 501, enhanced: '5.7.0', text: 'Authentication cancelled', ref: 'RFC 4954 §4; Postfix smtpd_sasl_glue' },
  AUTH_MECHANISM_UNSUPPORTED: {
    code: 504,
    enhanced: '5.5.4',
    text: 'Unrecognized authentication type',
    ref: 'RFC 4954 §4; RFC 5248 registry',
  },
  AUTH_LINE_TOO_LONG: { code: 500, enhanced: '5.5.6', text: 'Authentication exchange line is too long', ref: 'RFC 4954 §6' },
  AUTH_TEMP_FAILURE: { code: 454, enhanced: '4.7.0', text: 'Temporary authentication failure', ref: 'RFC 4954 §6' },
  ENCRYPTION_REQUIRED: {
    code: 538,
    enhanced: '5.7.11',
    text: 'Encryption required for requested authentication mechanism',
    ref: 'RFC 4954 §6; RFC 5248 registry X.7.11',
  },
  TLS_REQUIRED: { code: 530, enhanced: '5.7.0', text: 'Must issue a STARTTLS command first', ref: 'RFC 3207 §4' },
  STARTTLS_READY: { code: 220, enhanced: '2.0.0', text: 'Ready to start TLS', ref: 'RFC 3207 §4; RFC 3463 X.0.0' },
  TLS_UNAVAILABLE: {
    code: 454,
    enhanced: '4.7.0',
    text: 'TLS not available due to temporary reason',
    ref: 'RFC 3207 §4',
  },
  TOO_MANY_RCPTS: { code: 452, enhanced: '4.5.3', text: 'Too many recipients', ref: 'RFC 5321 §4.5.3.1.10; RFC 3463 X.5.3' },
  MESSAGE_TOO_BIG: {
    code: 552,
    enhanced: '5.3.4',
    text: 'Message size exceeds fixed maximum message size',
    ref: 'RFC 1870 §6; RFC 3463 X.3.4',
  },
  STORAGE_FULL: { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage', ref: 'RFC 5321 §4.2.3; RFC 3463 X.3.1' },
  LOCAL_ERROR: { code: 451, enhanced: '4.3.0', text: 'Local error in processing', ref: 'RFC 5321 §4.2.3; RFC 3463 X.3.0' },
  SHUTTING_DOWN: {
    code: 421,
    enhanced: '4.3.2',
    text: 'Service shutting down, closing transmission channel',
    ref: 'RFC 5321 §3.8; RFC 3463 X.3.2',
  },
  TOO_MANY_CONNECTIONS: { code: 421, enhanced: '4.7.0', text: 'Too many connections', ref: 'RFC 5321 §3.8; RFC 3463 X.7.0' },
  TOO_MANY_ERRORS: { code: 421, enhanced: '4.7.0', text: 'Too many errors', ref: 'RFC 5321 §3.8; RFC 3463 X.7.0' },
  TIMEOUT: { code: 421, enhanced: '4.4.2', text: 'Timeout, closing transmission channel', ref: 'RFC 5321 §4.5.3.2; RFC 3463 X.4.2' },
  PROTOCOL_SYNC: {
    code: 554,
    enhanced: '5.5.0',
    text: 'SMTP protocol synchronization error',
    ref: 'RFC 2920 §3.1; RFC 3463 X.5.0',
  },
  BARE_LF: { code: 550, enhanced: '5.5.2', text: 'Error: bare <LF> received', ref: 'Postfix smtpd_forbid_bare_newline; RFC 5321 §2.3.8' },
  BARE_CR: { code: 550, enhanced: '5.5.2', text: 'Error: bare <CR> received', ref: 'Postfix smtpd_forbid_bare_newline; RFC 5321 §2.3.8' },
  LINE_TOO_LONG: { code: 500, enhanced: '5.5.2', text: 'Line too long', ref: 'RFC 5321 §4.5.3.1.4; RFC 3463 X.5.2' },
  TEXT_LINE_TOO_LONG: {
    code: 554,
    enhanced: '5.6.0',
    text: 'Message has a line longer than 998 octets',
    ref: 'RFC 5321 §4.5.3.1.6 and §4.3.2; RFC 3463 X.6.0',
  },
  UTF8_REQUIRED: {
    code: 553,
    enhanced: '5.6.7',
    text: 'Non-ASCII address requires SMTPUTF8',
    ref: 'RFC 6531 §3.7.4.1; RFC 5248 registry X.6.7',
  },
  VRFY: {
    code: 252,
    enhanced: '2.1.5',
    text: 'Cannot VRFY user, but will accept message and attempt delivery',
    ref: 'RFC 5321 §3.5.3; RFC 3463 X.1.5',
  },
  NOOP_OK: { code: 250, enhanced: '2.0.0', text: 'OK', ref: 'RFC 5321 §4.1.1.9; RFC 3463 X.0.0' },
  RSET_OK: { code: 250, enhanced: '2.0.0', text: 'OK', ref: 'RFC 5321 §4.1.1.5; RFC 3463 X.0.0' },
  QUIT: { code: 221, enhanced: '2.0.0', text: 'Bye', ref: 'RFC 5321 §4.1.1.10; RFC 3463 X.0.0' },
  HELP: { code: 214, enhanced: '2.0.0', text: 'See https://www.rfc-editor.org/rfc/rfc5321', ref: 'RFC 5321 §4.1.1.8' },
} satisfies Record<ReplyContext, ContextEntry>);

/**
 * Build the reply for `context`. `text` (one line or several) replaces the
 * default text; the code and enhanced code always come from the table.
 */
export function reply(context: ReplyContext, text?: string | readonly string[]): Reply {
  const entry = REPLY_CONTEXTS[context];
  const lines = text === undefined ? [entry.text] : typeof text === 'string' ? [text] : [...text];
  return entry.enhanced === undefined
    ? { code: entry.code, lines }
    : { code: entry.code, enhanced: entry.enhanced, lines };
}
