/**
 * @module spool/events
 *
 * Builds the `SpoolEvent` for a recipient slot and delivers events to
 * observers. An observer that throws is logged and never breaks the spool
 * (the change it hears about is already durable).
 *
 * Exports: `recipientEvent`, `notify`, `RecipientEventType`.
 */
import { formatMessageId, recipientId } from './ids.js';
import type { QueueIndex } from './queue-index.js';
import type { SpoolEvent, SpoolLogger, SpoolObserver } from './types.js';

export type RecipientEventType = 'delivered' | 'bounced' | 'expired' | 'deferred' | 'deleted' | 'leased' | 'released';

export function recipientEvent(
  index: QueueIndex,
  type: RecipientEventType,
  r: number,
  at: number,
  reply?: string,
  nextAttemptAt?: number,
): SpoolEvent {
  const m = index.rMsg[r]!;
  const messageId = formatMessageId(index.mId[m]!);
  const base = {
    at,
    messageId,
    recipientId: recipientId(messageId, r - index.mRcptStart[m]!),
    queue: index.queues[index.rQueue[r]!]!.name,
    attempts: index.rAttempts[r]!,
  };
  const withReply = reply !== undefined ? { reply } : {};
  if (type === 'deferred') return { ...base, ...withReply, type, nextAttemptAt: nextAttemptAt! };
  if (type === 'leased' || type === 'released') return { ...base, type };
  return { ...base, ...withReply, type };
}

export function notify(observers: ReadonlySet<SpoolObserver>, ev: SpoolEvent, logger: SpoolLogger): void {
  for (const o of observers) {
    try {
      o(ev);
    } catch (e) {
      logger.error('spool: observer threw', { type: ev.type, error: String(e) });
    }
  }
}
