/**
 * @module config/values-time
 *
 * Parsers for the time-based types: `duration`, `duration-list`, `rate` and `data-rate`; plus
 * `readDuration` / `readRate` for composite types (`cidr-rate`).
 *
 * Durations are milliseconds; `never` is Infinity. Units are `s`, `m`, `h`, `d` and `w` (weeks,
 * seen in real configs), combinable without spaces (`4d12h`); a bare number means seconds.
 *
 * Rates: `N/[M]unit` with unit `s|sec|m|min|h|hr|hour|d|day`, or `unlimited`. A bare `0` means
 * "no messages at all" ({count: 0, perMs: one hour}): real configs write `max-msg-rate 0` (and
 * `0/h`) to stop a domain or pause a virtual MTA, and the built-in `max-cold-virtual-mta-msg`
 * default is `0/d`. XXX: PowerMTA's guide is not public; if it turns out to mean "unlimited",
 * change `ZERO_RATE` only.
 */
import type { DataRateValue, RateValue, ValueInput, ValueResult } from './types.js';
import { EXPECTED } from './values-expected.js';
import { fail, noSpacesInItems, ok, oneWord, splitCommaList, templateOrVariable, withHint } from './values-common.js';
import type { Piece } from './values-common.js';
import { readSize } from './values-scalar.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATION_UNITS: Readonly<Record<string, number>> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: WEEK };

/** Longer spellings people try, and the unit letter to write instead. */
const DURATION_SPELLINGS: Readonly<Record<string, string>> = {
  sec: 's', secs: 's', second: 's', seconds: 's', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h', day: 'd', days: 'd', week: 'w', weeks: 'w', ms: 's',
};

/** Rate periods: the letters and the spellings PowerMTA's syntax lists. */
const RATE_UNITS: Readonly<Record<string, number>> = {
  s: SECOND, sec: SECOND, m: MINUTE, min: MINUTE, h: HOUR, hr: HOUR, hour: HOUR, d: DAY, day: DAY,
};

const ZERO_RATE = { count: 0, perMs: HOUR } as const;

// ---- durations ----------------------------------------------------------------

/** `30s`, `10m`, `4d12h`, `2w`, `0`, `90` (seconds), `never` → milliseconds (Infinity for never). */
export function readDuration(piece: Piece, expected: string = EXPECTED.duration): ValueResult<number> {
  const { text, offset } = piece;
  if (text.toLowerCase() === 'never') return ok(Infinity);
  if (/^\d+$/.test(text)) return ok(Number(text) * SECOND);
  let total = 0;
  let i = 0;
  while (i < text.length) {
    const digits = /^\d+/.exec(text.slice(i))?.[0];
    if (digits === undefined) {
      const ch = text[i]!;
      if (i === 0 && ch === '-') return fail(`negative durations are not allowed: '${text}'`, expected, offset, text);
      if (i === 0) return fail(withHint(`'${text}' is not a duration`, templateOrVariable(text)), expected, offset, text);
      return fail(`expected a number at '${text.slice(i)}' in '${text}'`, expected, offset + i, text.slice(i));
    }
    i += digits.length;
    const unit = /^[a-z]+/i.exec(text.slice(i))?.[0];
    if (unit === undefined) {
      if (i >= text.length) {
        return fail(`'${digits}' at the end of '${text}' has no unit; a bare number is only allowed alone`, expected, offset + i - digits.length, digits);
      }
      if (text[i] === '.') return fail(`fractions are not allowed in durations: write e.g. 1h30m instead of '${text}'`, expected, offset, text);
      return fail(`unexpected '${text[i]}' in duration '${text}'`, expected, offset + i, text.slice(i));
    }
    const factor = DURATION_UNITS[unit.toLowerCase()];
    if (factor === undefined) {
      const instead = DURATION_SPELLINGS[unit.toLowerCase()];
      const hint = instead ? `; write ${digits}${instead}` : ' (use s, m, h, d or w)';
      return fail(`unknown time unit '${unit}' in '${text}'${hint}`, expected, offset + i, unit);
    }
    total += Number(digits) * factor;
    i += unit.length;
  }
  if (!Number.isSafeInteger(total)) return fail(`${text} is too long`, expected, offset, text);
  return ok(total);
}

export function parseDuration(input: ValueInput): ValueResult<number> {
  const word = oneWord(input.raw, EXPECTED.duration);
  return word.ok ? readDuration(word.value) : word;
}

