/**
 * @module config/values-common
 *
 * The machinery every value parser shares:
 *  - `ok` / `fail` build `ValueResult`s;
 *  - `splitWords` splits a value into whitespace-separated words, honouring double quotes;
 *  - `unquote` removes one pair of enclosing quotes (`""` inside stands for one `"`);
 *  - `splitCommaList` splits `a, b,c` into items, reporting empty items;
 *  - `oneWord` / `exactWords` check how many words a value has;
 *  - `checkHostname` validates a DNS name; `templateLeftover` recognises unfilled
 *    template placeholders (`{{x}}`, `__BLOCKS__`, `QQQip`, `${VAR}`) so that errors can say so.
 *
 * Invariant: every `ValueError.offset` is an index into the ORIGINAL `ValueInput.raw`, so
 * helpers take the offset of the piece they look at (`Piece.offset`) and add to it.
 */
import type { ValueError, ValueOk, ValueResult } from './types.js';

/** A piece of the raw value and where it starts in `ValueInput.raw`. */
export interface Piece {
  readonly text: string;
  readonly offset: number;
}

/** One word of a value as returned by `splitWords`. */
export interface WordToken extends Piece {
  /** The word contained a quoted part (its quotes are removed from `text`). */
  readonly quoted: boolean;
  /** Index in the raw text just after the word. */
  readonly end: number;
  /** A quote was opened and never closed (the word runs to the end of the text). */
  readonly unterminated?: boolean;
}

export function ok<T>(value: T, warnings?: readonly string[]): ValueOk<T> {
  return warnings !== undefined && warnings.length > 0 ? { ok: true, value, warnings } : { ok: true, value };
}

export function fail(message: string, expected: string, offset: number, text: string): ValueError {
  return { ok: false, message, expected, offset, text };
}

/** The error for an empty value. */
export function missing(expected: string, offset = 0): ValueError {
  return fail('missing value', expected, offset, '');
}

export function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === '\f' || ch === '\v';
}

/**
 * Split `raw` (from index `from`) into words separated by whitespace.
 *
 * A double quote opens a quoted part only at the start of a word or right after `=` (so that
 * `key="a b"` works) — anywhere else it is an ordinary character, because real passwords contain
 * `"`. Inside a quoted part `""` stands for one `"`. After the closing quote the word goes on
 * until whitespace (`"a"b` is the word `ab`). Offsets are indices into `raw`.
 */
export function splitWords(raw: string, from = 0): WordToken[] {
  const words: WordToken[] = [];
  let i = from;
  while (i < raw.length) {
    while (i < raw.length && isSpace(raw[i])) i++;
    if (i >= raw.length) break;
    const start = i;
    let text = '';
    let quoted = false;
    let unterminated = false;
    while (i < raw.length && !isSpace(raw[i])) {
      const opensQuote = raw[i] === '"' && (i === start || raw[i - 1] === '=');
      if (!opensQuote) {
        text += raw[i];
        i++;
        continue;
      }
      quoted = true;
      i++;
      let closed = false;
      while (i < raw.length) {
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        text += raw[i];
        i++;
      }
      if (!closed) unterminated = true;
    }
    words.push(unterminated ? { text, offset: start, end: i, quoted, unterminated } : { text, offset: start, end: i, quoted });
  }
  return words;
}

const FULLY_QUOTED = /^"((?:[^"]|"")*)"$/s;

/** `"a ""b"""` → `a "b"`; text that is not one quoted string comes back trimmed but otherwise unchanged. */
export function unquote(raw: string): string {
  const trimmed = raw.trim();
  const m = FULLY_QUOTED.exec(trimmed);
  return m ? m[1]!.replace(/""/g, '"') : trimmed;
}

/** The error for a quote opened and never closed, if any word has one. */
export function unterminatedQuote(words: readonly WordToken[], raw: string, expected: string): ValueError | undefined {
  const bad = words.find((w) => w.unterminated === true);
  if (!bad) return undefined;
  const quoteAt = raw.indexOf('"', bad.offset);
  return fail('unterminated quoted string: the closing " is missing', expected, quoteAt, raw.slice(quoteAt));
}

/** Where the text of a word starts inside `raw` (past an opening quote). */
export function wordPiece(word: WordToken, raw: string): Piece {
  return { text: word.text, offset: raw[word.offset] === '"' ? word.offset + 1 : word.offset };
}

/** The value must be exactly one word; returns it (unquoted) with its offset. */
export function oneWord(raw: string, expected: string): ValueResult<Piece> {
  const words = splitWords(raw);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  if (words.length === 0) return missing(expected);
  if (words.length > 1) return unexpectedWord(words[1]!, raw, expected);
  return ok(wordPiece(words[0]!, raw));
}

/** The value must be between `min` and `max` words; returns them. */
export function exactWords(raw: string, min: number, max: number, expected: string, what: readonly string[]): ValueResult<WordToken[]> {
  const words = splitWords(raw);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  if (words.length === 0) return missing(expected);
  if (words.length < min) {
    const end = raw.trimEnd().length;
    return fail(`missing ${what[words.length] ?? 'word'} after '${raw.trim()}'`, expected, end, '');
  }
  if (words.length > max) return unexpectedWord(words[max]!, raw, expected);
  return ok(words);
}

