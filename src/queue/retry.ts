/**
 * @module queue/retry
 *
 * Retry and expiry as pure functions of (attempts, times, settings) — no
 * clock reads here (STYLE habit 19: the caller passes `now`).
 *
 *   - `retry-after 10m,20m,1h`: the n-th retry waits the n-th interval; the
 *     last interval repeats (PowerMTA 4.5 custom retry intervals);
 *   - `retry-recipients-after`: a recipient refused with 4xx at RCPT;
 *   - `retry-after-dns-error`: a DNS failure for the queue's domain;
 *   - `backoff-retry-after` replaces `retry-after` while the queue is in backoff mode;
 *   - `bounce-after` (default 4d12h): once a message is older than that, its
 *     undelivered recipients expire (category `message-expired`) — but a
 *     retry is never scheduled past the expiry: the last one is at expiry.
 *
 * Exports: `retryInterval`, `nextAttemptAt`, `isExpired`, `RetryKind`.
 */

export type RetryKind = 'transient' | 'rcpt' | 'dns';

export interface RetrySettings {
  readonly retryAfter: readonly number[];
  readonly retryRecipientsAfter: number;
  readonly retryAfterDnsError: number;
  readonly bounceAfter: number;
  readonly backoffRetryAfter?: readonly number[];
}

/** The wait before attempt number `attempts + 1`, given `attempts` made so far (≥ 1). */
export function retryInterval(attempts: number, list: readonly number[]): number {
  if (list.length === 0) return 10 * 60_000;
  const i = Math.min(Math.max(attempts, 1), list.length) - 1;
  return list[i]!;
}

/** When to try again after a failed attempt. `attempts` counts the attempts made, this one included. */
export function nextAttemptAt(now: number, arrivedAt: number, attempts: number, kind: RetryKind, s: RetrySettings, backoff = false): number {
  let wait: number;
  switch (kind) {
    case 'rcpt':
      wait = s.retryRecipientsAfter;
      break;
    case 'dns':
      wait = s.retryAfterDnsError;
      break;
    case 'transient':
      wait = retryInterval(attempts, backoff && s.backoffRetryAfter?.length ? s.backoffRetryAfter : s.retryAfter);
      break;
  }
  const next = now + Math.max(1000, wait);
  const expiry = arrivedAt + s.bounceAfter;
  return Number.isFinite(expiry) && next > expiry ? Math.max(now + 1000, expiry) : next;
}

/** Has the message outlived `bounce-after`? */
export function isExpired(now: number, arrivedAt: number, bounceAfter: number): boolean {
  return Number.isFinite(bounceAfter) && now >= arrivedAt + bounceAfter;
}
