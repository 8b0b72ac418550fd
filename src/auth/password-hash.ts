/**
 * @module auth/password-hash
 *
 * Verifying a password against a stored hash (`password-hash` in
 * `<smtp-user>`, and `/etc/shadow` entries for `authentication-method
 * system`).
 *
 * Exports:
 * - `hashKind(text)` — which supported scheme a hash uses, or undefined.
 * - `validatePasswordHash(text)` — an error message for a hash Petrel cannot
 *   check (for the config loader, so a bad hash is refused at load time), or
 *   undefined when it is usable.
 * - `verifyPasswordHash(password, hash)` — `'match' | 'mismatch' | 'unsupported'`.
 * - `scryptHash(password, opts?)` — makes a `$scrypt$` hash (for tests and a
 *   future `petrel hash-password` command).
 * - `PasswordHashKind`, `HashCheck`.
 *
 * Supported formats:
 * - bcrypt `$2a$`, `$2b$`, `$2y$` (hash-wasm). Passwords longer than 72 bytes
 *   are cut to 72 bytes, as every bcrypt implementation does. `$2x$` (the
 *   broken crypt_blowfish variant) is not supported.
 * - argon2 `$argon2id$`, `$argon2i$`, `$argon2d$`, version 19 (hash-wasm).
 * - scrypt, in Petrel's (and passlib's) format
 *   `$scrypt$ln=14,r=8,p=1$<salt>$<hash>`: N = 2^ln; salt and hash in
 *   base64 (standard alphabet, or passlib's `.` for `+`; padding optional);
 *   the derived key is as long as the decoded hash (at least 16 bytes).
 *   The salt bytes are the decoded salt. Checked with node:crypto `scrypt`.
 * - SHA-crypt `$5$` / `$6$` with optional `rounds=` (see `sha-crypt.ts`).
 * Anything else, including yescrypt `$y$` (Debian 12's and Fedora's default
 * for /etc/shadow), MD5-crypt `$1$` and DES crypt, is unsupported.
 *
 * Contracts:
 * - The final comparison is constant-time (we recompute the hash and compare
 *   with `timingSafeEqual`; we do not use the libraries' own `…Verify`,
 *   which compare strings with `===`).
 * - Cost parameters are bounded (scrypt ln ≤ 20, argon2 m ≤ 1 GiB, t ≤ 64,
 *   SHA-crypt rounds ≤ 1 000 000) so that a hash cannot stall the server;
 *   hashes beyond those are `unsupported`.
 * - Never throws; never logs the password or the hash.
 * - bcrypt, argon2 (WebAssembly) and SHA-crypt compute synchronously (bcrypt
 *   cost 10 ≈ 60 ms, argon2id m=64 MiB, t=3 ≈ 300 ms); the SMTP server calls
 *   them through `hash-pool.ts`, which runs them on worker threads so one
 *   AUTH does not stall every session. scrypt runs on libuv's thread pool.
 */
