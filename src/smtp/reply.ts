/**
 * @module smtp/reply
 *
 * SMTP replies: the `Reply` value both sides share, `formatReply()` for the
 * server (wire text), and an incremental `ReplyParser` for the client.
 *
 * Exports:
 *  - `Reply` `{ code, enhanced?, lines }`: `lines` hold the text only, without
 *    the code and without the enhanced status code.
 *  - `formatReply(reply, opts?)`: wire text, CRLF on every line, `250-` on
 *    continuation lines and `250 ` (always with the space) on the last
 *    (RFC 5321 §4.2.1); the enhanced code is repeated on
 *    every line (RFC 2034 §3) unless `enhancedStatusCodes: false`.
 *  - `ReplyParser`: `push(bytes)` returns complete replies and errors as
 *    values; `end()` reports a reply cut short by the peer closing.
 *  - `parseEnhancedCode(text, code)`: RFC 3463 `class.subject.detail` at the
 *    start of a reply text, only when the class matches the reply's first digit.
 *  - `isValidReplyCode(code)`.
 *
 * Contracts (the client relies on them against hostile servers):
 *  - Nothing here throws on any input. Errors are `ReplyParseError` values.
 *  - Memory is bounded by `maxLineOctets` + `maxReplyOctets`, whatever the
 *    peer sends: a megabyte line costs `maxLineOctets`, an unending
 *    multi-line reply stops at `maxLines`.
 *  - After the first error the parser is `failed` and ignores all further
 *    input: the stream is out of sync and the only safe move is to close.
 *  - Lines may end in CRLF or bare LF (robustness on the receiving side of
 *    replies, RFC 5321 §4.5.3.1.5 leaves no room to resynchronise otherwise).
 */

/** An SMTP reply as both sides see it. */
export interface Reply {
  /** Three-digit reply code, RFC 5321 §4.2. */
  readonly code: number;
  /** RFC 3463 enhanced status code (`class.subject.detail`), without trailing space. */
  readonly enhanced?: string;
  /** Text of each line, without code or enhanced code. At least one line when formatted. */
  readonly lines: readonly string[];
}

/** RFC 5321 §4.2: first digit 2..5, second 0..5, third 0..9. */
export function isValidReplyCode(code: number): boolean {
  if (!Number.isInteger(code) || code < 200 || code > 599) return false;
  return Math.floor(code / 10) % 10 <= 5;
}

export interface FormatReplyOptions {
  /** Put the enhanced code on every line (RFC 2034 §3). Default true. */
  readonly enhancedStatusCodes?: boolean;
}

/** CR, LF and NUL inside a reply text would let text forge extra reply lines. */
const UNSAFE_TEXT = /[\r\n\0]/g;

/**
 * Wire text of a reply. Every line ends with CRLF; continuation lines use
 * `code-`, the last `code SP` (RFC 5321 §4.2.1). CR/LF/NUL inside a text are
 * replaced by spaces, so a text echoing peer input cannot forge a line.
 * XXX: lines are not wrapped at 512 octets (RFC 5321 §4.5.3.1.5); callers keep texts short.
 */
export function formatReply(reply: Reply, opts: FormatReplyOptions = {}): string {
  const withEnhanced = opts.enhancedStatusCodes !== false && reply.enhanced !== undefined;
  const lines = reply.lines.length === 0 ? [''] : reply.lines;
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    // RFC 5321 §4.2.1: the last line is code SP [text], even when the text is
    // empty (RFC 4954 §4 `continue-req = "334" SP [base64]` relies on it).
    const sep = i === lines.length - 1 ? ' ' : '-';
    const text = (lines[i] ?? '').replace(UNSAFE_TEXT, ' ');
    const body = withEnhanced ? (text === '' ? `${reply.enhanced}` : `${reply.enhanced} ${text}`) : text;
    out += `${reply.code}${sep}${body}\r\n`;
  }
  return out;
}

const ENHANCED_AT_START = /^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?= |$)/;

/**
 * The RFC 3463 §2 status code at the start of `text`, if its class matches
 * the first digit of `code` (RFC 2034 §4). Returns the code and the rest of
 * the text after the separating space.
 */
export function parseEnhancedCode(
  text: string,
  code: number,
): { readonly enhanced: string; readonly rest: string } | undefined {
  const m = ENHANCED_AT_START.exec(text);
  if (m === null || Number(m[1]) !== Math.floor(code / 100)) return undefined;
  return { enhanced: m[0], rest: text.slice(m[0].length + 1) };
}

/** Limits the client applies to what a server sends. */
export interface ReplyParserLimits {
  /** Octets per line, excluding the line ending. Default 4096. */
  readonly maxLineOctets: number;
  /** Lines per reply. Default 100. */
  readonly maxLines: number;
  /** Octets per reply, line endings included. Default 65536. */
  readonly maxReplyOctets: number;
}

export const DEFAULT_REPLY_LIMITS: ReplyParserLimits = Object.freeze({
  maxLineOctets: 4096,
  maxLines: 100,
  maxReplyOctets: 65536,
});

/** Why a server's reply stream could not be parsed. */
export type ReplyParseError =
  | { readonly kind: 'LINE_TOO_LONG'; readonly limit: number }
  | { readonly kind: 'TOO_MANY_LINES'; readonly limit: number }
  | { readonly kind: 'REPLY_TOO_LARGE'; readonly limit: number }
  | { readonly kind: 'INVALID_CODE'; readonly line: string }
  | { readonly kind: 'MISMATCHED_CODE'; readonly expected: number; readonly line: string }
  | { readonly kind: 'TRUNCATED'; readonly octets: number };

