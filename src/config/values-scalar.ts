/**
 * @module config/values-scalar
 *
 * Parsers for the one-piece value types: `bool`, `int`, `int-unlimited`, `size`, `word`, `enum`,
 * `path`, `include`, `string`, `string-list` and `free`; plus `readSize` (shared with data rates).
 *
 * Single-word values may be written in double quotes (`queue-to "hotmail.queue"`); the quotes
 * are removed before the value is read.
 */
import type { ValueInput, ValueResult } from './types.js';
import { EXPECTED } from './values-expected.js';
import {
  fail,
  missing,
  ok,
  oneWord,
  splitCommaList,
  splitWords,
  templateLeftover,
  templateOrVariable,
  unterminatedQuote,
  withHint,
} from './values-common.js';
import type { Piece } from './values-common.js';

// ---- bool -------------------------------------------------------------------

const BOOL_WORDS: Readonly<Record<string, boolean>> = { yes: true, true: true, no: false, false: false };

/** `yes`/`no`/`true`/`false`, any case. `on`/`off`/`1`/`0` are refused: PowerMTA configs never use them. */
export function parseBool(input: ValueInput): ValueResult<boolean> {
  const expected = EXPECTED.bool;
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const { text, offset } = word.value;
  const value = BOOL_WORDS[text.toLowerCase()];
  if (value !== undefined) return ok(value);
  const lower = text.toLowerCase();
  const guess = lower === 'on' || lower === '1' || lower === 'enable' || lower === 'enabled' ? 'yes' : lower === 'off' || lower === '0' || lower === 'disable' || lower === 'disabled' ? 'no' : undefined;
  const message = guess ? `'${text}' is not a PowerMTA boolean; write '${guess}'` : `'${text}' is not a boolean`;
  return fail(message, expected, offset, text);
}

// ---- integers ---------------------------------------------------------------

/** Read a non-negative whole number from a piece, with an error that names what is wrong. */
export function readInt(piece: Piece, expected: string): ValueResult<number> {
  const { text, offset } = piece;
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) return fail(`${text} is too large`, expected, offset, text);
    return ok(value);
  }
  if (/^-\d+$/.test(text)) return fail(`negative numbers are not allowed: '${text}'`, expected, offset, text);
  if (/^\d+\.\d*$/.test(text)) return fail(`'${text}' is not a whole number`, expected, offset, text);
  const firstBad = text.search(/\D/);
  if (firstBad > 0) {
    return fail(`unexpected '${text.slice(firstBad)}' after the number ${text.slice(0, firstBad)}`, expected, offset + firstBad, text.slice(firstBad));
  }
  return fail(withHint(`'${text}' is not a number`, templateOrVariable(text)), expected, offset, text);
}

export function parseInteger(input: ValueInput): ValueResult<number> {
  const word = oneWord(input.raw, EXPECTED.int);
  return word.ok ? readInt(word.value, EXPECTED.int) : word;
}

/** A whole number or `unlimited` (→ Infinity). */
export function parseIntUnlimited(input: ValueInput): ValueResult<number> {
  const expected = EXPECTED['int-unlimited'];
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  if (word.value.text.toLowerCase() === 'unlimited') return ok(Infinity);
  return readInt(word.value, expected);
}

// ---- sizes ------------------------------------------------------------------

/** Binary multiples, as PowerMTA means them: K = 1024. `b` (bytes) is used in data rates. */
const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `100K`, `50m`, `1G`, `2T`, `123`, `10b` → bytes. Fractions (`1.5G`) and `KB`-style units are refused. */
export function readSize(piece: Piece, expected: string): ValueResult<number> {
  const { text, offset } = piece;
  const m = /^(\d+)([a-z]*)$/i.exec(text);
  if (!m) {
    if (/^\d+\.\d+[a-z]*$/i.test(text)) return fail(`fractions are not allowed in sizes: '${text}'`, expected, offset, text);
    if (text.startsWith('-')) return fail(`negative sizes are not allowed: '${text}'`, expected, offset, text);
    return fail(withHint(`'${text}' is not a size`, templateOrVariable(text)), expected, offset, text);
  }
  const digits = m[1]!;
  const unit = m[2]!;
  const factor = SIZE_UNITS[unit.toLowerCase()];
  if (factor === undefined) {
    const hint = /^[kmgt]b$/i.test(unit) ? `; write ${digits}${unit[0]!.toUpperCase()}` : '';
    return fail(`unknown size unit '${unit}' (use K, M, G or T)${hint}`, expected, offset + digits.length, unit);
  }
  const value = Number(digits) * factor;
  if (!Number.isSafeInteger(value)) return fail(`${text} is too large`, expected, offset, text);
  return ok(value);
}

