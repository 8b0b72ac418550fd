/**
 * @module smtp/framing
 *
 * Octet-level framing of an SMTP stream: command lines, the DATA body, BDAT
 * chunks, and dot-stuffing for the client. Pure state machines: the caller
 * feeds Buffers and acts on what comes back.
 *
 * Exports:
 *  - `LineReader`: `push(bytes)`, then `next()` until it returns undefined.
 *    Pull-based on purpose, so that after DATA, BDAT or STARTTLS the session
 *    can stop reading lines and `takeBuffered()` (hand the rest to the DATA
 *    decoder / BDAT reader) or `discardBuffered()` (STARTTLS: RFC 3207 §4.2
 *    and CVE-2011-0411, plaintext injected after STARTTLS must not be read
 *    as commands inside TLS).
 *  - `DataDecoder`: the DATA phase (RFC 5321 §4.1.1.4, §4.5.2).
 *  - `BdatReader`: exactly N octets of one BDAT chunk (RFC 3030 §2).
 *  - `DotStuffer` / `dotStuff(body)`: the client's side of §4.5.2.
 *
 * LineReader contracts:
 *  - `maxLineOctets` counts the line ending (RFC 5321 §4.5.3.1.4: 512 for
 *    commands); the session may raise it, e.g. for AUTH (RFC 4954 §4: 12288).
 *  - `push` copies the partial line (at most `maxLineOctets` octets) plus
 *    the new chunk, so one push costs O(maxLineOctets + chunk).
 *  - An over-long line yields one `line-too-long` event as soon as it is
 *    known, and the reader discards octets up to the next LF, keeping none:
 *    a flood without a line ending costs O(maxLineOctets) memory.
 *  - Decision on bare LF: a command line may end in bare LF (as Postfix
 *    accepts by default and normalises in 3.9). The event says so
 *    (`ending: 'LF'`) and the session decides. Smuggling lives in DATA,
 *    where bare LF is never an ending (below). A bare CR stays in the line,
 *    and `parseCommand` refuses it.
 *
 * DataDecoder contracts (invariants of the SMTP smuggling defence,
 * CVE-2023-51764/51765/51766):
 *  - The data ends only at CRLF "." CRLF, where the first CRLF may be the
 *    one ending the DATA command (an immediate ".CRLF" is an empty body).
 *    `\n.\n`, `\n.\r\n`, `\r.\r\n`, `\r\n.\n` never end it.
 *  - A line start exists only after a real CRLF; a bare LF or bare CR
 *    anywhere is an error, after which the decoder keeps consuming (and
 *    emits nothing more) until the real end, so the session can reply 5xx
 *    and stay in step with the client.
 *  - A leading "." is removed from every other line (transparency, §4.5.2).
 *  - Lines over `maxLineOctets` (default 1000 with CRLF, §4.5.3.1.6; the
 *    stuffed dot not counted) and bodies over `maxMessageOctets` are errors,
 *    consumed likewise.
 *  - The body keeps CRLF line endings; the CRLF before the final "." belongs
 *    to the body. Body chunks are views of the input Buffers; on an error
 *    outcome, discard whatever was emitted.
 *  - The outcome and, when it is ok, the body do not depend on how the input
 *    was cut into chunks. Memory does not grow with the message.
 *  - Octets after the terminator are returned as `rest` (pipelined commands).
 *
 * Nothing here throws on any input.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);

// --- LineReader ----------------------------------------------------------------

export type LineEvent =
  | { readonly type: 'line'; readonly line: Buffer; readonly ending: 'CRLF' | 'LF' }
  | { readonly type: 'line-too-long'; readonly limit: number };

export interface LineReaderOptions {
  /** Maximum line length in octets including CRLF. Default 512 (RFC 5321 §4.5.3.1.4). */
  readonly maxLineOctets?: number;
}

