/**
 * @module auth/sha-crypt
 *
 * SHA-256-crypt (`$5$`) and SHA-512-crypt (`$6$`), the password hashes of
 * glibc's crypt(3) and of most Linux `/etc/shadow` files, implemented from
 * Ulrich Drepper's published specification ("Unix crypt using SHA-256 and
 * SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt).
 *
 * Exports:
 * - `parseShaCrypt(text)`  — split `$6$[rounds=N$]salt$hash` into its parts, or
 *                            undefined when the text is not well formed.
 * - `shaCrypt(password, setting)` — the full hash string for a password and a
 *                            setting (`$6$salt`, `$5$rounds=10000$salt`, or a
 *                            complete hash, whose hash part is ignored).
 * - `MAX_SHA_CRYPT_ROUNDS` — the most rounds Petrel accepts (see below).
 *
 * Contracts:
 * - Output is byte-for-byte what glibc and `openssl passwd -5/-6` produce:
 *   the salt is cut to 16 characters, `rounds` is clamped to 1000…999999999
 *   and written back only when the setting wrote it.
 * - Hashing runs synchronously on the calling thread (the server calls it on
 *   a worker, `hash-pool.ts`). The default 5000 rounds cost a few
 *   milliseconds; `rounds` above `MAX_SHA_CRYPT_ROUNDS` would tie a worker
 *   up for minutes per AUTH attempt, so `parseShaCrypt` refuses them.
 * - Never throws for malformed input: `shaCrypt` returns undefined.
 */
import { createHash } from 'node:crypto';

export const MAX_SHA_CRYPT_ROUNDS = 1_000_000;

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;
const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface ShaCryptParts {
  readonly variant: '5' | '6';
  /** As used (clamped); `roundsWritten` says whether the text named it. */
  readonly rounds: number;
  readonly roundsWritten: boolean;
  /** At most 16 characters. */
  readonly salt: string;
  /** The encoded hash part, or '' for a bare setting. */
  readonly hash: string;
}

const HASH_LENGTH = { '5': 43, '6': 86 } as const;

/** The parts of a SHA-crypt string; undefined when malformed or too costly. */
export function parseShaCrypt(text: string): ShaCryptParts | undefined {
  const m = /^\$([56])\$(?:rounds=([0-9]{1,10})\$)?([^$:\n]*)(?:\$([./0-9A-Za-z]*))?$/.exec(text);
  if (!m) return undefined;
  const variant = m[1] as '5' | '6';
  const roundsText = m[2];
  let rounds = ROUNDS_DEFAULT;
  if (roundsText !== undefined) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(roundsText)));
  }
  if (rounds > MAX_SHA_CRYPT_ROUNDS) return undefined;
  const hash = m[4] ?? '';
  if (hash !== '' && hash.length !== HASH_LENGTH[variant]) return undefined;
  return { variant, rounds, roundsWritten: roundsText !== undefined, salt: (m[3] ?? '').slice(0, SALT_MAX), hash };
}

/** `$5$`/`$6$` crypt of `password` with the salt and rounds of `setting`; undefined if `setting` is malformed. */
export function shaCrypt(password: string | Uint8Array, setting: string): string | undefined {
  const parts = parseShaCrypt(setting);
  if (!parts) return undefined;
  const algo = parts.variant === '6' ? 'sha512' : 'sha256';
  const size = parts.variant === '6' ? 64 : 32;
  const p = Buffer.from(password);
  const s = Buffer.from(parts.salt, 'utf8');
  const digest = (...chunks: Buffer[]): Buffer => {
    const h = createHash(algo);
    for (const c of chunks) h.update(c);
    return h.digest();
  };

  // Digest B = H(P S P).
  const b = digest(p, s, p);

  // Digest A = H(P S, B repeated to |P| bytes, then per bit of |P|: B or P).
  const a = createHash(algo).update(p).update(s);
  a.update(repeatTo(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  const aDigest = a.digest();

  // P' = H(P repeated |P| times) repeated to |P| bytes.
  const dp = createHash(algo);
  for (let i = 0; i < p.length; i++) dp.update(p);
  const pBytes = repeatTo(dp.digest(), p.length);

  // S' = H(S repeated 16 + A[0] times) repeated to |S| bytes.
  const ds = createHash(algo);
  for (let i = 0; i < 16 + aDigest[0]!; i++) ds.update(s);
  const sBytes = repeatTo(ds.digest(), s.length);

  // The rounds.
  let c = aDigest;
  for (let i = 0; i < parts.rounds; i++) {
    const h = createHash(algo);
    h.update(i & 1 ? pBytes : c);
    if (i % 3 !== 0) h.update(sBytes);
    if (i % 7 !== 0) h.update(pBytes);
    h.update(i & 1 ? c : pBytes);
    c = h.digest();
  }
  if (c.length !== size) return undefined;

  const prefix = `$${parts.variant}$${parts.roundsWritten ? `rounds=${parts.rounds}$` : ''}${parts.salt}$`;
  return prefix + (parts.variant === '6' ? encode512(c) : encode256(c));
}

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += block.length) block.copy(out, at, 0, Math.min(block.length, length - at));
  return out;
}

/** crypt's base64: 24 bits → `n` characters, least significant 6 bits first. */
function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

function encode512(c: Buffer): string {
  let out = '';
  // Byte triples per the specification: (0,21,42), (22,43,1), (44,2,23), … then byte 63 alone.
  for (let i = 0; i < 21; i++) {
    const t = [i, i + 21, i + 42];
    const r = i % 3;
    const [x, y, z] = [t[r]!, t[(r + 1) % 3]!, t[(r + 2) % 3]!];
    out += b64From24(c[x]!, c[y]!, c[z]!, 4);
  }
  return out + b64From24(0, 0, c[63]!, 2);
}

function encode256(c: Buffer): string {
  let out = '';
  // (0,10,20), (21,1,11), (12,22,2), … then (0,31,30) in 3 characters.
  for (let i = 0; i < 10; i++) {
    const t = [i, i + 10, i + 20];
    const r = i % 3;
    const [x, y, z] = [t[(3 - r) % 3]!, t[(4 - r) % 3]!, t[(5 - r) % 3]!];
    out += b64From24(c[x]!, c[y]!, c[z]!, 4);
  }
  return out + b64From24(0, c[31]!, c[30]!, 3);
}
