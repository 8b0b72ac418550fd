/**
 * @module delivery/dkim-errors
 *
 * The typed error of DKIM set-up. Signing itself never throws for a
 * message-level reason (no key, `dkim-sign no`): it leaves the message
 * unsigned and says why. What throws is configuration that cannot work,
 * found once when the signer is built from the configuration:
 *
 * - `KEY_UNREADABLE`   — a `domain-key` file cannot be read (it was readable
 *                        when the configuration was loaded, so it changed);
 * - `KEY_INVALID`      — the file is not a private key Node can parse;
 * - `KEY_UNSUPPORTED`  — a key that is neither RSA nor Ed25519, or an RSA key
 *                        under 1024 bits (RFC 8301 §3.2);
 * - `ALGORITHM_REFUSED` — `dkim-algorithm rsa-sha1` (RFC 8301 §3.1: signers
 *                        MUST NOT sign with rsa-sha1).
 *
 * Exports: `DkimErrorCode`, `DkimConfigError`, `isDkimConfigError`.
 */
import * as path from 'node:path';
import type { SourcePos } from '../config/types.js';

export type DkimErrorCode = 'KEY_UNREADABLE' | 'KEY_INVALID' | 'KEY_UNSUPPORTED' | 'ALGORITHM_REFUSED';

export class DkimConfigError extends Error {
  override readonly name = 'DkimConfigError';
  readonly code: DkimErrorCode;
  /** The directive at fault (`domain-key`, `dkim-algorithm`). */
  readonly directive: string;
  /** The key file concerned, absolute, when there is one. */
  readonly file: string | undefined;
  /** Where the directive is written. */
  readonly pos: SourcePos | undefined;

  constructor(code: DkimErrorCode, directive: string, detail: string, opts: { file?: string; pos?: SourcePos; cause?: unknown } = {}) {
    const at = opts.pos ? `${path.basename(opts.pos.file)}:${opts.pos.line}:${opts.pos.column}: ` : '';
    super(`${at}${directive}: ${detail}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.directive = directive;
    this.file = opts.file;
    this.pos = opts.pos;
  }
}

export function isDkimConfigError(e: unknown, code?: DkimErrorCode): e is DkimConfigError {
  return e instanceof DkimConfigError && (code === undefined || e.code === code);
}
