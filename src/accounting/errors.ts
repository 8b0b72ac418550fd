/**
 * @module accounting/errors
 *
 * Typed errors of the accounting module (STYLE habit 15).
 *
 * Exports: `AcctErrorCode`, `ACCT_ERROR_CODES`, `AccountingError`, `isAccountingError(e, code?)`.
 *
 * Codes:
 * - `ACCT_CONFIG` — an `<acct-file>` block Petrel cannot act on (unknown record
 *   type or field, webhook URL that does not parse); the message names file:line:col.
 * - `ACCT_IO`     — writing or syncing a record failed (disk full, permissions):
 *   `record()` rejects and the caller must not treat the outcome as recorded.
 * - `ACCT_CLOSED` — `record()` after `close()`.
 */

export const ACCT_ERROR_CODES = {
  ACCT_CONFIG: 'an <acct-file> block cannot be used',
  ACCT_IO: 'an accounting record could not be written durably',
  ACCT_CLOSED: 'accounting has been closed',
} as const;

export type AcctErrorCode = keyof typeof ACCT_ERROR_CODES;

const BRAND = Symbol.for('petrel.AccountingError');

export class AccountingError extends Error {
  readonly code: AcctErrorCode;
  readonly [BRAND] = true;

  constructor(code: AcctErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AccountingError';
    this.code = code;
  }
}

export function isAccountingError(e: unknown, code?: AcctErrorCode): e is AccountingError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && (code === undefined || (e as AccountingError).code === code);
}
