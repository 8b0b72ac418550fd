/**
 * @module util/format
 *
 * Human formats for numbers and durations shared by the CLI tables and the
 * web monitor, so `petrel show queues` and the page say the same thing in
 * their own spacing.
 *
 * Exports: `groupThousands`, `formatAge`.
 */

/** 1234567 → "1,234,567" (rounded to an integer). */
export function groupThousands(v: number): string {
  return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A duration in seconds as its two largest units: "3d4h", "2h5m", "7m12s",
 * "9s". `sep` goes between the two units (the monitor uses a space).
 */
export function formatAge(seconds: number, sep = ''): string {
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return d > 0 ? `${d}d${sep}${h}h` : h > 0 ? `${h}h${sep}${m}m` : m > 0 ? `${m}m${sep}${s}s` : `${s}s`;
}
