/**
 * @module server/credentials
 *
 * Who is this client? The `<smtp-user NAME>` accounts of the configuration,
 * checked by password, by TLS client certificate, or against the system's
 * shadow file.
 *
 * Exports:
 * - `UserDirectory(config, opts?)`:
 *   - `verifyPassword(username, password)` → `Promise<AuthResult>` (AUTH
 *     PLAIN / LOGIN);
 *   - `cramMd5Secret(username)` → the clear password, for CRAM-MD5;
 *   - `verifyCertificate(username | undefined, socket)` → `AuthResult` (AUTH
 *     EXTERNAL, or a certificate login without a name: the user is the one
 *     the certificate names);
 *   - `userSources(username)` → the named `<source>` blocks of the user;
 *   - `has(username)`.
 * - `AuthResult`, `AuthFailureReason`, `AuthMethod`.
 * - `CredentialStoreError` — the shadow file could not be read (environment
 *   trouble: the session should answer 454 4.7.0, not 535).
 * - `validatePasswordHash` (re-exported from `password-hash.ts`) for the
 *   config loader.
 *
 * Accounts (`<smtp-user NAME>`; the name is matched exactly):
 * - `authentication-method password` (default): `password-hash` when set,
 *   else `password`. When `password-hash` is set, `password` is ignored.
 * - `authentication-method certificate`: only a TLS client certificate that
 *   chains to `smtp-server-tls-client-ca` (`socket.authorized`) and names the
 *   user: its SHA-256 fingerprint equals `certificate-fingerprint` when that
 *   is set; otherwise its subject CN equals the user name, or a
 *   subjectAltName email or DNS name does (case-insensitive).
 * - `authentication-method system`: the local Unix account of the same name,
 *   checked against the shadow file (`/etc/shadow`, or `opts.shadowFile`),
 *   read on every attempt so password changes apply at once. Locked
 *   (`!`/`*`) and passwordless accounts are refused, as are accounts past
 *   their expiry date. Petrel must be able to read the file (root, or the
 *   `shadow` group). Hashes as in `password-hash.ts`; yescrypt (`$y$`, the
 *   default of Debian 12 and Fedora) is NOT supported: such accounts fail
 *   with `unsupported-hash` until their password is re-hashed with
 *   SHA-512-crypt (`chpasswd -c SHA512`).
 *
 * CRAM-MD5 needs the clear password on the server side, so `cramMd5Secret`
 * returns it only for `password`-method users configured with `password`
 * and without `password-hash`: hash-only, system and certificate users
 * cannot use CRAM-MD5 (the session should not count that as a wrong
 * password, and may leave CRAM-MD5 out of EHLO when no user can use it).
 *
 * Failure reasons: `unknown-user`; `bad-password` (also: locked, expired or
 * passwordless accounts, and accounts with no password configured);
 * `method-not-allowed` (a password for a certificate user, a certificate for
 * a password user); `no-certificate` (the client sent none);
 * `certificate-mismatch` (a certificate that does not chain to the CA or
 * does not name the user); `unsupported-hash`. The session must not tell
 * the client which one it was (RFC 4954 §6: one 535 for all).
 *
 * Contracts: secrets are compared in constant time; nothing here logs or
 * puts a password or hash into an error message.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import type * as tls from 'node:tls';
import { lastSetting, type ConfigBlock, type PetrelConfig } from '../config/model.js';
import { constantTimeEqual } from '../smtp/sasl.js';
import { verifyPasswordHashOffLoop } from '../auth/hash-pool.js';
import { peerCertificateInfo, type PeerCertificateInfo } from './tls.js';

export { validatePasswordHash } from '../auth/password-hash.js';

export type AuthMethod = 'password' | 'certificate' | 'system';

export type AuthFailureReason = 'unknown-user' | 'bad-password' | 'method-not-allowed' | 'no-certificate' | 'certificate-mismatch' | 'unsupported-hash';

export type AuthResult =
  | { readonly ok: true; readonly user: string; readonly sources: readonly string[] }
  | { readonly ok: false; readonly reason: AuthFailureReason };

/** The store of system passwords could not be consulted. Carries no secret. */
export class CredentialStoreError extends Error {
  override readonly name = 'CredentialStoreError';
  readonly code = 'shadow-unreadable';
  constructor(readonly file: string, readonly errno: string) {
    super(`cannot read ${file}: ${errno}`);
  }
}

export interface UserDirectoryOptions {
  /** The shadow file for `authentication-method system` (default `/etc/shadow`). */
  readonly shadowFile?: string;
  /** Reads a file as UTF-8 text (tests). */
  readonly readFile?: (path: string) => Promise<string>;
  /** Milliseconds since the epoch, for shadow expiry dates (default `Date.now`). */
  readonly now?: () => number;
}

interface Account {
  readonly name: string;
  readonly method: AuthMethod;
  readonly password?: string;
  readonly passwordHash?: string;
  /** Normalised: upper-case hex without colons. */
  readonly fingerprint?: string;
  readonly sources: readonly string[];
}

const DAY_MS = 86_400_000;

export class UserDirectory {
  readonly #accounts = new Map<string, Account>();
  readonly #shadowFile: string;
  readonly #readFile: (path: string) => Promise<string>;
  readonly #now: () => number;

  constructor(config: PetrelConfig, opts: UserDirectoryOptions = {}) {
    for (const [name, block] of config.smtpUsers) this.#accounts.set(name, account(name, block));
    this.#shadowFile = opts.shadowFile ?? '/etc/shadow';
    this.#readFile = opts.readFile ?? ((p) => fsReadFile(p, 'utf8'));
    this.#now = opts.now ?? Date.now;
  }