/** `10m,20m,1h` (spaces around commas allowed) → milliseconds each. */
export function parseDurationList(input: ValueInput): ValueResult<number[]> {
  const expected = EXPECTED['duration-list'];
  if (input.raw.trim() === '') return fail('missing value', expected, 0, '');
  const items = splitCommaList(input.raw, 0, expected);
  if (!items.ok) return items;
  const spaced = noSpacesInItems(items.value, expected);
  if (spaced) return spaced;
  const values: number[] = [];
  for (const item of items.value) {
    const value = readDuration(item, expected);
    if (!value.ok) return value;
    values.push(value.value);
  }
  return ok(values);
}

// ---- rates --------------------------------------------------------------------

/** The period after `/`: `h`, `10m`, `5s`, `hour`, `day`… → milliseconds. */
function readPeriod(piece: Piece, expected: string): ValueResult<number> {
  const { text, offset } = piece;
  const m = /^(\d*)([a-z]*)$/i.exec(text);
  if (!m || text === '') return fail(`'${text}' is not a period; write e.g. h, 10m or day`, expected, offset, text);
  const digits = m[1]!;
  const unit = m[2]!;
  if (unit === '') return fail(`the period '${text}' has no unit (s, m, h or d)`, expected, offset + digits.length, text);
  const factor = RATE_UNITS[unit.toLowerCase()];
  if (factor === undefined) {
    return fail(`unknown rate period '${unit}' (use s, sec, m, min, h, hr, hour, d or day)`, expected, offset + digits.length, unit);
  }
  const multiple = digits === '' ? 1 : Number(digits);
  if (multiple === 0) return fail(`the period '${text}' is zero`, expected, offset, text);
  return ok(multiple * factor);
}

/** Split `COUNT/PERIOD`, with errors for a missing slash or period. */
function splitRate(piece: Piece, expected: string, example: string): ValueResult<{ count: Piece; period: Piece }> {
  const { text, offset } = piece;
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (/^\d+[a-z]?$/i.test(text)) return fail(`a rate needs a period: write e.g. ${text}/h (${example})`, expected, offset + text.length, text);
    return fail(withHint(`'${text}' is not a rate`, templateOrVariable(text)), expected, offset, text);
  }
  if (slash === 0) return fail(`the rate '${text}' has no count before '/'`, expected, offset, text);
  if (slash === text.length - 1) return fail(`the rate '${text}' has no period after '/'`, expected, offset + slash + 1, '');
  return ok({
    count: { text: text.slice(0, slash), offset },
    period: { text: text.slice(slash + 1), offset: offset + slash + 1 },
  });
}

/** `100/h`, `100/10m`, `2000/hour`, `1/5s`, `unlimited`, `0` (see the module comment). */
export function readRate(piece: Piece, expected: string = EXPECTED.rate): ValueResult<RateValue> {
  const lower = piece.text.toLowerCase();
  if (lower === 'unlimited') return ok('unlimited');
  if (lower === '0') return ok(ZERO_RATE);
  const parts = splitRate(piece, expected, 'messages per hour');
  if (!parts.ok) return parts;
  const { count, period } = parts.value;
  if (!/^\d+$/.test(count.text)) {
    return fail(`the message count '${count.text}' is not a whole number`, expected, count.offset, count.text);
  }
  const perMs = readPeriod(period, expected);
  if (!perMs.ok) return perMs;
  return ok({ count: Number(count.text), perMs: perMs.value });
}

export function parseRate(input: ValueInput): ValueResult<RateValue> {
  const word = oneWord(input.raw, EXPECTED.rate);
  return word.ok ? readRate(word.value) : word;
}

/** `10M/h`, `500k/10m`, `1g/day`, `unlimited`, `0` → bytes per period. K = 1024. */
export function parseDataRate(input: ValueInput): ValueResult<DataRateValue> {
  const expected = EXPECTED['data-rate'];
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const lower = word.value.text.toLowerCase();
  if (lower === 'unlimited') return ok('unlimited');
  if (lower === '0') return ok({ bytes: 0, perMs: ZERO_RATE.perMs });
  const parts = splitRate(word.value, expected, 'bytes per hour');
  if (!parts.ok) return parts;
  const bytes = readSize(parts.value.count, expected);
  if (!bytes.ok) return bytes;
  const perMs = readPeriod(parts.value.period, expected);
  if (!perMs.ok) return perMs;
  return ok({ bytes: bytes.value, perMs: perMs.value });
}
