/**
 * @module spool/errors
 *
 * Typed errors of the spool, each with a stable `code` and the SMTP reply the
 * server should give when the error happens while accepting a message.
 *
 * Exports:
 * - `SpoolErrorCode`  — closed union of codes (documented in docs/spool.md;
 *                       a test keeps that list and this one equal).
 * - `SPOOL_ERROR_CODES` — the same list at run time, with each code's reply.
 * - `SpoolError`      — `Error` with `code`, `smtp` ({ code, enhanced, text })
 *                       and an optional `cause`.
 * - `isSpoolError(e, code?)`.
 * - `toSpoolIoError(e, what)` — maps an fs error (ENOSPC/EDQUOT → SPOOL_FULL,
 *                       anything else → SPOOL_IO).
 *
 * Contract: environment trouble (disk full, I/O) is always a 4xx reply, never
 * a 5xx (STYLE habit 14); only the sender's own fault (too large, too many
 * recipients) is permanent.
 */

/** SMTP reply the server gives for an error during acceptance. */
export interface SmtpReplyHint {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
}

export const SPOOL_ERROR_CODES = {
  /** Free space below `minFreeBytes`, or the disk/quota is full (ENOSPC, EDQUOT). */
  SPOOL_FULL: { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage' },
  /** Any other I/O failure while writing or reading the spool. */
  SPOOL_IO: { code: 451, enhanced: '4.3.0', text: 'Local error in processing, try again later' },
  /** The body exceeded `maxMessageSize` (RFC 5321 §4.5.3.1.10, RFC 3463 5.3.4). */
  MESSAGE_TOO_LARGE: { code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed maximum message size' },
  /** More recipients than `maxRecipients` (RFC 5321 §4.5.3.1.8: 452 for the excess RCPT). */
  TOO_MANY_RECIPIENTS: { code: 452, enhanced: '4.5.3', text: 'Too many recipients' },
  /** An envelope that cannot be stored (no recipients, malformed address, ...). */
  BAD_ENVELOPE: { code: 554, enhanced: '5.5.0', text: 'Transaction failed: bad envelope' },
  /** The writer was used after commit/abort, or committed twice. */
  WRITER_CLOSED: { code: 451, enhanced: '4.3.0', text: 'Local error in processing' },
  /** The spool has been closed. */
  SPOOL_CLOSED: { code: 421, enhanced: '4.3.2', text: 'System not accepting network messages' },
  /** No message or recipient with that id (or it is already finished). */
  NOT_FOUND: { code: 550, enhanced: '5.1.0', text: 'No such message' },
  /** The operation does not apply to the recipient's current state. */
  BAD_STATE: { code: 451, enhanced: '4.3.0', text: 'Local error in processing' },
  /** A stored record failed its checksum when read back. */
  CORRUPT_RECORD: { code: 451, enhanced: '4.3.0', text: 'Local error in processing' },
  /** Another process holds the spool directory's lock. */
  SPOOL_LOCKED: { code: 421, enhanced: '4.3.2', text: 'System not accepting network messages' },
} as const satisfies Record<string, SmtpReplyHint>;

export type SpoolErrorCode = keyof typeof SPOOL_ERROR_CODES;

const BRAND = Symbol.for('petrel.SpoolError');

export class SpoolError extends Error {
  readonly code: SpoolErrorCode;
  readonly smtp: SmtpReplyHint;
  readonly [BRAND] = true;

  constructor(code: SpoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpoolError';
    this.code = code;
    this.smtp = SPOOL_ERROR_CODES[code];
  }
}

export function isSpoolError(e: unknown, code?: SpoolErrorCode): e is SpoolError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as SpoolError).code === code)
  );
}

const FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Wraps an fs error: disk/quota full → SPOOL_FULL, anything else → SPOOL_IO. */
export function toSpoolIoError(e: unknown, what: string): SpoolError {
  if (isSpoolError(e)) return e;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno !== undefined && FULL_ERRNOS.has(errno)) {
    return new SpoolError('SPOOL_FULL', `${what}: ${errno}`, { cause: e });
  }
  return new SpoolError('SPOOL_IO', `${what}: ${errno ?? String(e)}`, { cause: e });
}