export class LineReader {
  /** Maximum line length in octets including CRLF; may be changed between lines. */
  maxLineOctets: number;
  #buf: Buffer = EMPTY;
  #pos = 0;
  #discarding = false;

  constructor(opts: LineReaderOptions = {}) {
    this.maxLineOctets = opts.maxLineOctets ?? 512;
  }

  /** Octets received and not yet returned. */
  get buffered(): number {
    return this.#buf.length - this.#pos;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let data: Buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#discarding) {
      // Still inside an over-long line: keep nothing before its end.
      const lf = data.indexOf(LF);
      if (lf === -1) return;
      this.#discarding = false;
      data = data.subarray(lf + 1);
    }
    const pending = this.#buf.subarray(this.#pos);
    this.#buf = pending.length === 0 ? Buffer.from(data) : Buffer.concat([pending, data]);
    this.#pos = 0;
  }

  /** The next line or event, or undefined when more input is needed. */
  next(): LineEvent | undefined {
    const buf = this.#buf;
    const lf = buf.indexOf(LF, this.#pos);
    if (lf === -1) {
      if (buf.length - this.#pos >= this.maxLineOctets) {
        // Too long whatever comes next (a waiting CR counts at most one octet).
        this.#buf = EMPTY;
        this.#pos = 0;
        this.#discarding = true;
        return { type: 'line-too-long', limit: this.maxLineOctets };
      }
      return undefined;
    }
    const crlf = lf > this.#pos && buf[lf - 1] === CR;
    const end = crlf ? lf - 1 : lf;
    const start = this.#pos;
    this.#pos = lf + 1;
    if (end - start + 2 > this.maxLineOctets) return { type: 'line-too-long', limit: this.maxLineOctets };
    return { type: 'line', line: Buffer.from(buf.subarray(start, end)), ending: crlf ? 'CRLF' : 'LF' };
  }

  /** Remove and return everything buffered (for the DATA decoder or BDAT reader). */
  takeBuffered(): Buffer {
    const rest = this.#discarding ? EMPTY : Buffer.from(this.#buf.subarray(this.#pos));
    this.#reset();
    return rest;
  }

  /** Drop everything buffered (after STARTTLS, RFC 3207 §4.2); returns the octet count. */
  discardBuffered(): number {
    const n = this.buffered;
    this.#reset();
    return n;
  }

  #reset(): void {
    this.#buf = EMPTY;
    this.#pos = 0;
    this.#discarding = false;
  }
}

// --- DataDecoder -----------------------------------------------------------------

export type DataErrorKind = 'BARE_LF' | 'BARE_CR' | 'LINE_TOO_LONG' | 'MESSAGE_TOO_BIG';

/** Most serious first: this order picks `DataOutcome.error`. */
const ERROR_PRIORITY: readonly DataErrorKind[] = ['BARE_LF', 'BARE_CR', 'LINE_TOO_LONG', 'MESSAGE_TOO_BIG'];

export type DataOutcome =
  | { readonly ok: true; readonly octets: number }
  | {
      readonly ok: false;
      /** The most serious error (see ERROR_PRIORITY). */
      readonly error: DataErrorKind;
      readonly errors: readonly DataErrorKind[];
      readonly octets: number;
    };

export type DataPush =
  | { readonly done: false; readonly chunks: readonly Buffer[] }
  | { readonly done: true; readonly chunks: readonly Buffer[]; readonly outcome: DataOutcome; readonly rest: Buffer };

export interface DataDecoderOptions {
  /** Text line limit including CRLF (RFC 5321 §4.5.3.1.6); null disables. Default 1000. */
  readonly maxLineOctets?: number | null;
  /** Body limit in octets after unstuffing. Default: none. */
  readonly maxMessageOctets?: number;
}

// Decoder states: where we are relative to line structure.
const S_LINE_START = 0; // after a real CRLF (or at the start)
const S_DOT = 1; // line start, then "."
const S_DOT_CR = 2; // line start, ".", CR
const S_MID = 3; // inside a line
const S_CR = 4; // inside a line, after CR
const S_DONE = 5;
type State = 0 | 1 | 2 | 3 | 4 | 5;

