/**
 * @module config/values-rules
 *
 * Parsers for the multi-part list entries: `pattern-rule`, `header-pattern-rule`,
 * `category-rule` (regex plus what to do), `record-fields`, `map-header-to-field`
 * (accounting files), `rewrite-rule` and `pickup`.
 *
 * Actions after a pattern are bare words (`bounce-queue`) or `key=value` pairs
 * (`virtual-mta=pool1`, `mode=backoff`, `reenable-after=1h`); keys are lower-cased, values kept
 * as written (a value may be quoted: `key="a b"`).
 */
import type {
  CategoryRule,
  HeaderPatternRule,
  MapHeaderToField,
  PatternAction,
  PatternRule,
  Pickup,
  RecordFields,
  RewriteRule,
  ValueInput,
  ValueResult,
} from './types.js';
import { EXPECTED } from './values-expected.js';
import {
  exactWords,
  fail,
  isSpace,
  ok,
  splitCommaList,
  splitWords,
  templateLeftover,
  unterminatedQuote,
  withHint,
  wordPiece,
} from './values-common.js';
import type { WordToken } from './values-common.js';
import { readRegexAt } from './values-regex.js';
import type { FoundRegex } from './values-regex.js';

const ACTION_KEY = /^[a-z0-9][a-z0-9_-]*$/i;
/** A header field name (RFC 5322 §3.6.8: printable ASCII except colon). */
const HEADER_NAME = /^[!-9;-~]+$/;
const CATEGORY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const FIELD = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Record types PowerMTA writes; others are accepted with a warning (the list is not official). */
const RECORD_TYPES = ['d', 'b', 't', 'tq', 'f', 'r', 'rb', 'rs', 'feedback-loop'];

function skipSpaces(raw: string, from: number): number {
  let i = from;
  while (i < raw.length && isSpace(raw[i])) i++;
  return i;
}

function readActions(words: readonly WordToken[], expected: string): ValueResult<PatternAction[]> {
  const actions: PatternAction[] = [];
  for (const word of words) {
    const eq = word.text.indexOf('=');
    const key = (eq < 0 ? word.text : word.text.slice(0, eq)).toLowerCase();
    if (!ACTION_KEY.test(key)) {
      return fail(withHint(`'${word.text}' is not an action (a word such as bounce-queue, or key=value)`, templateLeftover(word.text)), expected, word.offset, word.text);
    }
    if (eq < 0) {
      actions.push({ key });
      continue;
    }
    const value = word.text.slice(eq + 1);
    if (value === '' && !word.quoted) return fail(`the action '${key}=' has no value`, expected, word.offset + eq + 1, word.text);
    actions.push({ key, value });
  }
  return ok(actions);
}

/** The regex at `start`, then at least one action. */
function readRuleTail(raw: string, start: number, expected: string): ValueResult<{ found: FoundRegex; actions: PatternAction[] }> {
  const found = readRegexAt(raw, start, expected);
  if (!found.ok) return found;
  const words = splitWords(raw, found.value.end);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  if (words.length === 0) return fail(`the pattern ${found.value.source} has no action after it`, expected, raw.trimEnd().length, '');
  const actions = readActions(words, expected);
  return actions.ok ? ok({ found: found.value, actions: actions.value }) : actions;
}

/** `/re/ virtual-mta=X`, `/re/ mode=backoff`, `/re/ bounce-queue`, `/re/ disable-source-ip reenable-after=1h`. */
export function parsePatternRule(input: ValueInput): ValueResult<PatternRule> {
  const expected = EXPECTED['pattern-rule'];
  const start = skipSpaces(input.raw, 0);
  if (start >= input.raw.length) return fail('missing value', expected, 0, '');
  const tail = readRuleTail(input.raw, start, expected);
  if (!tail.ok) return tail;
  const { found, actions } = tail.value;
  return ok({ regex: found.regex, source: found.source, actions }, found.warnings);
}

/** `X-Header /re/ virtual-mta=X` (pattern-list `header` entries). */
export function parseHeaderPatternRule(input: ValueInput): ValueResult<HeaderPatternRule> {
  const expected = EXPECTED['header-pattern-rule'];
  const raw = input.raw;
  const first = splitWords(raw)[0];
  if (first === undefined) return fail('missing value', expected, 0, '');
  if (first.text.startsWith('/')) return fail('the header name is missing before the pattern', expected, first.offset, first.text);
  const header = first.text.endsWith(':') ? first.text.slice(0, -1) : first.text;
  if (!HEADER_NAME.test(header)) return fail(`'${first.text}' is not a header name`, expected, first.offset, first.text);
  const start = skipSpaces(raw, first.end);
  if (start >= raw.length) return fail(`the header ${header} has no pattern after it`, expected, first.end, '');
  const tail = readRuleTail(raw, start, expected);
  if (!tail.ok) return tail;
  const { found, actions } = tail.value;
  return ok({ header, regex: found.regex, source: found.source, actions }, found.warnings);
}