import { scrypt as scryptCb, randomBytes, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { argon2d, argon2i, argon2id, bcrypt } from 'hash-wasm';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';

export type PasswordHashKind = 'bcrypt' | 'argon2' | 'scrypt' | 'sha-crypt';
export type HashCheck = 'match' | 'mismatch' | 'unsupported';

const SCRYPT_MAX_LN = 20;
const ARGON2_MAX_MEMORY_KIB = 1024 * 1024;
const ARGON2_MAX_ITERATIONS = 64;
const ARGON2_MAX_PARALLELISM = 64;

/** The scheme of a hash, judged by its prefix only. */
export function hashKind(text: string): PasswordHashKind | undefined {
  if (/^\$2[aby]\$/.test(text)) return 'bcrypt';
  if (/^\$argon2(id|i|d)\$/.test(text)) return 'argon2';
  if (text.startsWith('$scrypt$')) return 'scrypt';
  if (/^\$[56]\$/.test(text)) return 'sha-crypt';
  return undefined;
}

/** Why `text` cannot be used as a password hash, or undefined when it can. */
export function validatePasswordHash(text: string): string | undefined {
  const kind = hashKind(text);
  switch (kind) {
    case 'bcrypt':
      return parseBcrypt(text) ? undefined : 'not a well-formed bcrypt hash ($2b$NN$ followed by 53 characters of ./A-Za-z0-9, cost 04-31)';
    case 'argon2':
      return parseArgon2(text) ? undefined : `not a usable argon2 hash (expected $argon2id$v=19$m=…,t=…,p=…$SALT$HASH with m ≤ ${ARGON2_MAX_MEMORY_KIB} KiB, t ≤ ${ARGON2_MAX_ITERATIONS})`;
    case 'scrypt':
      return parseScrypt(text) ? undefined : `not a usable scrypt hash (expected $scrypt$ln=N,r=R,p=P$SALT$HASH in base64, ln 1-${SCRYPT_MAX_LN}, a hash of 16 bytes or more)`;
    case 'sha-crypt': {
      const p = parseShaCrypt(text);
      return p && p.hash !== '' ? undefined : 'not a usable SHA-crypt hash (expected $6$[rounds=N$]SALT$HASH, rounds at most 1000000)';
    }
    case undefined:
      if (text.startsWith('$y$') || text.startsWith('$gy$')) return 'yescrypt hashes are not supported; use bcrypt, argon2, scrypt or SHA-crypt ($6$)';
      if (text.startsWith('$1$')) return 'MD5-crypt ($1$) is not supported; use bcrypt, argon2, scrypt or SHA-crypt ($6$)';
      return 'unknown password hash format; supported: bcrypt ($2b$), argon2 ($argon2id$), scrypt ($scrypt$) and SHA-crypt ($6$, $5$)';
  }
}

/** Checks `password` against `hash`. */
export async function verifyPasswordHash(password: string, hash: string): Promise<HashCheck> {
  try {
    switch (hashKind(hash)) {
      case 'bcrypt':
        return await checkBcrypt(password, hash);
      case 'argon2':
        return await checkArgon2(password, hash);
      case 'scrypt':
        return await checkScrypt(password, hash);
      case 'sha-crypt': {
        const p = parseShaCrypt(hash);
        if (!p || p.hash === '') return 'unsupported';
        const mine = shaCrypt(password, hash);
        return mine !== undefined && equalBytes(Buffer.from(mine), Buffer.from(hash)) ? 'match' : 'mismatch';
      }
      case undefined:
        return 'unsupported';
    }
  } catch {
    // A library refusing its input (e.g. argon2 memory it cannot allocate) is a hash we cannot check.
    return 'unsupported';
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Lengths of hashes are public (they follow from the format); only contents need constant time.
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---- bcrypt -------------------------------------------------------------------

const BCRYPT_B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function parseBcrypt(text: string): { cost: number; salt: Uint8Array; hash: string } | undefined {
  const m = /^\$2[aby]\$([0-9]{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/.exec(text);
  if (!m) return undefined;
  const cost = Number(m[1]);
  if (cost < 4 || cost > 31) return undefined;
  return { cost, salt: decodeBcryptBase64(m[2]!, 16), hash: m[3]! };
}

function decodeBcryptBase64(text: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of text) {
    acc = (acc << 6) | BCRYPT_B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < bytes) out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

async function checkBcrypt(password: string, hash: string): Promise<HashCheck> {
  const p = parseBcrypt(hash);
  if (!p) return 'unsupported';
  let pw = Buffer.from(password, 'utf8');
  if (pw.length === 0) return 'mismatch';
  if (pw.length > 72) pw = pw.subarray(0, 72);
  const encoded = await bcrypt({ password: pw, salt: p.salt, costFactor: p.cost, outputType: 'encoded' });
  return equalBytes(Buffer.from(encoded.slice(-31)), Buffer.from(p.hash)) ? 'match' : 'mismatch';
}

// ---- argon2 -------------------------------------------------------------------

interface Argon2Params {
  type: 'id' | 'i' | 'd';
  memorySize: number;
  iterations: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

function parseArgon2(text: string): Argon2Params | undefined {
  const m = /^\$argon2(id|i|d)\$v=19\$([mtp]=[0-9]{1,10}(?:,[mtp]=[0-9]{1,10}){2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(text);
  if (!m) return undefined;
  const params = new Map<string, number>();
  for (const kv of m[2]!.split(',')) params.set(kv[0]!, Number(kv.slice(2)));
  const memorySize = params.get('m');
  const iterations = params.get('t');
  const parallelism = params.get('p');
  if (memorySize === undefined || iterations === undefined || parallelism === undefined) return undefined;
  if (iterations < 1 || iterations > ARGON2_MAX_ITERATIONS || parallelism < 1 || parallelism > ARGON2_MAX_PARALLELISM) return undefined;
  if (memorySize < 8 * parallelism || memorySize > ARGON2_MAX_MEMORY_KIB) return undefined;
  const salt = Buffer.from(m[3]!, 'base64');
  const hash = Buffer.from(m[4]!, 'base64');
  if (salt.length < 8 || hash.length < 4) return undefined;
  return { type: m[1] as 'id' | 'i' | 'd', memorySize, iterations, parallelism, salt, hash };
}

async function checkArgon2(password: string, hash: string): Promise<HashCheck> {
  const p = parseArgon2(hash);
  if (!p) return 'unsupported';
  const fn = p.type === 'id' ? argon2id : p.type === 'i' ? argon2i : argon2d;
  const out = await fn({
    password,
    salt: p.salt,
    iterations: p.iterations,
    parallelism: p.parallelism,
    memorySize: p.memorySize,
    hashLength: p.hash.length,
    outputType: 'binary',
  });
  return equalBytes(out, p.hash) ? 'match' : 'mismatch';
}

// ---- scrypt -------------------------------------------------------------------

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const B64_TEXT = /^[A-Za-z0-9+/.]+={0,2}$/;

function decodeB64(text: string): Buffer | undefined {
  return B64_TEXT.test(text) ? Buffer.from(text.replace(/\./g, '+'), 'base64') : undefined;
}

function parseScrypt(text: string): ScryptParams | undefined {
  const m = /^\$scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,3}),p=([0-9]{1,3})\$([^$]+)\$([^$]+)$/.exec(text);
  if (!m) return undefined;
  const ln = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (ln < 1 || ln > SCRYPT_MAX_LN || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = decodeB64(m[4]!);
  const hash = decodeB64(m[5]!);
  if (!salt || !hash || salt.length < 1 || hash.length < 16 || hash.length > 128) return undefined;
  return { ln, r, p, salt, hash };
}

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function scryptOptions(ln: number, r: number, p: number): ScryptOptions {
  const N = 2 ** ln;
  // Node refuses when 128·N·r exceeds maxmem (32 MiB by default); allow what the hash needs.
  return { N, r, p, maxmem: 128 * N * r * 2 + 1024 * 1024 };
}

async function checkScrypt(password: string, hash: string): Promise<HashCheck> {
  const p = parseScrypt(hash);
  if (!p) return 'unsupported';
  const key = await scryptAsync(password, p.salt, p.hash.length, scryptOptions(p.ln, p.r, p.p));
  return equalBytes(key, p.hash) ? 'match' : 'mismatch';
}

/** A `$scrypt$ln=…,r=…,p=…$salt$hash` string for `password` (defaults ln=14, r=8, p=1, 16-byte salt, 32-byte hash). */
export async function scryptHash(password: string, opts: { ln?: number; r?: number; p?: number; salt?: Buffer } = {}): Promise<string> {
  const ln = opts.ln ?? 14;
  const r = opts.r ?? 8;
  const p = opts.p ?? 1;
  const salt = opts.salt ?? randomBytes(16);
  const key = await scryptAsync(password, salt, 32, scryptOptions(ln, r, p));
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}
