/**
 * @module bounce/mime-build
 *
 * The small MIME toolkit the DSN composer needs, written here rather than borrowed from nodemailer's
 * MimeNode: a DSN has a fixed shape (one multipart/report, three leaves), so owning the ~150 lines
 * keeps `src/` free of a run-time dependency on nodemailer and lets us guarantee line lengths.
 *
 * Exports:
 *  - `field(name, value)`: one header field, folded at white space to 78 columns where possible and
 *    never over 998 octets a line (RFC 5322 §2.1.1); CR, LF and other controls in `value` become
 *    spaces, so no input can add a header.
 *  - `rfc5322Date(date)`: `Mon, 02 Jan 2006 15:04:05 +0000` (UTC), or `undefined` for an invalid date.
 *  - `qpEncode(text)`: quoted-printable (RFC 2045 §6.7) of UTF-8 text, CRLF line ends, lines ≤ 76.
 *  - `isAscii(text | bytes)`, `toCrlf(bytes)`, `foldLongLines(bytes)`, `longestLine(bytes)`.
 *  - `newBoundary(parts)`: a boundary that occurs in none of `parts`.
 *  - `singleLine(text)`: controls removed, white space collapsed.
 */
import { randomBytes } from 'node:crypto';

const MAX_LINE = 998;
const SOFT_LINE = 78;

/** Controls (including CR and LF) become one space; runs of white space collapse; trimmed. */
export function singleLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\x00-\x1f\x7f\s]+/g, ' ').trim();
}

export function isAscii(value: string | Uint8Array): boolean {
  if (typeof value === 'string') return /^[\x00-\x7f]*$/.test(value);
  for (const byte of value) if (byte > 0x7f) return false;
  return true;
}

/**
 * `Name: value`, folded before white space so that lines stay within 78 characters where the words
 * allow, and within 998 octets always (a longer word is cut, the cut becoming a fold: unfolding then
 * shows one added space, which is the price of the hard limit). Ends with CRLF.
 */
export function field(name: string, value: string): string {
  const words = singleLine(value).split(' ').filter((w) => w !== '');
  const lines: string[] = [];
  const head = `${name}:`;
  let current = head;
  for (const word of words) {
    const pieces = splitBytes(word, MAX_LINE - 2);
    for (const piece of pieces) {
      const candidate = `${current} ${piece}`;
      const length = Buffer.byteLength(candidate);
      const fits = length <= SOFT_LINE || (current === head && length <= MAX_LINE);
      if (fits) current = candidate;
      else {
        lines.push(current);
        current = ` ${piece}`;
      }
    }
  }
  lines.push(current);
  return `${lines.join('\r\n')}\r\n`;
}

/** Cut `word` into pieces of at most `max` octets, never inside a UTF-8 sequence. */
function splitBytes(word: string, max: number): string[] {
  if (Buffer.byteLength(word) <= max) return [word];
  const pieces: string[] = [];
  let piece = '';
  for (const ch of word) {
    if (Buffer.byteLength(piece + ch) > max) {
      pieces.push(piece);
      piece = '';
    }
    piece += ch;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc5322Date(date: Date | undefined): string | undefined {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) return undefined;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/** Quoted-printable of the UTF-8 bytes of `text` (line breaks in `text` become CRLF). */
export function qpEncode(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const bytes = Buffer.from(line, 'utf8');
    let encoded = '';
    let width = 0;
    bytes.forEach((byte, index) => {
      const last = index === bytes.length - 1;
      const plain = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
      const token = plain ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      if (width + token.length > 75) {
        encoded += '=\r\n';
        width = 0;
      }
      encoded += token;
      width += token.length;
    });
    out.push(encoded);
  }
  return out.join('\r\n');
}

/** Bare LF and bare CR become CRLF. */
export function toCrlf(bytes: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(bytes).toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** The length in octets of the longest line (CRLF or LF ends a line). */
export function longestLine(bytes: Uint8Array): number {
  let longest = 0;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const end = i > start && bytes[i - 1] === 0x0d ? i - 1 : i;
      longest = Math.max(longest, end - start);
      start = i + 1;
    }
  }
  return longest;
}

/**
 * Header lines over 998 octets are cut and folded (CRLF + space) — for a header section this is
 * folding, which keeps the fields readable. Input must already use CRLF.
 */
export function foldLongLines(bytes: Buffer): Buffer {
  if (longestLine(bytes) <= MAX_LINE) return bytes;
  const lines = bytes.toString('latin1').split('\r\n');
  const out: string[] = [];
  for (const line of lines) {
    let rest = line;
    let first = true;
    while (Buffer.byteLength(rest, 'latin1') > MAX_LINE) {
      const take = first ? MAX_LINE : MAX_LINE - 1;
      out.push((first ? '' : ' ') + rest.slice(0, take));
      rest = rest.slice(take);
      first = false;
    }
    out.push((first ? '' : ' ') + rest);
  }
  return Buffer.from(out.join('\r\n'), 'latin1');
}

/** A boundary that is not a substring of any part. */
export function newBoundary(parts: readonly Uint8Array[]): string {
  for (;;) {
    const boundary = `=_petrel_${randomBytes(12).toString('hex')}`;
    if (!parts.some((part) => Buffer.from(part).includes(boundary))) return boundary;
  }
}
