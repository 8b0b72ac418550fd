/**
 * @module config/lexer
 *
 * Turns the text of one configuration file into logical lines:
 *   - `open`  `<name arg>`  (a block tag),
 *   - `close` `</name>`,
 *   - `directive` `name value…`,
 *   - `rule` a line that starts with `/` (the nameless `/re/ category` lines of
 *     `<bounce-category-patterns>`).
 *
 * Lexical rules (PowerMTA's, see docs/configuration.md):
 *   - one directive per line; CRLF or LF; a missing final newline is fine;
 *   - `#` starts a comment anywhere, even inside quotes or a regex (PowerMTA's
 *     own rule: "auth-password cannot contain a #"; write `\x23` in a regex);
 *   - a line whose content ends with `,` continues on the next line (long
 *     `domain-macro` and `domain-key` lists in real configs);
 *   - a `/regex/` line inside `<bounce-category-patterns>` that has no category
 *     yet continues on the next line (vendor defaults split long patterns);
 *     this join is done by the parser, which knows the block;
 *   - directive names are case-insensitive (`Pickup`);
 *   - tabs are whitespace; a byte-order mark is ignored; control characters
 *     outside comments are an error.
 *
 * Every logical line keeps a map from offsets in its text back to file
 * positions, so a value parser's error offset becomes `file:line:column`.
 */
import type { Diagnostic, SourcePos } from './types.js';

/** Offset → position map of a logical line (several physical lines when continued). */
export interface Located {
  readonly file: string;
  /** Segments in increasing `start` order: text offset `start` is at (line, column). */
  readonly segments: ReadonlyArray<{ readonly start: number; readonly line: number; readonly column: number }>;
}

export function positionAt(loc: Located, offset: number): SourcePos {
  let seg = loc.segments[0]!;
  for (const s of loc.segments) {
    if (s.start <= offset) seg = s;
    else break;
  }
  return { file: loc.file, line: seg.line, column: seg.column + (offset - seg.start) };
}

export type LexLine =
  | { readonly kind: 'open'; readonly name: string; readonly rawName: string; readonly arg: string; readonly pos: SourcePos; readonly argPos: SourcePos }
  | { readonly kind: 'close'; readonly name: string; readonly rawName: string; readonly pos: SourcePos }
  | {
      readonly kind: 'directive';
      readonly name: string;
      readonly rawName: string;
      /** Value text after the name, trimmed; '' when none. */
      readonly value: string;
      readonly pos: SourcePos;
      /** Maps offsets in `value` to positions. */
      readonly valueLoc: Located;
      readonly valueOffset: number;
      /** When the value is empty because a comment took the rest of the line: where that comment starts. */
      readonly commentColumn?: number;
    }
  | { readonly kind: 'rule'; readonly value: string; readonly pos: SourcePos; readonly valueLoc: Located; readonly valueOffset: number };

export interface LexResult {
  readonly lines: LexLine[];
  readonly diagnostics: Diagnostic[];
}

// Control characters other than tab (0x09). 0x1A (DOS EOF) is common inside comments of old files.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/** Splits `text` (the content of `file`) into logical lines. Never throws. */
export function lex(text: string, file: string): LexResult {
  const lines: LexLine[] = [];
  const diagnostics: Diagnostic[] = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const physical = text.split('\n');

  let pending: { text: string; segments: { start: number; line: number; column: number }[] } | undefined;

  for (let i = 0; i < physical.length; i++) {
    const lineNo = i + 1;
    let raw = physical[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const hash = raw.indexOf('#');
    let content = hash >= 0 ? raw.slice(0, hash) : raw;
    const ctl = CONTROL.exec(content);
    if (ctl) {
      diagnostics.push({
        severity: 'error',
        pos: { file, line: lineNo, column: ctl.index + 1 },
        message: `control character 0x${ctl[0].charCodeAt(0).toString(16).padStart(2, '0')} outside a comment`,
        expected: 'printable text; control characters may only appear in comments',
      });
      content = content.replace(new RegExp(CONTROL.source, 'g'), ' ');
    }
    const lead = content.length - content.trimStart().length;
    const trimmed = content.trim();
    if (trimmed === '' && !pending) continue;

    if (pending) {
      if (trimmed !== '') {
        const start = pending.text.length + 1;
        pending.text += ' ' + trimmed;
        pending.segments.push({ start, line: lineNo, column: lead + 1 });
      }
      if (trimmed.endsWith(',') || trimmed === '') {
        if (i < physical.length - 1) continue;
      }
      const p = pending;
      pending = undefined;
      emit(p.text, { file, segments: p.segments });
      continue;
    }

    if (trimmed.endsWith(',') && !trimmed.startsWith('<') && i < physical.length - 1) {
      pending = { text: trimmed, segments: [{ start: 0, line: lineNo, column: lead + 1 }] };
      continue;
    }
    emit(trimmed, { file, segments: [{ start: 0, line: lineNo, column: lead + 1 }] }, hash >= 0 ? hash + 1 : undefined);
  }
  if (pending) emit(pending.text, { file, segments: pending.segments });
  return { lines, diagnostics };

  function emit(textLine: string, loc: Located, commentColumn?: number): void {
    const pos = positionAt(loc, 0);
    if (textLine.startsWith('<')) {
      lexTag(textLine, loc, pos);
      return;
    }
    if (textLine.startsWith('/')) {
      lines.push({ kind: 'rule', value: textLine, pos, valueLoc: loc, valueOffset: 0 });
      return;
    }
    const m = /^(\S+)\s*/.exec(textLine)!;
    const rawName = m[1]!;
    lines.push({
      kind: 'directive',
      name: rawName.toLowerCase(),
      rawName,
      value: textLine.slice(m[0].length).trimEnd(),
      pos,
      valueLoc: loc,
      valueOffset: m[0].length,
      ...(commentColumn !== undefined ? { commentColumn } : {}),
    });
  }

  function lexTag(textLine: string, loc: Located, pos: SourcePos): void {
    const close = textLine.indexOf('>');
    if (close < 0) {
      diagnostics.push({ severity: 'error', pos, message: "block tag is missing its closing '>'", text: textLine, expected: '<name argument> or </name>' });
      return;
    }
    const after = textLine.slice(close + 1).trim();
    if (after !== '') {
      diagnostics.push({
        severity: 'error',
        pos: positionAt(loc, textLine.indexOf(after, close + 1)),
        message: 'text after a block tag on the same line',
        text: after,
        expected: 'one directive per line: put it on its own line after the tag',
      });
    }
    const inner = textLine.slice(1, close);
    if (inner.startsWith('/')) {
      const rawName = inner.slice(1).trim();
      if (rawName === '' || /\s/.test(rawName)) {
        diagnostics.push({ severity: 'error', pos, message: 'malformed closing tag', text: textLine.slice(0, close + 1), expected: '</name>' });
        return;
      }
      lines.push({ kind: 'close', name: rawName.toLowerCase(), rawName, pos });
      return;
    }
    const m = /^\s*(\S+)\s*(.*?)\s*$/.exec(inner);
    if (!m) {
      diagnostics.push({ severity: 'error', pos, message: 'empty block tag', text: textLine.slice(0, close + 1), expected: '<name argument>' });
      return;
    }
    const rawName = m[1]!;
    const arg = m[2]!;
    const argOffset = arg === '' ? 1 + inner.indexOf(rawName) + rawName.length : 1 + inner.indexOf(arg, inner.indexOf(rawName) + rawName.length);
    lines.push({ kind: 'open', name: rawName.toLowerCase(), rawName, arg, pos, argPos: positionAt(loc, argOffset) });
  }
}
