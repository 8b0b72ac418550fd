/**
 * @module config/values-regex
 *
 * PowerMTA's Perl-style `/re/flags` patterns, translated to JavaScript RegExps:
 *  - `parsePerlRegex(text)`: the whole text is one `/re/flags` → RegExp;
 *  - `readRegexAt(raw, start, expected)`: a pattern at `raw[start]` followed by more words
 *    (pattern rules), returning where it ends;
 *  - `parseRegex`: the `regex` value type.
 *
 * Contract: a pattern either translates to a RegExp that matches exactly what Perl would match on
 * single-line input, or is refused with an error naming the construct. Nothing is dropped quietly.
 *
 * Translation rules:
 *  - Patterns are case-insensitive (PowerMTA v5 guide) unless `(?-i)` opens the pattern.
 *    Leading `(?i)`, `(?-i)`, `(?m)`, `(?s)` (and combinations such as `(?s-i)`) set the flags of
 *    the whole pattern; trailing `/i`, `/m`, `/s` too (a leading inline modifier wins, as in Perl).
 *  - Modifiers later in the pattern (`a(?-i)b`, `(?i:…)`) cannot be expressed in Node 20's
 *    RegExp; they are refused, except when they change nothing (`(?i)` in a pattern that is
 *    case-insensitive anyway), which is accepted with a warning.
 *  - `\A` → `^`; `\z` → `$` (a JavaScript `$` without the m flag matches only at the very end,
 *    which is exactly `\z`); `\Z` (end, or before a final newline) → `(?=\n?$)`. With the m flag
 *    the three become look-arounds that still mean "start/end of the whole text".
 *    XXX: Perl's plain `$` also matches before a final newline; it is kept as `$` because the
 *    texts matched (addresses, reply lines) never end with a newline.
 *  - `.` → `[^\n]` (Perl's dot excludes only `\n`; JavaScript's also excludes `\r`, U+2028/9).
 *  - `(?#comment)` is removed; `(?P<n>…)` / `(?'n'…)` → `(?<n>…)`; `(?P=n)`, `\k{n}`, `\g{n}` → `\k<n>`.
 *  - `\Q…\E` is translated by escaping the literal text between them.
 *  - POSIX classes inside brackets (`[[:alpha:]]`) become ASCII ranges; a leading `]` in a
 *    class is literal, as in Perl (`[]a]`).
 *  - `\h`, `\v`, `\R`, `\N`, `\e`, `\a`, `\x{…}`, one-digit `\x9` are rewritten to their meaning.
 *  - Refused: possessive quantifiers (`a++`), atomic groups `(?>…)`, recursion `(?R)` `(?1)`
 *    `(?&n)`, conditionals `(?(1)…)`, branch reset `(?|…)`, code `(?{…})`, verbs `(*SKIP)`,
 *    `\G`, `\K`, `\p{…}`, `\X`, case escapes `\u \l \U \L`, relative back-references `\g{-1}`,
 *    negated POSIX classes, the `x` flag.
 * `//` is the empty pattern, which matches everything (the catch-all of bounce categories).
 */
import type { AddressPattern, ValueInput, ValueResult } from './types.js';
import { EXPECTED } from './values-expected.js';
import { fail, isSpace, ok } from './values-common.js';
import { parseEmail } from './values-domain.js';

interface Flags {
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
}

/** A regex found in a value: the RegExp, its text as written, and the index just after it. */
export interface FoundRegex {
  readonly regex: RegExp;
  readonly source: string;
  readonly end: number;
  readonly warnings: readonly string[];
}

/** Horizontal and vertical white space as Perl defines `\h` and `\v` (class contents, no brackets). */
const H_SPACE = '\\t \\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000';
const V_SPACE = '\\n\\x0B\\f\\r\\x85\\u2028\\u2029';

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  cntrl: '\\x00-\\x1F\\x7F',
  print: '\\x20-\\x7E',
  graph: '\\x21-\\x7E',
  ascii: '\\x00-\\x7F',
};

/** Characters that must be escaped to be literal in a JavaScript pattern. */
const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

