/**
 * @module management/monitor/html
 *
 * Safe HTML building for the monitor page: `esc` for text and attribute
 * values (queue names are recipient domains — attacker-controlled — and
 * remote replies are too), value formatters shared in spirit with the
 * page's script, the column specs both render from, and the traffic chart
 * as inline SVG points.
 *
 * Exports: `esc`, `jsonForScript`, `fmt`, `Column`, `QUEUE_COLUMNS`,
 * `LIMITED_COLUMNS`, `DOMAIN_COLUMNS`, `VMTA_COLUMNS`, `CHART`, `chartPoints`.
 */

import { formatAge, groupThousands } from '../../util/format.js';

const ESC: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** JSON safe inside `<script type="application/json">` (no `</script>`, no `<!--`). */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export type Format = 'text' | 'int' | 'bytes' | 'age' | 'list' | 'bool';

export function fmt(v: unknown, f: Format): string {
  if (v === null || v === undefined) return '';
  switch (f) {
    case 'int':
      return groupThousands(Number(v));
    case 'bytes': {
      const n = Number(v);
      if (n < 1024) return `${n} B`;
      if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
      if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
      return `${(n / 1024 ** 3).toFixed(1)} GB`;
    }
    case 'age':
      return formatAge(Number(v), ' ');
    case 'list':
      return Array.isArray(v) ? v.map(String).join(', ') : String(v);
    case 'bool':
      return v ? 'yes' : '';
    case 'text':
      return String(v);
  }
}

export interface Column {
  readonly title: string;
  readonly key: string;
  readonly format: Format;
  readonly num?: boolean;
}

export const QUEUE_COLUMNS: readonly Column[] = [
  { title: 'Queue', key: 'queue', format: 'text' },
  { title: 'Recipients', key: 'recipients', format: 'int', num: true },
  { title: 'Messages', key: 'messages', format: 'int', num: true },
  { title: 'Size', key: 'bytes', format: 'bytes', num: true },
  { title: 'Oldest', key: 'ageSeconds', format: 'age', num: true },
  { title: 'Mode', key: 'mode', format: 'text' },
  { title: 'Sessions', key: 'sessions', format: 'int', num: true },
  { title: 'Paused', key: 'paused', format: 'bool' },
];

export const LIMITED_COLUMNS: readonly Column[] = [
  { title: 'Queue', key: 'queue', format: 'text' },
  { title: 'Recipients', key: 'recipients', format: 'int', num: true },
  { title: 'Why limited now', key: 'limitedBy', format: 'list' },
  { title: 'Last error', key: 'lastError', format: 'text' },
];

export const DOMAIN_COLUMNS: readonly Column[] = [
  { title: 'Domain', key: 'domain', format: 'text' },
  { title: 'Recipients', key: 'recipients', format: 'int', num: true },
  { title: 'Queues', key: 'queues', format: 'int', num: true },
  { title: 'VMTAs', key: 'vmtas', format: 'list' },
  { title: 'Oldest', key: 'ageSeconds', format: 'age', num: true },
  { title: 'Sessions', key: 'sessions', format: 'int', num: true },
];

export const VMTA_COLUMNS: readonly Column[] = [
  { title: 'VMTA', key: 'name', format: 'text' },
  { title: 'Source IPs', key: 'sourceIps', format: 'list' },
  { title: 'Pools', key: 'pools', format: 'list' },
  { title: 'Queues', key: 'queues', format: 'int', num: true },
  { title: 'Recipients', key: 'recipients', format: 'int', num: true },
  { title: 'Sessions', key: 'sessions', format: 'int', num: true },
];

export const CHART = { width: 720, height: 160, series: ['received', 'delivered', 'deferred', 'bounced'] as const };

/** `x,y x,y …` for an SVG polyline; every series shares the largest value as its scale. */
export function chartPoints(values: readonly number[], max: number): string {
  const n = values.length;
  const w = CHART.width;
  const h = CHART.height - 4;
  return values
    .map((v, i) => `${n <= 1 ? 0 : ((i * w) / (n - 1)).toFixed(1)},${(CHART.height - 2 - (max > 0 ? (v / max) * h : 0)).toFixed(1)}`)
    .join(' ');
}
