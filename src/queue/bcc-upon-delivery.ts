/**
 * @module queue/bcc-upon-delivery
 *
 * `bcc-upon-delivery ADDRESS` (`<domain>` scope): once a message has been
 * delivered to the queue's domain, a copy of it is queued to ADDRESS
 * (archiving, compliance, seed monitoring).
 *
 * - One copy per message and queue, however many of its recipients were
 *   delivered and in how many batches (the last `REMEMBERED` copies are
 *   remembered; a restart in between can copy again); the body is the
 *   message as received.
 * - The copy is sent from the null sender, so a copy that cannot be
 *   delivered never bounces to the original sender (who did not ask for it).
 * - A copy is never copied again (its listener is `bcc-upon-delivery`), so a
 *   BCC address whose own domain has `bcc-upon-delivery` cannot loop.
 * - Runs before the spool records the deliveries, like DSNs and accounting:
 *   a crash in between can send a copy twice, never lose one.
 *
 * Exports: `BccUponDelivery`, `BCC_LISTENER`.
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { Spool } from '../spool/spool.js';
import type { Logger } from '../util/log.js';
import type { OutcomeDecision } from './manager.js';
import { queueSetting } from './settings.js';

export const BCC_LISTENER = 'bcc-upon-delivery';

/** How many (message, queue) pairs already copied are remembered. */
const REMEMBERED = 10_000;

export class BccUponDelivery {
  readonly #copied = new Set<string>();

  constructor(
    private readonly d: { readonly spool: Spool; readonly resolver: () => ConfigResolver; readonly log: Logger },
  ) {}

  /** Queues the copies the delivered decisions call for. */
  async copy(decisions: readonly OutcomeDecision[]): Promise<void> {
    for (const d of decisions) {
      if (d.final !== 'delivered' || d.message.envelope.listener === BCC_LISTENER) continue;
      const key = `${d.message.messageId} ${d.queue}`;
      if (this.#copied.has(key)) continue;
      const to = this.#address(d.queue);
      if (!to) continue;
      this.#copied.add(key);
      if (this.#copied.size > REMEMBERED) this.#copied.delete(this.#copied.values().next().value!);
      try {
        const body = await this.d.spool.readBody(d.message.messageId);
        const w = this.d.spool.createMessage({ mailFrom: '', recipients: [{ address: to }], listener: BCC_LISTENER });
        w.write(body);
        const id = await w.commit();
        this.d.log.info('bcc-upon-delivery copy queued', { id, of: d.message.messageId, queue: d.queue, to });
      } catch (e) {
        // The delivery itself stands; the copy is best effort, and said so.
        this.d.log.warn('bcc-upon-delivery copy not queued', { of: d.message.messageId, queue: d.queue, to, err: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  #address(queue: string): string | undefined {
    const v = queueSetting<string>(this.d.resolver(), 'bcc-upon-delivery', queue);
    const a = typeof v === 'string' ? v.trim().replace(/^<(.*)>$/, '$1') : '';
    return a !== '' && a.includes('@') ? a : undefined;
  }
}
