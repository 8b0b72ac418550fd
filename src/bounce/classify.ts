/**
 * @module bounce/classify
 *
 * Bounce classification, PowerMTA style: an ordered list of `/regex/ category` rules, the first
 * match wins, tried against one line `STATUS;DIAGNOSTIC`.
 *
 * Exports:
 *  - `ClassifyInput`, `Classification`.
 *  - `classify(input, rules?)` → `{ category, rule?, subject }`.
 *  - `classificationSubject(input)`: the exact line the rules see (for logs and tests).
 *  - `deriveStatus(input)`: the bare `x.y.z` status used in that line.
 *
 * The subject line, e.g. `5.1.1;smtp;550 5.1.1 <x@gmail.com>: The email account … does not exist`:
 *  - STATUS is the bare RFC 3463 code from `input.status` (`5.1.1 (bad destination mailbox address)`
 *    gives `5.1.1`); without one, the enhanced code in the diagnostic's reply (`550 5.1.1 …`); without
 *    that, `C.0.0` where C is the first digit of the reply code (`input.code`, or the code in the
 *    diagnostic). Empty when nothing gives a class.
 *  - DIAGNOSTIC keeps its type (`smtp;`, `x-unix;`…); a diagnostic without one gets `smtp;`, and the
 *    white space after the type's `;` is removed (`smtp; 550` → `smtp;550`), as PowerMTA's dsnDiag
 *    reads. Line breaks and control characters become spaces; the line is cut at 4096 characters so
 *    hostile replies cannot make matching slow. A bare code with no text gives `smtp;550`.
 *
 * Rules: `rules` given (the configuration's `<bounce-category-patterns>`) REPLACE the defaults, as
 * in PowerMTA, where the block replaces the built-in list. A configuration that wants the defaults
 * behind its own rules writes them out (or a caller passes `[...own, ...defaultRules()]`). When no
 * rule matches (a user list without a catch-all), the category is `other` and `rule` is absent.
 *
 * Nothing here throws on any input.
 */
import type { CategoryRule } from '../config/types.js';
import { defaultRules } from './rules.js';

export interface ClassifyInput {
  /** RFC 3463 status, `5.1.1` (trailing text allowed). */
  readonly status?: string;
  /** DSN Diagnostic-Code: `smtp;550 5.1.1 …` or a bare reply `550 5.1.1 …`. */
  readonly diagnostic?: string;
  /** The basic SMTP reply code, when known separately. */
  readonly code?: number;
}

export interface Classification {
  readonly category: string;
  /** The matching rule as written (`/^[45]\.1\.1;/`), absent when nothing matched. */
  readonly rule?: string;
  /** The line the rules were tried against. */
  readonly subject: string;
}

const MAX_SUBJECT = 4096;
const STATUS = /^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\d)/;
const DIAG_TYPE = /^([A-Za-z][A-Za-z0-9-]*)\s*;\s*/;
/** A reply code at the start, then (maybe) an enhanced code: `550-5.1.1 `, `421 4.7.0 `. */
const REPLY = /^([2-5])\d\d(?:[ -]+([245]\.\d{1,3}\.\d{1,3})(?!\d))?/;

function clean(text: string | undefined): string {
  if (typeof text !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, MAX_SUBJECT);
}

/** `smtp;550 …` with the type kept, or `smtp;` added; empty when there is no text and no code. */
function normalizeDiagnostic(input: ClassifyInput): string {
  const diag = clean(input.diagnostic);
  if (diag === '') return validCode(input.code) ? `smtp;${input.code}` : '';
  const typed = DIAG_TYPE.exec(diag);
  if (typed) return `${typed[1]};${diag.slice(typed[0].length)}`;
  return `smtp;${diag}`;
}

function validCode(code: number | undefined): code is number {
  return typeof code === 'number' && Number.isInteger(code) && code >= 200 && code <= 599;
}

/** The bare `x.y.z` status for the subject line ('' when nothing gives a class). */
export function deriveStatus(input: ClassifyInput): string {
  const given = STATUS.exec(typeof input.status === 'string' ? input.status : '');
  if (given) return `${given[1]}.${Number(given[2])}.${Number(given[3])}`;
  const diag = normalizeDiagnostic(input);
  const reply = REPLY.exec(diag.slice(diag.indexOf(';') + 1));
  if (reply?.[2]) {
    const [cls, subject, detail] = reply[2].split('.');
    return `${cls}.${Number(subject)}.${Number(detail)}`;
  }
  if (validCode(input.code)) return `${String(input.code)[0]}.0.0`;
  if (reply) return `${reply[1]}.0.0`;
  return '';
}

export function classificationSubject(input: ClassifyInput): string {
  return `${deriveStatus(input)};${normalizeDiagnostic(input)}`;
}

/** First match wins over `rules` (default: the shipped list). */
export function classify(input: ClassifyInput, rules?: readonly CategoryRule[]): Classification {
  const subject = classificationSubject(input ?? {});
  const list = rules ?? defaultRules();
  for (const rule of list) {
    // Translated patterns never carry the g or y flag (only i, m, s), so test() keeps no state.
    if (rule.regex.test(subject)) return { category: rule.category, rule: rule.source, subject };
  }
  return { category: 'other', subject };
}
