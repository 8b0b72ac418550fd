/**
 * @module spool/ids
 *
 * Message and recipient ids.
 *
 * A message id is a 53-bit integer `ms * 2048 + n` (arrival millisecond, then a
 * counter), printed as 11 characters of Crockford base32. Printed ids sort in
 * the same order as the numbers, so `ls`-order, log order and arrival order
 * agree. The number fits a float64 exactly, so the in-memory index keeps ids
 * in a `Float64Array` instead of as strings.
 *
 * A recipient id is `<message id>.<index>` (index in envelope order, from 0).
 *
 * Exports: `MessageIdGenerator` (monotonic: never repeats, even if the clock
 * steps back, as long as it is seeded with the highest id already stored),
 * `formatMessageId`, `parseMessageId`, `recipientId`, `parseRecipientId`,
 * `MESSAGE_ID_RE`.
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  DECODE[ALPHABET.charCodeAt(i)] = i;
  DECODE[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}
const ID_LEN = 11;
const COUNTER_SPAN = 2048;

export const MESSAGE_ID_RE = /^[0-9A-HJKMNP-TV-Z]{11}$/i;

/** Prints a numeric message id (0 ≤ n < 2^53) as 11 base32 characters. */
export function formatMessageId(n: number): string {
  let s = '';
  let v = n;
  for (let i = 0; i < ID_LEN; i++) {
    const d = v % 32;
    s = ALPHABET[d] + s;
    v = Math.floor(v / 32);
  }
  return s;
}

/** Parses a printed message id; `undefined` if it is not one. */
export function parseMessageId(s: string): number | undefined {
  if (s.length !== ID_LEN) return undefined;
  let v = 0;
  for (let i = 0; i < ID_LEN; i++) {
    const c = s.charCodeAt(i);
    const d = c < 128 ? DECODE[c]! : -1;
    if (d < 0) return undefined;
    v = v * 32 + d;
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : undefined;
}

export function recipientId(messageId: string, index: number): string {
  return `${messageId}.${index}`;
}

/** Splits `<message id>.<index>`; `undefined` if malformed. */
export function parseRecipientId(s: string): { messageId: string; index: number } | undefined {
  const dot = s.indexOf('.');
  if (dot !== ID_LEN) return undefined;
  const idx = s.slice(dot + 1);
  if (!/^\d{1,9}$/.test(idx)) return undefined;
  return { messageId: s.slice(0, dot), index: Number(idx) };
}

/** Hands out strictly increasing ids derived from the time. */
export class MessageIdGenerator {
  #last: number;

  constructor(highestExisting = 0) {
    this.#last = highestExisting;
  }

  /** Raises the floor (after recovery found `n` on disk). */
  observe(n: number): void {
    if (n > this.#last) this.#last = n;
  }

  next(nowMs: number): number {
    let n = Math.floor(nowMs) * COUNTER_SPAN;
    if (n <= this.#last) n = this.#last + 1;
    this.#last = n;
    return n;
  }
}
