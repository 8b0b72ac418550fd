/**
 * @module bounce/rules
 *
 * Bounce-category rule files: the text of `<bounce-category-patterns>` lines, one `/regex/ category`
 * per line, read with the configuration's own parser (`parseCategoryRule`, which translates the
 * Perl pattern exactly as `parsePerlRegex` does), so a rule means the same in the data file and in
 * the configuration.
 *
 * Exports:
 *  - `parseRuleFile(text, file?)` → `{ rules, errors, warnings }`: every line is checked; a bad line
 *    is reported with its 1-based line number and left out, never thrown.
 *  - `defaultRules()`: the rules of `rules/default-rules.txt`, parsed once and frozen.
 *  - `DEFAULT_RULES_FILE`: where that file was found (for messages and docs).
 *
 * File syntax (the block's syntax, line by line): `#` starts a comment anywhere (as in the
 * configuration; write `\x23` for a literal `#` in a pattern); blank lines are skipped; the lines
 * `<bounce-category-patterns>` and `</bounce-category-patterns>` are ignored, so a block can be pasted
 * as it is.
 *
 * Contract: `defaultRules()` throws only when the shipped data file is missing or has a bad line:
 * that is a broken installation, not bad input (tests pin the file, so it cannot ship broken).
 *
 * XXX: `tsc` does not copy `.txt` files. The file is looked up next to this module first
 * (`src/bounce/rules/`, or `dist/bounce/rules/` if the build copies it) and then in
 * `../../src/bounce/rules/` relative to the compiled module, which covers running from `dist/`
 * inside the repository. A packaged build must copy `src/bounce/rules/*.txt` to `dist/bounce/rules/`.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CategoryRule } from '../config/types.js';
import { parseCategoryRule } from '../config/values.js';

export interface RuleFileProblem {
  readonly line: number;
  readonly message: string;
  readonly text: string;
}

export interface RuleFile {
  readonly rules: readonly CategoryRule[];
  readonly errors: readonly RuleFileProblem[];
  readonly warnings: readonly RuleFileProblem[];
}

const BLOCK_TAG = /^<\/?bounce-category-patterns\s*>$/i;

/** Parse a rule file; never throws. */
export function parseRuleFile(text: string): RuleFile {
  const rules: CategoryRule[] = [];
  const errors: RuleFileProblem[] = [];
  const warnings: RuleFileProblem[] = [];
  const lines = String(text).split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const hash = rawLine.indexOf('#');
    const line = (hash >= 0 ? rawLine.slice(0, hash) : rawLine).trim();
    if (line === '' || BLOCK_TAG.test(line)) return;
    const parsed = parseCategoryRule({ raw: line, directive: 'bounce-category-patterns' });
    if (!parsed.ok) {
      errors.push({ line: index + 1, message: parsed.message, text: line });
      return;
    }
    for (const warning of parsed.warnings ?? []) warnings.push({ line: index + 1, message: warning, text: line });
    rules.push(parsed.value);
  });
  return { rules, errors, warnings };
}

function locateDefaultFile(): string {
  const candidates = [
    new URL('./rules/default-rules.txt', import.meta.url),
    new URL('../../src/bounce/rules/default-rules.txt', import.meta.url),
  ].map((url) => fileURLToPath(url));
  return candidates.find((file) => fs.existsSync(file)) ?? candidates[0]!;
}

export const DEFAULT_RULES_FILE: string = locateDefaultFile();

let cached: readonly CategoryRule[] | undefined;

/** The shipped default rules, parsed once. */
export function defaultRules(): readonly CategoryRule[] {
  if (cached) return cached;
  let text: string;
  try {
    text = fs.readFileSync(DEFAULT_RULES_FILE, 'utf8');
  } catch (error) {
    throw new Error(`bounce rules: cannot read ${DEFAULT_RULES_FILE}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = parseRuleFile(text);
  const first = parsed.errors[0];
  if (first) throw new Error(`bounce rules: ${DEFAULT_RULES_FILE}:${first.line}: ${first.message}`);
  cached = Object.freeze(parsed.rules.map((rule) => Object.freeze({ ...rule })));
  return cached;
}