export class DataDecoder {
  readonly #maxContent: number;
  readonly #maxMessage: number;
  #state: State = S_LINE_START;
  #lineLen = 0;
  #octets = 0;
  #errors = new Set<DataErrorKind>();
  /** A CR after a leading dot ended the previous chunk and was not counted. */
  #heldCr = false;
  #outcome: DataOutcome | undefined;

  constructor(opts: DataDecoderOptions = {}) {
    const maxLine = opts.maxLineOctets === undefined ? 1000 : opts.maxLineOctets;
    this.#maxContent = maxLine === null ? Infinity : maxLine - 2;
    this.#maxMessage = opts.maxMessageOctets ?? Infinity;
  }

  /** Body octets decoded so far (after unstuffing), counted even after an error. */
  get octets(): number {
    return this.#octets;
  }

  get done(): boolean {
    return this.#state === S_DONE;
  }

  push(input: Uint8Array): DataPush {
    const chunk = Buffer.from(input.buffer, input.byteOffset, input.length);
    if (this.#outcome !== undefined) return { done: true, chunks: [], outcome: this.#outcome, rest: chunk };
    const out: Buffer[] = [];
    const n = chunk.length;
    let i = 0;
    let emitStart = 0;
    let nextCr = -2; // -2: not searched yet; -1: none in the rest of the chunk
    let nextLf = -2;
    while (i < n) {
      switch (this.#state) {
        case S_LINE_START:
          if (chunk[i] === DOT) {
            // Either the terminator or a stuffed dot: dropped in both cases.
            this.#emit(chunk, emitStart, i, out);
            emitStart = i + 1;
            this.#state = S_DOT;
            i++;
          } else {
            this.#state = S_MID;
          }
          break;
        case S_DOT:
          if (chunk[i] === CR) {
            this.#state = S_DOT_CR;
            i++;
          } else {
            this.#state = S_MID; // stuffed dot removed; the line goes on
          }
          break;
        case S_DOT_CR:
          if (chunk[i] === LF) {
            // CRLF "." CRLF: the end. Nothing after the dot was content.
            this.#state = S_DONE;
            this.#checkSize();
            this.#outcome = this.#makeOutcome();
            return { done: true, chunks: out, outcome: this.#outcome, rest: chunk.subarray(i + 1) };
          }
          this.#errors.add('BARE_CR');
          if (this.#heldCr) this.#octets++;
          this.#heldCr = false;
          this.#lineLen++;
          this.#state = S_MID;
          break;
        case S_MID: {
          if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
          if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
          const p = Math.min(nextCr === -1 ? n : nextCr, nextLf === -1 ? n : nextLf);
          this.#lineLen += p - i;
          if (this.#lineLen > this.#maxContent) this.#errors.add('LINE_TOO_LONG');
          i = p;
          if (p === n) break;
          if (chunk[p] === CR) {
            this.#state = S_CR;
          } else {
            this.#errors.add('BARE_LF'); // stays inside the line: no line start after a bare LF
            this.#lineLen++;
          }
          i++;
          break;
        }
        case S_CR:
          if (chunk[i] === LF) {
            this.#state = S_LINE_START;
            this.#lineLen = 0;
            i++;
          } else {
            this.#errors.add('BARE_CR');
            this.#lineLen++;
            this.#state = S_MID;
          }
          break;
        case S_DONE:
          return { done: true, chunks: out, outcome: this.#makeOutcome(), rest: chunk.subarray(i) };
        default: {
          const never: never = this.#state;
          return never;
        }
      }
    }
    // End of chunk: a CR right after a leading dot is held back (it is the
    // terminator's if an LF follows).
    if (this.#state === S_DOT_CR) {
      this.#emit(chunk, emitStart, n - 1, out);
      this.#heldCr = true;
    } else {
      this.#emit(chunk, emitStart, n, out);
    }
    return { done: false, chunks: out };
  }

  #emit(chunk: Buffer, from: number, to: number, out: Buffer[]): void {
    if (to <= from) return;
    this.#octets += to - from;
    this.#checkSize();
    if (this.#errors.size === 0) out.push(chunk.subarray(from, to));
  }

  #checkSize(): void {
    if (this.#octets > this.#maxMessage) this.#errors.add('MESSAGE_TOO_BIG');
  }

  #makeOutcome(): DataOutcome {
    const errors = ERROR_PRIORITY.filter((e) => this.#errors.has(e));
    const first = errors[0];
    return first === undefined ? { ok: true, octets: this.#octets } : { ok: false, error: first, errors, octets: this.#octets };
  }
}

// --- BdatReader --------------------------------------------------------------------

export interface BdatPush {
  /** Octets of the chunk found in this input (a view of it). */
  readonly data: Buffer;
  /** The chunk is complete. */
  readonly done: boolean;
  /** Input after the chunk's last octet: the next command lines. */
  readonly rest: Buffer;
}

/** Consumes exactly `size` octets of one BDAT chunk (RFC 3030 §2): no dot-unstuffing, no line rules. */
export class BdatReader {
  #remaining: number;

  constructor(size: number) {
    this.#remaining = Number.isSafeInteger(size) && size > 0 ? size : 0;
  }

  get remaining(): number {
    return this.#remaining;
  }

  get done(): boolean {
    return this.#remaining === 0;
  }

  push(input: Uint8Array): BdatPush {
    const chunk = Buffer.from(input.buffer, input.byteOffset, input.length);
    const take = Math.min(this.#remaining, chunk.length);
    this.#remaining -= take;
    return { data: chunk.subarray(0, take), done: this.#remaining === 0, rest: chunk.subarray(take) };
  }
}

// --- DotStuffer ----------------------------------------------------------------------

/**
 * The client's DATA encoder (RFC 5321 §4.5.2): doubles a leading "." on
 * every line, and writes every line ending as CRLF: a bare LF or bare CR in
 * the message becomes CRLF (RFC 5321 §2.3.8: a client MUST NOT send them),
 * so Petrel never relays a smuggling payload. `finish()` ends the last line
 * if needed and appends the "." CRLF terminator.
 */
export class DotStuffer {
  #lineStart = true;
  #pendingCr = false;
  #finished = false;

  push(input: Uint8Array): Buffer {
    if (this.#finished || input.length === 0) return EMPTY;
    // Worst case every octet doubles, plus a pending CR's LF.
    const out = Buffer.allocUnsafe(input.length * 2 + 2);
    let o = 0;
    for (let i = 0; i < input.length; i++) {
      const b = input[i] as number;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        out[o++] = CR;
        out[o++] = LF;
        this.#lineStart = true;
        if (b === LF) continue; // CRLF as such
      }
      if (b === CR) {
        this.#pendingCr = true;
      } else if (b === LF) {
        out[o++] = CR;
        out[o++] = LF;
        this.#lineStart = true;
      } else {
        if (this.#lineStart && b === DOT) out[o++] = DOT;
        out[o++] = b;
        this.#lineStart = false;
      }
    }
    return out.subarray(0, o);
  }

  /** Close the body: final CRLF if the last line lacks one, then "." CRLF. */
  finish(): Buffer {
    if (this.#finished) return EMPTY;
    this.#finished = true;
    const tail = this.#pendingCr || !this.#lineStart ? '\r\n.\r\n' : '.\r\n';
    return Buffer.from(tail, 'latin1');
  }
}

/** One-shot DATA payload for a whole body: stuffed, CRLF-normalised, terminated. */
export function dotStuff(body: Uint8Array): Buffer {
  const s = new DotStuffer();
  return Buffer.concat([s.push(body), s.finish()]);
}