/** A size in bytes; `unlimited` → Infinity. */
export function parseSize(input: ValueInput): ValueResult<number> {
  const word = oneWord(input.raw, EXPECTED.size);
  if (!word.ok) return word;
  if (word.value.text.toLowerCase() === 'unlimited') return ok(Infinity);
  return readSize(word.value, EXPECTED.size);
}

// ---- words ------------------------------------------------------------------

/** One word: no spaces (even when quoted), and nothing that looks like an unfilled template. */
export function parseWord(input: ValueInput): ValueResult<string> {
  const expected = EXPECTED.word;
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const { text, offset } = word.value;
  if (text === '') return missing(expected, offset);
  const space = text.search(/\s/);
  if (space >= 0) return fail(`'${text}' contains a space; a single word is expected`, expected, offset + space, text);
  const leftover = templateOrVariable(text);
  if (leftover) return fail(withHint(`'${text}' is not a usable name`, leftover), expected, offset, text);
  return ok(text);
}

/** One of `input.enumValues`, any case; the result is spelled as the table spells it. */
export function parseEnum(input: ValueInput): ValueResult<string> {
  const allowed = input.enumValues ?? [];
  const expected = allowed.length > 0 ? `one of ${allowed.join(', ')}` : EXPECTED.enum;
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const { text, offset } = word.value;
  const found = allowed.find((v) => v.toLowerCase() === text.toLowerCase());
  if (found !== undefined) return ok(found);
  if (allowed.length === 0) return fail(`'${input.directive}' has no list of allowed values (a bug in the directive table)`, expected, offset, text);
  return fail(withHint(`'${text}' is not one of the allowed values`, templateLeftover(text)), expected, offset, text);
}

/** A path: one word, quotes allowed (for spaces). Existence is the loader's business. */
export function parsePath(input: ValueInput): ValueResult<string> {
  const expected = EXPECTED.path;
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const { text, offset } = word.value;
  if (text === '') return missing(expected, offset);
  if (text.includes('\0')) return fail('a path cannot contain a NUL character', expected, offset + text.indexOf('\0'), text);
  const leftover = templateLeftover(text);
  if (leftover) return fail(withHint(`'${text}' is not a usable path`, leftover), expected, offset, text);
  return ok(text);
}

/** `include` is expanded by the parser; this only checks that a single path, glob or URL is given. */
export function parseInclude(input: ValueInput): ValueResult<string> {
  const result = parsePath(input);
  return result.ok ? result : { ...result, expected: EXPECTED.include };
}

/**
 * The rest of the line with quoted parts unquoted (`"a ""quoted"" word"` → `a "quoted" word`) and
 * the spacing between words kept as written. `""` alone → '' (clears an inherited value).
 */
export function parseString(input: ValueInput): ValueResult<string> {
  const expected = EXPECTED.string;
  const raw = input.raw;
  const words = splitWords(raw);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  if (words.length === 0) return fail('missing value; write "" for an empty value', expected, 0, '');
  let text = '';
  for (let i = 0; i < words.length; i++) {
    if (i > 0) text += raw.slice(words[i - 1]!.end, words[i]!.offset);
    text += words[i]!.text;
  }
  const leftover = templateLeftover(text);
  return ok(text, leftover ? [`'${text}': ${leftover}`] : undefined);
}

/** A comma list of strings; items may be quoted; `""` alone → [] (clears an inherited list). */
export function parseStringList(input: ValueInput): ValueResult<string[]> {
  const expected = EXPECTED['string-list'];
  const raw = input.raw;
  if (raw.trim() === '') return fail('missing value; write "" for an empty list', expected, 0, '');
  if (raw.trim() === '""') return ok([]);
  const items = splitCommaList(raw, 0, expected);
  return items.ok ? ok(items.value.map((item) => item.text)) : items;
}

/** Text Petrel does not interpret (yet): returned trimmed, as written. */
export function parseFree(input: ValueInput): ValueResult<string> {
  return ok(input.raw.trim());
}