/** `/re/ category` (a `<bounce-category-patterns>` line); category names are free-form words. */
export function parseCategoryRule(input: ValueInput): ValueResult<CategoryRule> {
  const expected = EXPECTED['category-rule'];
  const raw = input.raw;
  const start = skipSpaces(raw, 0);
  if (start >= raw.length) return fail('missing value', expected, 0, '');
  const found = readRegexAt(raw, start, expected);
  if (!found.ok) return found;
  const words = splitWords(raw, found.value.end);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  const category = words[0];
  if (category === undefined) return fail(`the pattern ${found.value.source} has no category after it`, expected, raw.trimEnd().length, '');
  if (!CATEGORY.test(category.text)) return fail(`'${category.text}' is not a category name`, expected, category.offset, category.text);
  const extra = words[1];
  if (extra !== undefined) {
    return fail(`unexpected '${raw.slice(extra.offset).trim()}' after the category ${category.text}`, expected, extra.offset, raw.slice(extra.offset).trim());
  }
  return ok({ regex: found.value.regex, source: found.value.source, category: category.text }, found.value.warnings);
}

/** The record type of an accounting directive, with a warning when it is not a known one. */
function readRecordType(word: WordToken, expected: string): ValueResult<string> {
  const type = word.text.toLowerCase();
  if (!/^[a-z][a-z-]*$/.test(type)) {
    return fail(withHint(`'${word.text}' is not a record type (${RECORD_TYPES.join(', ')})`, templateLeftover(word.text)), expected, word.offset, word.text);
  }
  return RECORD_TYPES.includes(type) ? ok(type) : ok(type, [`'${word.text}' is not a known record type (${RECORD_TYPES.join(', ')})`]);
}

/** `d timeLogged,rcpt,header_X-Job,!dsnDiag` or `d *,header_Subject`. Fields kept as written. */
export function parseRecordFields(input: ValueInput): ValueResult<RecordFields> {
  const expected = EXPECTED['record-fields'];
  const raw = input.raw;
  const typeWord = splitWords(raw)[0];
  if (typeWord === undefined) return fail('missing value', expected, 0, '');
  const type = readRecordType(typeWord, expected);
  if (!type.ok) return type;
  if (skipSpaces(raw, typeWord.end) >= raw.length) return fail(`the record type ${typeWord.text} has no field list after it`, expected, typeWord.end, '');
  const items = splitCommaList(raw.slice(typeWord.end), typeWord.end, expected);
  if (!items.ok) return items;
  const fields: string[] = [];
  for (const item of items.value) {
    const name = item.text.startsWith('!') ? item.text.slice(1) : item.text;
    const isHeader = /^header_/i.test(name);
    const valid = name === '*' ? !item.text.startsWith('!') : isHeader ? HEADER_NAME.test(name.slice(7)) : FIELD.test(name);
    if (!valid) {
      const why = item.text === '!*' ? "'!*' cannot exclude every field" : `'${item.text}' is not a field name`;
      return fail(withHint(why, templateLeftover(item.text)), expected, item.offset, item.text);
    }
    fields.push(item.text);
  }
  return ok({ type: type.value, fields }, type.warnings);
}

/** `f header_X-HmXmrOriginalRecipient rcpt` → {type, header (without header_), field}. */
export function parseMapHeaderToField(input: ValueInput): ValueResult<MapHeaderToField> {
  const expected = EXPECTED['map-header-to-field'];
  const raw = input.raw;
  const words = exactWords(raw, 3, 3, expected, ['record type', 'header_NAME', 'field name']);
  if (!words.ok) return words;
  const [typeWord, headerWord, fieldWord] = words.value as [WordToken, WordToken, WordToken];
  const type = readRecordType(typeWord, expected);
  if (!type.ok) return type;
  const header = /^header_(.+)$/i.exec(headerWord.text)?.[1];
  if (header === undefined || !HEADER_NAME.test(header)) {
    return fail(`'${headerWord.text}' must be written header_NAME, e.g. header_X-Original-To`, expected, headerWord.offset, headerWord.text);
  }
  if (!FIELD.test(fieldWord.text)) return fail(`'${fieldWord.text}' is not a field name`, expected, fieldWord.offset, fieldWord.text);
  return ok({ type: type.value, header, field: fieldWord.text }, type.warnings);
}

/** `*@a.com *@bounces.a.com` → {from, to}. */
export function parseRewriteRule(input: ValueInput): ValueResult<RewriteRule> {
  const expected = EXPECTED['rewrite-rule'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 2, expected, ['pattern', 'replacement']);
  if (!words.ok) return words;
  const from = wordPiece(words.value[0]!, raw);
  const to = wordPiece(words.value[1]!, raw);
  for (const piece of [from, to]) {
    const leftover = templateLeftover(piece.text);
    if (leftover || piece.text === '') return fail(withHint(`'${piece.text}' is not an address pattern`, leftover), expected, piece.offset, piece.text);
  }
  if (to.text.includes('*') && !from.text.includes('*')) {
    return fail(`the replacement '${to.text}' uses * but the pattern '${from.text}' has none to fill it`, expected, to.offset + to.text.indexOf('*'), to.text);
  }
  return ok({ from: from.text, to: to.text });
}

/** `DIR [BADDIR]`. */
export function parsePickup(input: ValueInput): ValueResult<Pickup> {
  const expected = EXPECTED.pickup;
  const raw = input.raw;
  const words = exactWords(raw, 1, 2, expected, ['directory']);
  if (!words.ok) return words;
  for (const word of words.value) {
    const piece = wordPiece(word, raw);
    const leftover = templateLeftover(piece.text);
    if (leftover || piece.text === '') return fail(withHint(`'${piece.text}' is not a usable directory`, leftover), expected, piece.offset, piece.text);
  }
  const [dir, badDir] = words.value;
  return ok(badDir === undefined ? { dir: dir!.text } : { dir: dir!.text, badDir: badDir.text });
}
