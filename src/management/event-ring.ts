/**
 * @module management/event-ring
 *
 * `EventRing`: the most recent spool events (default 10,000) in a fixed
 * ring, each with a sequence number, for `GET /api/v1/events?since=`,
 * `petrel trace`, and a queue's "recent errors". `leased` and `released`
 * are left out (two per delivery attempt, they would push the interesting
 * events out); the rest are kept as small plain objects, replies cut to
 * 500 characters.
 *
 * Exports: `EventRing`, `ManagementEvent`, `EventFilter`.
 */
import type { SpoolEvent, SpoolEventType } from '../spool/types.js';
import type { Clock } from '../util/clock.js';

export interface ManagementEvent {
  readonly seq: number;
  readonly at: number;
  readonly type: SpoolEventType;
  readonly messageId?: string;
  readonly recipientId?: string;
  readonly queue?: string;
  /** `enqueued`: the message's queues. */
  readonly queues?: readonly string[];
  readonly recipients?: number;
  readonly jobId?: string;
  readonly attempts?: number;
  readonly reply?: string;
  readonly nextAttemptAt?: number;
}

export interface EventFilter {
  readonly messageId?: string;
  readonly queue?: string;
  readonly types?: readonly SpoolEventType[];
}

const REPLY_MAX = 500;

export class EventRing {
  readonly capacity: number;
  readonly #buf: (ManagementEvent | undefined)[];
  #next = 1;

  /** `clock` is accepted for symmetry with TrafficHistory; events carry their own times. */
  constructor(opts: { capacity?: number; clock?: Clock } = {}) {
    this.capacity = Math.max(16, Math.floor(opts.capacity ?? 10_000));
    this.#buf = new Array<ManagementEvent | undefined>(this.capacity);
  }

  /** Sequence number of the latest event (0 when none yet). */
  get lastSeq(): number {
    return this.#next - 1;
  }

  /** Oldest sequence number still held. */
  get firstSeq(): number {
    return Math.max(1, this.#next - this.capacity);
  }

  push(ev: SpoolEvent): void {
    if (ev.type === 'leased' || ev.type === 'released') return;
    const seq = this.#next++;
    let e: ManagementEvent;
    switch (ev.type) {
      case 'enqueued':
        e = {
          seq,
          at: ev.at,
          type: ev.type,
          messageId: ev.messageId,
          queues: ev.queues.slice(0, 50),
          recipients: ev.envelope.recipients.length,
          ...(ev.envelope.jobId !== undefined ? { jobId: ev.envelope.jobId } : {}),
        };
        break;
      case 'queue-paused':
      case 'queue-resumed':
        e = { seq, at: ev.at, type: ev.type, queue: ev.queue };
        break;
      default:
        e = {
          seq,
          at: ev.at,
          type: ev.type,
          messageId: ev.messageId,
          recipientId: ev.recipientId,
          queue: ev.queue,
          attempts: ev.attempts,
          ...(ev.reply !== undefined ? { reply: ev.reply.slice(0, REPLY_MAX) } : {}),
          ...(ev.type === 'deferred' ? { nextAttemptAt: ev.nextAttemptAt } : {}),
        };
    }
    this.#buf[seq % this.capacity] = e;
  }

  /** Events after `since` (oldest first), at most `limit`; `lost` when some after `since` were overwritten. */
  since(since: number, filter: EventFilter = {}, limit = 1000): { events: ManagementEvent[]; last: number; lost: boolean } {
    const from = Math.max(since + 1, this.firstSeq);
    const events: ManagementEvent[] = [];
    let last = Math.max(since, 0);
    for (let seq = from; seq < this.#next && events.length < limit; seq++) {
      const e = this.#buf[seq % this.capacity];
      last = seq;
      if (!e || e.seq !== seq || !matches(e, filter)) continue;
      events.push(e);
    }
    return { events, last, lost: since + 1 < this.firstSeq && this.#next > 1 };
  }

  /** The newest events matching `filter`, newest first. */
  recent(filter: EventFilter, limit: number): ManagementEvent[] {
    const out: ManagementEvent[] = [];
    for (let seq = this.#next - 1; seq >= this.firstSeq && out.length < limit; seq--) {
      const e = this.#buf[seq % this.capacity];
      if (e && e.seq === seq && matches(e, filter)) out.push(e);
    }
    return out;
  }
}

function matches(e: ManagementEvent, f: EventFilter): boolean {
  if (f.types && !f.types.includes(e.type)) return false;
  if (f.messageId !== undefined && e.messageId !== f.messageId) return false;
  if (f.queue !== undefined && e.queue !== f.queue && !(e.queues?.includes(f.queue) ?? false)) return false;
  return true;
}