/** The index of the closing `/` of a pattern whose body starts at `from`, or -1. */
function findClosingSlash(raw: string, from: number): number {
  let i = from;
  let inClass = false;
  let classStart = -1;
  while (i < raw.length) {
    const ch = raw[i]!;
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (inClass) {
      const posix = /^\[([:=.])\^?[a-z]*\1\]/.exec(raw.slice(i));
      if (posix) {
        i += posix[0].length;
        continue;
      }
      // A `]` right after `[` or `[^` is a literal member, as in Perl.
      if (ch === ']' && !(i === classStart + 1 || (i === classStart + 2 && raw[classStart + 1] === '^'))) inClass = false;
    } else if (ch === '[') {
      inClass = true;
      classStart = i;
    } else if (ch === '/') {
      return i;
    }
    i++;
  }
  return -1;
}

/** Read `/re/flags` at `raw[start]`; the pattern must be followed by white space or the end. */
export function readRegexAt(raw: string, start: number, expected: string): ValueResult<FoundRegex> {
  if (raw[start] !== '/') {
    const word = raw.slice(start).split(/\s/)[0] ?? '';
    return fail(`a pattern must be written between slashes, e.g. /${word || 'text'}/; found '${word}'`, expected, start, word);
  }
  const close = findClosingSlash(raw, start + 1);
  if (close < 0) {
    const hint = ' (if the pattern contained a #, the rest of the line became a comment: write \\x23 for a literal #)';
    return fail(`the pattern has no closing /${hint}`, expected, start, raw.slice(start));
  }
  let end = close + 1;
  while (end < raw.length && /[a-z]/i.test(raw[end]!)) end++;
  if (end < raw.length && !isSpace(raw[end])) {
    return fail(`unexpected '${raw[end]}' right after the pattern /${raw.slice(start + 1, close)}/ (write \\/ for a / inside the pattern)`, expected, end, raw.slice(end).split(/\s/)[0]!);
  }
  const source = raw.slice(start, end);
  const translated = translate(raw.slice(start + 1, close), start + 1, raw.slice(close + 1, end), close + 1, expected);
  if (!translated.ok) return translated;
  const { pattern, flags, warnings } = translated.value;
  try {
    return ok({ regex: new RegExp(pattern, flags), source, end, warnings });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail(`JavaScript cannot compile the pattern: ${reason}`, expected, start, source);
  }
}

/** The whole of `text` is one `/re/flags` pattern (surrounding white space allowed). */
export function parsePerlRegex(text: string, expected: string = EXPECTED.regex): ValueResult<RegExp> {
  let start = 0;
  while (start < text.length && isSpace(text[start])) start++;
  if (start >= text.length) return fail('missing pattern', expected, start, '');
  const found = readRegexAt(text, start, expected);
  if (!found.ok) return found;
  let rest = found.value.end;
  while (rest < text.length && isSpace(text[rest])) rest++;
  if (rest < text.length) return fail(`unexpected '${text.slice(rest)}' after the pattern`, expected, rest, text.slice(rest));
  return ok(found.value.regex, found.value.warnings);
}

export function parseRegex(input: ValueInput): ValueResult<RegExp> {
  return parsePerlRegex(input.raw);
}

// ---- translation -------------------------------------------------------------------

interface Translated {
  readonly pattern: string;
  readonly flags: string;
  readonly warnings: string[];
}

/** Apply modifier letters to `flags`; returns the offending letter if one is not supported. */
function applyModifiers(flags: Flags, on: string, off: string): string | undefined {
  for (const [letters, value] of [[on, true], [off, false]] as const) {
    for (const letter of letters) {
      if (letter === 'i') flags.ignoreCase = value;
      else if (letter === 'm') flags.multiline = value;
      else if (letter === 's') flags.dotAll = value;
      else return letter;
    }
  }
  return undefined;
}

function unsupportedModifier(letter: string): string {
  return letter === 'x'
    ? 'the x (extended) modifier is not supported: remove the spaces from the pattern and the x'
    : `the modifier '${letter}' is not supported (only i, m and s are)`;
}

