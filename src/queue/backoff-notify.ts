/**
 * @module queue/backoff-notify
 *
 * `backoff-notify ADDRESSES` (`<domain>` scope): mail the operator when a
 * queue enters or leaves backoff mode, so a throttling ISP is seen when it
 * starts and not when the deferrals have piled up.
 *
 * The notice is a short plain-text message from the null sender (a notice
 * that cannot be delivered must not bounce back into the queue), queued
 * through Petrel's own spool like a DSN, to the addresses in force for that
 * queue's domain and VMTA.
 *
 * A queue can flap (`backoff-to-normal-after-delivery` returns it to normal on
 * the next 250; the next 421 puts it back), so notices per queue are spaced
 * by `intervalMs` (default 5 minutes): a change inside the window is held,
 * and when the window ends one notice tells the mode the queue is then in,
 * with how many changes it saw — unless that is the mode already reported.
 *
 * Exports: `BackoffNotifier`, `BackoffNotifierDeps`, `composeBackoffNotice`.
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { Spool } from '../spool/spool.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { queueSetting } from './settings.js';

export interface BackoffNotifierDeps {
  readonly spool: Spool;
  readonly resolver: () => ConfigResolver;
  readonly hostname: () => string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Least time between two notices about one queue (ms, default 5 min). */
  readonly intervalMs?: number;
}

type Mode = 'normal' | 'backoff';

interface QueueNotices {
  /** The mode the last notice announced. */
  reported: Mode;
  /** The mode the queue is in now. */
  current: Mode;
  lastSentAt: number;
  /** Changes since the last notice. */
  changes: number;
  why: string;
  timer?: NodeJS.Timeout;
}

const DEFAULT_INTERVAL_MS = 5 * 60_000;

export class BackoffNotifier {
  readonly #d: BackoffNotifierDeps;
  readonly #queues = new Map<string, QueueNotices>();
  readonly #interval: number;

  constructor(deps: BackoffNotifierDeps) {
    this.#d = deps;
    this.#interval = deps.intervalMs ?? DEFAULT_INTERVAL_MS;
  }

  /** The queue manager's mode-change hook: `mode` is the queue's new mode. */
  modeChanged(queue: string, mode: Mode, why: string): void {
    if (this.#recipients(queue).length === 0) return;
    const now = this.#d.clock.now();
    const q = this.#queues.get(queue);
    if (!q || now - q.lastSentAt >= this.#interval) {
      if (q?.timer) clearTimeout(q.timer);
      this.#queues.set(queue, { reported: mode, current: mode, lastSentAt: now, changes: 0, why });
      this.#send(queue, mode, why, 1);
      return;
    }
    q.changes++;
    q.current = mode;
    q.why = why;
    if (q.timer) return;
    q.timer = setTimeout(() => this.#flush(queue), q.lastSentAt + this.#interval - now);
    q.timer.unref();
  }

  /** Forget held notices (at stop). */
  close(): void {
    for (const q of this.#queues.values()) if (q.timer) clearTimeout(q.timer);
    this.#queues.clear();
  }

  #flush(queue: string): void {
    const q = this.#queues.get(queue);
    if (!q) return;
    q.timer = undefined;
    const mode = q.current;
    if (mode === q.reported) {
      this.#d.log.info('backoff notice not sent: the queue is back in the mode last reported', { queue, mode, changes: q.changes });
      q.changes = 0;
      return;
    }
    const changes = q.changes;
    Object.assign(q, { reported: mode, lastSentAt: this.#d.clock.now(), changes: 0 });
    this.#send(queue, mode, q.why, changes);
  }

  #recipients(queue: string): string[] {
    const v = queueSetting<string[] | string>(this.#d.resolver(), 'backoff-notify', queue);
    const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [];
    return list.map((a) => a.trim()).filter((a) => a !== '');
  }

  #send(queue: string, mode: Mode, why: string, changes: number): void {
    const to = this.#recipients(queue);
    if (to.length === 0) return;
    const hostname = this.#d.hostname();
    const postmaster = this.#d.resolver().global<string>('postmaster').value ?? `postmaster@${hostname}`;
    void (async () => {
      const writer = this.#d.spool.createMessage({ mailFrom: '', recipients: to.map((address) => ({ address })), listener: 'backoff-notify' });
      writer.write(composeBackoffNotice({ queue, mode, why, changes, hostname, from: postmaster, to, date: new Date(this.#d.clock.now()), messageId: `<${writer.id}@${hostname}>` }));
      const id = await writer.commit();
      this.#d.log.info('backoff notice queued', { id, queue, mode, to });
    })().catch((e: unknown) => this.#d.log.warn('backoff notice not queued', { queue, mode, err: e instanceof Error ? e.message : String(e) }));
  }
}

/** Header-safe: queue names come from recipient domains and replies from remote servers. */
function headerText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function bodyText(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e\t]/g, '?').slice(0, 500);
}

/** The notice as an RFC 5322 message (CRLF line ends). */
export function composeBackoffNotice(n: {
  queue: string;
  mode: Mode;
  why: string;
  changes: number;
  hostname: string;
  from: string;
  to: readonly string[];
  date: Date;
  messageId: string;
}): Buffer {
  const q = headerText(n.queue);
  const entered = n.mode === 'backoff';
  const subject = entered ? `queue ${q} entered backoff mode` : `queue ${q} is back in normal mode`;
  const lines = [
    `From: Petrel on ${headerText(n.hostname)} <${headerText(n.from)}>`,
    `To: ${n.to.map(headerText).join(', ')}`,
    `Subject: [petrel] ${subject}`,
    `Date: ${n.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${n.messageId}`,
    'Auto-Submitted: auto-generated',
    `X-Petrel-Queue: ${q}`,
    `X-Petrel-Queue-Mode: ${n.mode}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `The queue ${q} on ${headerText(n.hostname)} ${entered ? 'entered backoff mode' : 'returned to normal mode'} at ${n.date.toISOString()}.`,
    '',
    `Why: ${bodyText(n.why)}`,
    ...(n.changes > 1 ? ['', `The queue changed mode ${n.changes} times since the last notice; this is the mode it is in now.`] : []),
    '',
    entered
      ? 'While in backoff the queue sends with the backoff-* limits (backoff-max-smtp-out, backoff-max-msg-rate, backoff-retry-after).'
      : 'The queue sends with its normal limits again.',
    entered ? `To return it to normal mode by hand: petrel set queue --mode=normal ${q}` : `To put it back in backoff by hand: petrel set queue --mode=backoff ${q}`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'ascii');
}