/** A parsed reply, plus the exact line texts as received (code stripped). */
export interface ParsedReply extends Reply {
  /** Each line's text after `code[- ]`, enhanced code still in place. */
  readonly rawLines: readonly string[];
}

export type ReplyEvent =
  | { readonly type: 'reply'; readonly reply: ParsedReply }
  | { readonly type: 'error'; readonly error: ReplyParseError };

const LF = 0x0a;
const CR = 0x0d;
/** Texts in errors are cut to this many characters for logging. */
const ERROR_TEXT_MAX = 80;

/**
 * Incremental reply parser for the client side (RFC 5321 §4.2.1).
 *
 * Invariant: `pending` never holds more than `maxLineOctets + 1` octets, and
 * the lines of the reply in progress never total more than `maxReplyOctets`.
 */
export class ReplyParser {
  readonly #limits: ReplyParserLimits;
  #pending: Buffer[] = [];
  #pendingOctets = 0;
  #code = 0;
  #lines: string[] = [];
  #replyOctets = 0;
  #failed = false;

  constructor(limits: Partial<ReplyParserLimits> = {}) {
    this.#limits = { ...DEFAULT_REPLY_LIMITS, ...limits };
  }

  /** True once an error was reported; all further input is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True while a multi-line reply or a partial line is buffered. */
  get inProgress(): boolean {
    return this.#pendingOctets > 0 || this.#lines.length > 0;
  }

  /** Feed bytes from the server; returns the replies completed by them. */
  push(chunk: Uint8Array): ReplyEvent[] {
    const events: ReplyEvent[] = [];
    if (this.#failed) return events;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (;;) {
      // Only the new octets are searched: cost stays linear even byte by byte.
      const lf = buf.indexOf(LF, start);
      if (lf === -1) break;
      const head = this.#pending;
      const line = head.length === 0 ? buf.subarray(start, lf) : Buffer.concat([...head, buf.subarray(start, lf)]);
      this.#pending = [];
      this.#pendingOctets = 0;
      const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      const ev = this.#line(line.subarray(0, end), line.length + 1);
      start = lf + 1;
      if (ev !== undefined) {
        events.push(ev);
        if (ev.type === 'error') return events;
      }
    }
    const tail = buf.subarray(start);
    if (tail.length === 0) return events;
    // A CR may still be waiting for its LF, hence the + 1.
    if (this.#pendingOctets + tail.length > this.#limits.maxLineOctets + 1) {
      events.push(this.#fail({ kind: 'LINE_TOO_LONG', limit: this.#limits.maxLineOctets }));
      return events;
    }
    this.#pending.push(Buffer.from(tail));
    this.#pendingOctets += tail.length;
    return events;
  }

  /** The server closed the connection: report a reply left incomplete. */
  end(): ReplyEvent[] {
    if (this.#failed || !this.inProgress) return [];
    return [this.#fail({ kind: 'TRUNCATED', octets: this.#replyOctets + this.#pendingOctets })];
  }

  #fail(error: ReplyParseError): ReplyEvent {
    this.#failed = true;
    this.#pending = [];
    this.#pendingOctets = 0;
    this.#lines = [];
    return { type: 'error', error };
  }

  #line(bytes: Buffer, wireOctets: number): ReplyEvent | undefined {
    // Sanity checks first: size limits, then syntax.
    if (bytes.length > this.#limits.maxLineOctets) {
      return this.#fail({ kind: 'LINE_TOO_LONG', limit: this.#limits.maxLineOctets });
    }
    this.#replyOctets += wireOctets;
    if (this.#replyOctets > this.#limits.maxReplyOctets) {
      return this.#fail({ kind: 'REPLY_TOO_LARGE', limit: this.#limits.maxReplyOctets });
    }
    if (this.#lines.length >= this.#limits.maxLines) {
      return this.#fail({ kind: 'TOO_MANY_LINES', limit: this.#limits.maxLines });
    }
    const line = bytes.toString('utf8');
    const shown = line.slice(0, ERROR_TEXT_MAX);
    // RFC 5321 §4.2: Reply-code [ ("-" / SP) textstring ]; a bare code ends a reply.
    const sep = line.length > 3 ? line[3] : ' ';
    if (!/^[0-9]{3}$/.test(line.slice(0, 3)) || (sep !== ' ' && sep !== '-')) {
      return this.#fail({ kind: 'INVALID_CODE', line: shown });
    }
    const code = Number(line.slice(0, 3));
    if (!isValidReplyCode(code)) return this.#fail({ kind: 'INVALID_CODE', line: shown });
    if (this.#lines.length > 0 && code !== this.#code) {
      return this.#fail({ kind: 'MISMATCHED_CODE', expected: this.#code, line: shown });
    }
    this.#code = code;
    this.#lines.push(line.slice(4));
    if (sep === '-') return undefined;
    const reply = buildParsedReply(code, this.#lines);
    this.#lines = [];
    this.#replyOctets = 0;
    return { type: 'reply', reply };
  }
}

/** Split the enhanced code off the first line and off every line that repeats it. */
function buildParsedReply(code: number, rawLines: readonly string[]): ParsedReply {
  const first = parseEnhancedCode(rawLines[0] ?? '', code);
  if (first === undefined) return { code, lines: [...rawLines], rawLines };
  const lines = rawLines.map((l) => {
    if (l === first.enhanced) return '';
    return l.startsWith(`${first.enhanced} `) ? l.slice(first.enhanced.length + 1) : l;
  });
  return { code, enhanced: first.enhanced, lines, rawLines };
}