/** `body` starts at raw offset `at`; `trailing` (the flags after the closing /) at `flagsAt`. */
function translate(body: string, at: number, trailing: string, flagsAt: number, expected: string): ValueResult<Translated> {
  const flags: Flags = { ignoreCase: true, multiline: false, dotAll: false };
  const warnings: string[] = [];
  const refuse = (index: number, length: number, message: string) => fail(message, expected, at + index, body.slice(index, index + length));

  for (let k = 0; k < trailing.length; k++) {
    const bad = applyModifiers(flags, trailing[k]!, '');
    if (bad !== undefined) return fail(unsupportedModifier(bad), expected, flagsAt + k, bad);
  }

  // Leading inline modifiers set the flags of the whole pattern.
  let i = 0;
  for (let m = /^\(\?([a-z]*)(?:-([a-z]*))?\)/.exec(body); m; m = /^\(\?([a-z]*)(?:-([a-z]*))?\)/.exec(body.slice(i))) {
    const bad = applyModifiers(flags, m[1]!, m[2] ?? '');
    if (bad !== undefined) return refuse(i, m[0].length, unsupportedModifier(bad));
    i += m[0].length;
  }

  let out = '';
  while (i < body.length) {
    const ch = body[i]!;
    const rest = body.slice(i);
    if (ch === '\\') {
      const escape = translateEscape(body, i, false, flags, refuse);
      if (!escape.ok) return escape;
      out += escape.value.text;
      i += escape.value.length;
    } else if (ch === '[') {
      const cls = translateClass(body, i, flags, refuse);
      if (!cls.ok) return cls;
      out += cls.value.text;
      i += cls.value.length;
    } else if (ch === '(') {
      const group = translateGroup(rest, i, flags, refuse, warnings);
      if (!group.ok) return group;
      out += group.value.text;
      i += group.value.length;
      continue; // a group opening is never followed by a quantifier check
    } else if (ch === '.') {
      out += flags.dotAll ? '.' : '[^\\n]';
      i++;
    } else if (ch === '*' || ch === '+' || ch === '?' || /^\{\d+(,\d*)?\}/.test(rest)) {
      const quantifier = ch === '{' ? /^\{\d+(,\d*)?\}/.exec(rest)![0] : ch;
      out += quantifier;
      i += quantifier.length;
      if (body[i] === '?') {
        out += '?';
        i++;
      } else if (body[i] === '+') {
        return refuse(i - quantifier.length, quantifier.length + 1, `the possessive quantifier '${quantifier}+' is not supported in JavaScript`);
      }
    } else if (ch === '{') {
      out += '\\{'; // a literal brace in Perl; escaped so JavaScript cannot read it as a quantifier
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  const jsFlags = (flags.ignoreCase ? 'i' : '') + (flags.multiline ? 'm' : '') + (flags.dotAll ? 's' : '');
  return ok({ pattern: out, flags: jsFlags, warnings });
}

type Refuse = (index: number, length: number, message: string) => ValueResult<never>;

interface Chunk {
  readonly text: string;
  readonly length: number;
}

/** `body[i]` is a backslash: translate the escape that starts there. */
function translateEscape(body: string, i: number, inClass: boolean, flags: Flags, refuse: Refuse): ValueResult<Chunk> {
  const c = body[i + 1];
  const same = (length = 2): ValueResult<Chunk> => ok({ text: body.slice(i, i + length), length });
  const as = (text: string, length = 2): ValueResult<Chunk> => ok({ text, length });
  const notInClass = (): ValueResult<Chunk> => refuse(i, 2, `\\${c} is not allowed inside a character class`);
  switch (c) {
    case undefined:
      return refuse(i, 1, 'the pattern ends with a lone backslash');
    case 'A':
      return inClass ? notInClass() : as(flags.multiline ? '(?<![\\s\\S])' : '^');
    case 'z':
      return inClass ? notInClass() : as(flags.multiline ? '(?![\\s\\S])' : '$');
    case 'Z':
      return inClass ? notInClass() : as(flags.multiline ? '(?=\\n?(?![\\s\\S]))' : '(?=\\n?$)');
    case 'G':
      return refuse(i, 2, '\\G (continue where the previous match ended) has no JavaScript equivalent');
    case 'K':
      return refuse(i, 2, '\\K (keep the text matched so far out of the match) has no JavaScript equivalent');
    case 'p':
    case 'P':
    case 'X':
      return refuse(i, 2, `the Unicode escape \\${c} is not supported`);
    case 'l':
    case 'u':
    case 'L':
    case 'U':
      return refuse(i, 2, `the case-changing escape \\${c} is not supported`);
    case 'C':
      return refuse(i, 2, '\\C (a single byte) is not supported');
    case 'Q': {
      const stop = body.indexOf('\\E', i + 2);
      const literal = body.slice(i + 2, stop < 0 ? body.length : stop);
      return as(literal.replace(REGEX_SPECIAL, '\\$&'), (stop < 0 ? body.length : stop + 2) - i);
    }
    case 'E':
      return as(''); // a \E without \Q: Perl ignores it
    case 'h':
      return as(inClass ? H_SPACE : `[${H_SPACE}]`);
    case 'v':
      return as(inClass ? V_SPACE : `[${V_SPACE}]`);
    case 'H':
      return inClass ? refuse(i, 2, '\\H inside a character class is not supported') : as(`[^${H_SPACE}]`);
    case 'V':
      return inClass ? refuse(i, 2, '\\V inside a character class is not supported') : as(`[^${V_SPACE}]`);
    case 'R':
      return inClass ? notInClass() : as(`(?:\\r\\n|[${V_SPACE}])`);
    case 'N':
      if (body[i + 2] === '{') return refuse(i, 3, 'named characters \\N{…} are not supported');
      return inClass ? notInClass() : as('[^\\n]');
    case 'e':
      return as('\\x1B');
    case 'a':
      return as('\\x07');
    case 'o':
      return body[i + 2] === '{' ? refuse(i, 3, 'octal escapes \\o{…} are not supported; write \\x..') : same();
    case 'x': {
      if (body[i + 2] === '{') {
        const m = /^\\x\{([0-9a-fA-F]{1,6})\}/.exec(body.slice(i));
        if (!m) return refuse(i, 3, 'malformed \\x{…} escape');
        const code = parseInt(m[1]!, 16);
        if (code > 0xffff) return refuse(i, m[0].length, `\\x{${m[1]}} is beyond U+FFFF and not supported`);
        return as(`\\u${code.toString(16).toUpperCase().padStart(4, '0')}`, m[0].length);
      }
      // Perl reads up to two hex digits (`\x9` is a tab); JavaScript needs exactly two.
      const digits = /^[0-9a-fA-F]{0,2}/.exec(body.slice(i + 2))![0];
      return as(`\\x${digits.padStart(2, '0')}`, 2 + digits.length);
    }
    case 'g': {
      const m = /^\\g(?:\{(-?\d+|[A-Za-z_]\w*)\}|(-?\d+))/.exec(body.slice(i));
      if (!m) return refuse(i, 2, 'malformed \\g back-reference');
      const ref = m[1] ?? m[2]!;
      if (ref.startsWith('-')) return refuse(i, m[0].length, `the relative back-reference ${m[0]} is not supported; use the group number`);
      return as(/^\d/.test(ref) ? `\\${ref}` : `\\k<${ref}>`, m[0].length);
    }
    case 'k': {
      const m = /^\\k(?:<(\w+)>|\{(\w+)\}|'(\w+)')/.exec(body.slice(i));
      if (!m) return refuse(i, 2, 'malformed \\k back-reference');
      return as(`\\k<${m[1] ?? m[2] ?? m[3]}>`, m[0].length);
    }
    default:
      return same();
  }
}

/** `body[i]` is `[`: translate the whole character class. */
function translateClass(body: string, i: number, flags: Flags, refuse: Refuse): ValueResult<Chunk> {
  let j = i + 1;
  let out = '[';
  if (body[j] === '^') {
    out += '^';
    j++;
  }
  if (body[j] === ']') {
    out += '\\]'; // literal in Perl; an empty class in JavaScript
    j++;
  }
  while (j < body.length && body[j] !== ']') {
    const posix = /^\[([:=.])(\^?)([a-z]*)\1\]/.exec(body.slice(j));
    if (posix) {
      const contents = posix[1] === ':' ? POSIX_CLASSES[posix[3]!] : undefined;
      if (posix[2] === '^') return refuse(j, posix[0].length, `the negated POSIX class ${posix[0]} is not supported`);
      if (contents === undefined) return refuse(j, posix[0].length, `the POSIX class ${posix[0]} is not supported`);
      out += contents;
      j += posix[0].length;
    } else if (body[j] === '\\') {
      const escape = translateEscape(body, j, true, flags, refuse);
      if (!escape.ok) return escape;
      out += escape.value.text;
      j += escape.value.length;
    } else {
      out += body[j];
      j++;
    }
  }
  if (j >= body.length) return refuse(i, body.length - i, "the character class has no closing ']'");
  return ok({ text: `${out}]`, length: j + 1 - i });
}

/** `rest` starts with `(` at body index `i`: translate the group opening (or the whole small group). */
function translateGroup(rest: string, i: number, flags: Flags, refuse: Refuse, warnings: string[]): ValueResult<Chunk> {
  const as = (text: string, length: number): ValueResult<Chunk> => ok({ text, length });
  if (rest.startsWith('(*')) return refuse(i, rest.indexOf(')') + 1 || 2, 'backtracking control verbs such as (*SKIP) are not supported');
  if (!rest.startsWith('(?')) return as('(', 1);
  const comment = /^\(\?#[^)]*\)/.exec(rest);
  if (comment) return as('', comment[0].length);
  for (const plain of ['(?:', '(?=', '(?!', '(?<=', '(?<!']) if (rest.startsWith(plain)) return as(plain, plain.length);
  const named = /^\(\?(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
  if (named) return as(`(?<${named[1] ?? named[2]}>`, named[0].length);
  const namedRef = /^\(\?P=(\w+)\)/.exec(rest);
  if (namedRef) return as(`\\k<${namedRef[1]}>`, namedRef[0].length);
  const recursion = /^\(\?(?:R|[-+]?\d+|&\w+|P>\w+)\)/.exec(rest);
  if (recursion) return refuse(i, recursion[0].length, `recursion ${recursion[0]} is not supported in JavaScript`);
  if (rest.startsWith('(?>')) return refuse(i, 3, 'atomic groups (?>…) are not supported in JavaScript');
  if (rest.startsWith('(?|')) return refuse(i, 3, 'branch-reset groups (?|…) are not supported in JavaScript');
  if (rest.startsWith('(?(')) return refuse(i, 3, 'conditionals (?(…)…) are not supported in JavaScript');
  if (rest.startsWith('(?{') || rest.startsWith('(??{')) return refuse(i, 3, 'embedded code (?{…}) is not supported');
  const modifier = /^\(\?([a-z]*)(?:-([a-z]*))?([:)])/.exec(rest);
  if (modifier) {
    const changed: Flags = { ...flags };
    const bad = applyModifiers(changed, modifier[1]!, modifier[2] ?? '');
    if (bad !== undefined) return refuse(i, modifier[0].length, unsupportedModifier(bad));
    const written = modifier[3] === ')' ? modifier[0] : `${modifier[0]}…)`;
    const noChange = changed.ignoreCase === flags.ignoreCase && changed.multiline === flags.multiline && changed.dotAll === flags.dotAll;
    if (!noChange) {
      return refuse(i, modifier[0].length, `the inline modifier ${written} in the middle of the pattern cannot be expressed in JavaScript; put it at the very start to apply it to the whole pattern`);
    }
    warnings.push(`${written} has no effect here: the pattern already has these settings (patterns are case-insensitive unless they start with (?-i))`);
    return as(modifier[3] === ')' ? '' : '(?:', modifier[0].length);
  }
  return refuse(i, 3, `unknown group construct '${rest.slice(0, 3)}'`);
}

/**
 * `relay-address`: an exact address (`abuse@fbl.example.com`, compared
 * case-insensitively) or a `/regex/` tested against the whole address.
 */
export function parseAddressPattern(input: ValueInput): ValueResult<AddressPattern> {
  const raw = input.raw.trim();
  if (raw.startsWith('/')) {
    const re = parseRegex(input);
    if (!re.ok) return re;
    return { ok: true, value: { kind: 'regex', regex: re.value, text: raw }, ...(re.warnings ? { warnings: re.warnings } : {}) };
  }
  const email = parseEmail(input);
  if (!email.ok) return email;
  return { ok: true, value: { kind: 'exact', address: email.value.toLowerCase(), text: raw } };
}
