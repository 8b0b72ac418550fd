/**
 * @module cli/diagnostics
 *
 * Renders configuration diagnostics for people (compiler style, with the
 * source line and a caret) and for scripts (`--json`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../config/types.js';

const fileLines = new Map<string, string[]>();

function sourceLine(file: string, line: number): string | undefined {
  let lines = fileLines.get(file);
  if (!lines) {
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
    } catch {
      lines = [];
    }
    fileLines.set(file, lines);
  }
  return lines[line - 1];
}

/** `file:line:column: error: message`, the line, a caret, then expected/hint lines. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const rel = path.relative(cwd, d.pos.file) || d.pos.file;
  const out = [`${rel}:${d.pos.line}:${d.pos.column}: ${d.severity}: ${d.message}`];
  const src = d.pos.line > 0 ? sourceLine(d.pos.file, d.pos.line) : undefined;
  if (src !== undefined && src.trim() !== '') {
    const visible = src.replace(/\t/g, ' ').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' ');
    out.push(`    ${visible}`);
    const width = Math.max(1, Math.min(d.text?.length ?? 1, visible.length - d.pos.column + 1));
    out.push(`    ${' '.repeat(Math.max(0, d.pos.column - 1))}${'^'.repeat(width)}`);
  }
  if (d.expected) out.push(`    expected: ${d.expected}`);
  if (d.hint) out.push(`    hint: ${d.hint}`);
  return out.join('\n');
}

export function diagnosticToJson(d: Diagnostic): Record<string, unknown> {
  return {
    severity: d.severity,
    file: d.pos.file,
    line: d.pos.line,
    column: d.pos.column,
    message: d.message,
    ...(d.text !== undefined ? { text: d.text } : {}),
    ...(d.expected !== undefined ? { expected: d.expected } : {}),
    ...(d.hint !== undefined ? { hint: d.hint } : {}),
  };
}
