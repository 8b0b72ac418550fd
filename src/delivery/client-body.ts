/**
 * @module delivery/client-body
 *
 * The message body on its way out: what it needs (8-bit), and its wire form
 * for DATA (dot-stuffed, terminated; RFC 5321 §4.5.2) or BDAT (as is;
 * RFC 3030 §2), with no per-octet JavaScript for the common case.
 *
 * Exports:
 *  - `OutgoingBody`: `{ bytes, size, eightBit }` from `prepareBody(body)`.
 *  - `dataPayload(body)` → buffers to write after the 354.
 *  - `bdatPayload(body)` → the chunk to send with `BDAT n LAST`.
 *
 * Contracts:
 *  - The payload for DATA ends in CRLF "." CRLF, has every line ending as
 *    CRLF and every leading "." doubled. Bodies with a bare CR or bare LF
 *    go through `smtp/framing`'s `DotStuffer`, which turns them into CRLF:
 *    Petrel never relays an SMTP smuggling payload (CVE-2023-51764).
 *  - The BDAT chunk carries the same normalisation (bare CR/LF → CRLF, no
 *    stuffing), so the next hop gets the same lines whichever verb is used.
 *  - Fast path: a body whose line endings are all CRLF is scanned with
 *    `Buffer.indexOf` (native), once per line; only lines starting with "."
 *    cost a copy. 8-bit detection is `buffer.isAscii` (native).
 */

import { isAscii } from 'node:buffer';
import { DotStuffer } from '../smtp/framing.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const END_AFTER_CRLF = Buffer.from('.\r\n', 'latin1');
const END_AFTER_TEXT = Buffer.from('\r\n.\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

export interface OutgoingBody {
  readonly bytes: Buffer;
  /** Octets as stored (the SIZE declared, RFC 1870 §3). */
  readonly size: number;
  /** Any octet above 127 (needs BODY=8BITMIME, RFC 6152). */
  readonly eightBit: boolean;
}

export function prepareBody(body: Buffer | Uint8Array | readonly Uint8Array[]): OutgoingBody {
  const bytes = Array.isArray(body)
    ? Buffer.concat(body as readonly Uint8Array[])
    : Buffer.isBuffer(body)
      ? body
      : Buffer.from((body as Uint8Array).buffer, (body as Uint8Array).byteOffset, (body as Uint8Array).length);
  return { bytes, size: bytes.length, eightBit: !isAscii(bytes) };
}

interface Scan {
  /** A CR not followed by LF, or an LF not preceded by CR. */
  readonly bareEol: boolean;
  /** Offsets of lines that start with "." (0 or just after an LF). */
  readonly dotLines: number[];
}

function scan(b: Buffer): Scan {
  const dotLines: number[] = [];
  if (b.length > 0 && b[0] === DOT) dotLines.push(0);
  let crs = 0;
  let lfs = 0;
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) {
    lfs++;
    if (i === 0 || b[i - 1] !== CR) return { bareEol: true, dotLines };
    if (b[i + 1] === DOT) dotLines.push(i + 1);
  }
  for (let i = b.indexOf(CR); i !== -1; i = b.indexOf(CR, i + 1)) crs++;
  // Every LF is preceded by a CR, so equal counts mean every CR is followed by an LF.
  return { bareEol: crs !== lfs, dotLines };
}

/** Buffers for after the 354: stuffed body and the terminator. */
export function dataPayload(body: OutgoingBody): Buffer[] {
  const b = body.bytes;
  const s = scan(b);
  if (s.bareEol) {
    const st = new DotStuffer();
    return [st.push(b), st.finish()];
  }
  const end = b.length === 0 || (b[b.length - 2] === CR && b[b.length - 1] === LF) ? END_AFTER_CRLF : END_AFTER_TEXT;
  if (s.dotLines.length === 0) return [b, end];
  const out: Buffer[] = [];
  let from = 0;
  for (const at of s.dotLines) {
    // The line at `at` starts with ".": send up to and including that dot, then the dot again.
    out.push(b.subarray(from, at + 1));
    from = at;
  }
  out.push(b.subarray(from), end);
  return out;
}

/** The chunk for `BDAT n LAST`: the body, line endings made CRLF when they are not. */
export function bdatPayload(body: OutgoingBody): Buffer {
  const b = body.bytes;
  if (!scan(b).bareEol) return b;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === CR) {
      if (b[i + 1] === LF) {
        i++;
        continue;
      }
      parts.push(b.subarray(from, i), CRLF);
      from = i + 1;
    } else if (c === LF) {
      parts.push(b.subarray(from, i), CRLF);
      from = i + 1;
    }
  }
  parts.push(b.subarray(from));
  return Buffer.concat(parts);
}
