/**
 * @module accounting/times
 *
 * Time texts of the accounting files, all computed from a `Clock` reading
 * (STYLE habit 19), never from `Date.now()`:
 * - `pmtaTime(ms)`   — PowerMTA's form in local time: `2016-05-29 01:10:51+0200`.
 * - `isoTime(ms)`    — `iso-times yes`: ISO 8601 in UTC, `2016-05-28T23:10:51Z`.
 * - `fileStamp(ms)`  — the suffix of a rotated file, local time: `2016-05-29-0110`.
 * - `parseFileStamp(s)` — its inverse (ms), or undefined.
 * - `nextBoundary(ms, interval)` — the next multiple of `interval` after `ms`,
 *   counted in local time (so `1d` rotates at local midnight, `1h` on the hour).
 *
 * Contract: times have second precision; local time is the process time zone (TZ).
 */

const p2 = (n: number): string => String(n).padStart(2, '0');

function localParts(ms: number): { y: number; mo: number; d: number; h: number; mi: number; s: number; offMin: number } {
  const t = new Date(ms);
  return {
    y: t.getFullYear(),
    mo: t.getMonth() + 1,
    d: t.getDate(),
    h: t.getHours(),
    mi: t.getMinutes(),
    s: t.getSeconds(),
    offMin: -t.getTimezoneOffset(),
  };
}

export function pmtaTime(ms: number): string {
  const t = localParts(ms);
  const sign = t.offMin < 0 ? '-' : '+';
  const off = Math.abs(t.offMin);
  return `${t.y}-${p2(t.mo)}-${p2(t.d)} ${p2(t.h)}:${p2(t.mi)}:${p2(t.s)}${sign}${p2(Math.floor(off / 60))}${p2(off % 60)}`;
}

export function isoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function fileStamp(ms: number): string {
  const t = localParts(ms);
  return `${t.y}-${p2(t.mo)}-${p2(t.d)}-${p2(t.h)}${p2(t.mi)}`;
}

export function parseFileStamp(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export function nextBoundary(ms: number, interval: number): number {
  const off = -new Date(ms).getTimezoneOffset() * 60_000;
  return Math.floor((ms + off) / interval) * interval - off + interval;
}