  has(username: string): boolean {
    return this.#accounts.has(username);
  }

  /** The named sources whose policy applies once `username` has authenticated ([] for none or unknown). */
  userSources(username: string): string[] {
    return [...(this.#accounts.get(username)?.sources ?? [])];
  }

  /** The clear password for CRAM-MD5, or undefined when the user cannot use CRAM-MD5 (see module comment). */
  cramMd5Secret(username: string): string | undefined {
    const a = this.#accounts.get(username);
    if (!a || a.method !== 'password' || a.passwordHash !== undefined) return undefined;
    return a.password;
  }

  async verifyPassword(username: string, password: string): Promise<AuthResult> {
    const a = this.#accounts.get(username);
    if (!a) return fail('unknown-user');
    switch (a.method) {
      case 'certificate':
        return fail('method-not-allowed');
      case 'system':
        return this.#verifySystem(a, password);
      case 'password':
        if (password === '') return fail('bad-password');
        if (a.passwordHash !== undefined) return this.#fromHashCheck(a, await verifyPasswordHashOffLoop(password, a.passwordHash));
        if (a.password === undefined || a.password === '') return fail('bad-password');
        return constantTimeEqual(password, a.password) ? this.#ok(a) : fail('bad-password');
    }
  }

  verifyCertificate(username: string | undefined, socket: tls.TLSSocket): AuthResult {
    const a = username === undefined || username === '' ? undefined : this.#accounts.get(username);
    if (username !== undefined && username !== '') {
      if (!a) return fail('unknown-user');
      if (a.method !== 'certificate') return fail('method-not-allowed');
    }
    const cert = peerCertificateInfo(socket);
    if (!cert) return fail('no-certificate');
    if (!cert.authorized) return fail('certificate-mismatch');
    if (a) return certificateNames(cert, a) ? this.#ok(a) : fail('certificate-mismatch');
    // No name given: the one certificate user this certificate names.
    for (const candidate of this.#accounts.values()) {
      if (candidate.method === 'certificate' && certificateNames(cert, candidate)) return this.#ok(candidate);
    }
    return fail('unknown-user');
  }

  #ok(a: Account): AuthResult {
    return { ok: true, user: a.name, sources: a.sources };
  }

  #fromHashCheck(a: Account, check: 'match' | 'mismatch' | 'unsupported'): AuthResult {
    return check === 'match' ? this.#ok(a) : fail(check === 'unsupported' ? 'unsupported-hash' : 'bad-password');
  }

  async #verifySystem(a: Account, password: string): Promise<AuthResult> {
    let text: string;
    try {
      text = await this.#readFile(this.#shadowFile);
    } catch (e) {
      throw new CredentialStoreError(this.#shadowFile, (e as NodeJS.ErrnoException).code ?? 'error');
    }
    const entry = findShadowEntry(text, a.name);
    if (!entry) return fail('unknown-user');
    const hash = entry.hash;
    if (hash === '' || hash.startsWith('!') || hash.startsWith('*')) return fail('bad-password');
    if (entry.expireDay !== undefined && this.#now() >= entry.expireDay * DAY_MS) return fail('bad-password');
    if (password === '') return fail('bad-password');
    return this.#fromHashCheck(a, await verifyPasswordHashOffLoop(password, hash));
  }
}

function fail(reason: AuthFailureReason): AuthResult {
  return { ok: false, reason };
}

function str(block: ConfigBlock, name: string): string | undefined {
  const s = lastSetting<string>(block, name);
  return s && !s.cleared ? s.value : undefined;
}

function account(name: string, block: ConfigBlock): Account {
  const method = (str(block, 'authentication-method') ?? 'password') as AuthMethod;
  const password = str(block, 'password');
  const passwordHash = str(block, 'password-hash');
  const fp = str(block, 'certificate-fingerprint');
  // `source` is not repeatable in the table: the last line wins, so a user has at most one.
  const source = str(block, 'source');
  return {
    name,
    method,
    ...(password !== undefined ? { password } : {}),
    ...(passwordHash !== undefined && passwordHash !== '' ? { passwordHash } : {}),
    ...(fp !== undefined ? { fingerprint: normaliseFingerprint(fp) } : {}),
    sources: Object.freeze(source !== undefined && source !== '' ? [source] : []),
  };
}

function normaliseFingerprint(fp: string): string {
  return fp.replace(/^sha256:/i, '').replace(/:/g, '').toUpperCase();
}

/** Does the (already authorized) certificate name the account? */
function certificateNames(cert: PeerCertificateInfo, a: Account): boolean {
  if (a.fingerprint !== undefined) return constantTimeEqual(normaliseFingerprint(cert.fingerprint256), a.fingerprint);
  const lower = a.name.toLowerCase();
  return cert.subjectCN === a.name || cert.emails.some((e) => e.toLowerCase() === lower) || cert.dnsNames.some((d) => d.toLowerCase() === lower);
}

interface ShadowEntry {
  readonly hash: string;
  /** Field 8: the account expires on this day (days since 1970-01-01). */
  readonly expireDay?: number;
}

/** The shadow(5) line for `user`, or undefined. */
function findShadowEntry(text: string, user: string): ShadowEntry | undefined {
  for (const line of text.split('\n')) {
    const fields = line.replace(/\r$/, '').split(':');
    if (fields.length < 2 || fields[0] !== user) continue;
    const expire = fields[7];
    const expireDay = expire !== undefined && /^[0-9]+$/.test(expire) ? Number(expire) : undefined;
    return { hash: fields[1]!, ...(expireDay !== undefined ? { expireDay } : {}) };
  }
  return undefined;
}
