/**
 * @module cli/commands/table
 *
 * Plain-text tables and value formats for the management verbs (no
 * cli-table3: columns padded with spaces, numbers right-aligned, no colour,
 * so output pipes cleanly into grep and awk). Control characters in values
 * (queue names come from recipient domains) are shown as `?`.
 *
 * Exports: `table`, `kv`, `n`, `age`, `bytes`, `when`, `clean`.
 */

import { formatAge, groupThousands } from '../../util/format.js';

export interface Col {
  readonly title: string;
  readonly right?: boolean;
}

/** Replaces control and bidi-override characters so a hostile name cannot rewrite the terminal. */
export function clean(s: unknown): string {
  return String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

export function table(cols: readonly Col[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map(clean));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    cols
      .map((c, i) => (c.right ? (r[i] ?? '').padStart(widths[i]!) : (r[i] ?? '').padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.title)), ...cells.map(line)].join('\n') + '\n';
}

/** `key: value` lines, keys aligned. */
export function kv(pairs: ReadonlyArray<readonly [string, unknown]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${clean(v)}`).join('\n') + '\n';
}

export function n(v: number | null | undefined): string {
  return v === null || v === undefined ? '' : groupThousands(v);
}

export function age(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '' : formatAge(seconds);
}

export function bytes(v: number): string {
  if (v < 1024) return `${v}B`;
  if (v < 1024 ** 2) return `${(v / 1024).toFixed(1)}K`;
  if (v < 1024 ** 3) return `${(v / 1024 ** 2).toFixed(1)}M`;
  return `${(v / 1024 ** 3).toFixed(1)}G`;
}

/** An epoch-ms time as ISO 8601 (UTC, seconds). */
export function when(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