export function unexpectedWord(word: WordToken, raw: string, expected: string): ValueError {
  return fail(`unexpected '${raw.slice(word.offset).trim()}' after the value`, expected, word.offset, raw.slice(word.offset).trim());
}

/**
 * Split `text` (starting at raw offset `base`) at commas; spaces around commas are allowed and an
 * item may be written in double quotes (commas inside are then kept). Empty items are errors,
 * because they come from `a,,b` or from a trailing comma whose continuation line was lost.
 */
export function splitCommaList(text: string, base: number, expected: string): ValueResult<Piece[]> {
  const items: Piece[] = [];
  let i = 0;
  for (;;) {
    let start = i;
    while (start < text.length && isSpace(text[start])) start++;
    let j = start;
    if (text[j] === '"') {
      j++;
      while (j < text.length && !(text[j] === '"' && text[j + 1] !== '"')) j += text[j] === '"' ? 2 : 1;
      if (j >= text.length) return fail('unterminated quoted string: the closing " is missing', expected, base + start, text.slice(start));
      j++;
    }
    while (j < text.length && text[j] !== ',') j++;
    const itemText = text.slice(start, j).trimEnd();
    if (itemText === '') {
      const last = j >= text.length;
      if (last && items.length > 0) return fail('trailing comma: the list ends without an item', expected, base + i - 1, ',');
      return fail('empty item in the list (two commas in a row?)', expected, base + Math.min(j, text.length), text[j] ?? '');
    }
    const offset = itemText.startsWith('"') && FULLY_QUOTED.test(itemText) ? base + start + 1 : base + start;
    items.push({ text: unquote(itemText), offset });
    if (j >= text.length) return ok(items);
    i = j + 1;
  }
}

/** Each item of a comma list that contains whitespace is an error (`a b, c` is not two items). */
export function noSpacesInItems(items: readonly Piece[], expected: string): ValueError | undefined {
  for (const item of items) {
    const at = item.text.search(/\s/);
    if (at >= 0) {
      return fail(`'${item.text}' contains a space; separate list items with commas`, expected, item.offset + at, item.text);
    }
  }
  return undefined;
}

/**
 * Why `text` looks like an unfilled template placeholder, or undefined. Published configs contain
 * `{{#each}}` (cut to `{{` by the comment rule), `__BLOCKS__`, `QQQip` and shell `${VAR}`s.
 */
export function templateLeftover(text: string): string | undefined {
  if (text.includes('{{') || text.includes('}}')) return 'it looks like a template placeholder ({{…}}) that was never filled in';
  if (/^__[A-Za-z0-9_]+__$/.test(text)) return 'it looks like a template placeholder (__NAME__) that was never filled in';
  if (/QQQ/.test(text)) return 'it looks like a template placeholder (QQQ…) that was never filled in';
  if (/^\$\{/.test(text)) return 'it looks like a shell variable that was never expanded';
  return undefined;
}

/** Like `templateLeftover`, but a leading `$` also counts: `$name` is a macro only in domain patterns. */
export function templateOrVariable(text: string): string | undefined {
  const leftover = templateLeftover(text);
  if (leftover) return leftover;
  if (/^\$[A-Za-z_]/.test(text)) return "it looks like a shell variable or a $macro, and macros are only allowed in domain patterns";
  return undefined;
}

/** `'msg'` or `'msg (hint)'`. */
export function withHint(message: string, hint: string | undefined): string {
  return hint ? `${message} (${hint})` : message;
}

/** The problem with `name` as a DNS host name: where it is and what it is, or undefined. */
export function checkHostname(name: string): { readonly index: number; readonly message: string } | undefined {
  if (name === '') return { index: 0, message: 'empty host name' };
  if (name.length > 253) return { index: 253, message: 'host name longer than 253 characters' };
  const leftover = templateLeftover(name);
  if (leftover) return { index: 0, message: withHint(`'${name}' is not a host name`, leftover) };
  let labelStart = 0;
  const body = name.endsWith('.') ? name.slice(0, -1) : name;
  for (const label of body.split('.')) {
    if (label === '') return { index: labelStart, message: `empty label in '${name}' (two dots in a row?)` };
    if (label.length > 63) return { index: labelStart, message: `label '${label}' is longer than 63 characters` };
    // Underscores are not valid in host names but real configs use them in service names; allow them.
    const bad = label.search(/[^\p{L}\p{N}_-]/u);
    if (bad >= 0) return { index: labelStart + bad, message: `'${label[bad]}' is not allowed in a host name` };
    if (label.startsWith('-') || label.endsWith('-')) {
      return { index: labelStart + (label.startsWith('-') ? 0 : label.length - 1), message: `label '${label}' starts or ends with '-'` };
    }
    labelStart += label.length + 1;
  }
  return undefined;
}

/** `text` without one trailing dot, lower-cased: the form domains are compared in. */
export function normalizeDomain(text: string): string {
  return (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();
}
