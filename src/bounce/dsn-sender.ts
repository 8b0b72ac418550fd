/**
 * @module bounce/dsn-sender
 *
 * Turns final failures into DSNs (RFC 3464) sent back to the MAIL FROM,
 * through Petrel's own spool and queues (never through SMTP to ourselves):
 *
 *   - bounced and expired recipients of one message → one DSN (`failed`);
 *   - a deferral of a recipient that asked for `NOTIFY=DELAY` → a `delayed`
 *     DSN, at most once per `notify-of-delay-every` per recipient (in memory:
 *     a restart may repeat one);
 *   - `NOTIFY=NEVER`, or a NOTIFY list without the condition → no DSN for
 *     that recipient; no NOTIFY → failures only (RFC 3461 §4.1);
 *   - RET=FULL returns the whole message, otherwise its headers; ENVID and
 *     ORCPT are echoed;
 *   - `suppress-local-dsn yes` on the message's `<source>`: no DSN (local
 *     applications that read the accounting instead).
 *
 * Invariants (DESIGN invariant 5): a DSN is never sent to the null sender,
 * and never about a DSN (a DSN has the null sender, so both are one test).
 * A DSN is committed to the spool before the outcomes it reports are
 * recorded, so a crash can repeat a DSN but never lose one.
 *
 * Exports: `DsnSender`, `FailureReport`.
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { RecipientOutcome } from '../delivery/types.js';
import type { Spool } from '../spool/spool.js';
import type { LeasedMessage, RecipientInfo } from '../spool/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { queueSetting } from '../queue/settings.js';
import { composeDsn, type DsnRecipient } from './dsn.js';

export interface FailureReport {
  readonly message: LeasedMessage;
  readonly recipient: RecipientInfo;
  readonly outcome: RecipientOutcome;
  /** What the queue manager decided: bounced, expired (message-expired), or deferred. */
  readonly final: 'bounced' | 'expired' | 'deferred';
}

export interface DsnSenderDeps {
  readonly spool: Spool;
  readonly resolver: () => ConfigResolver;
  readonly hostname: () => string;
  readonly clock: Clock;
  readonly log: Logger;
}

const MAX_DELAY_NOTICES = 100_000;

function headerSection(body: Buffer): Buffer {
  const end = body.indexOf('\r\n\r\n');
  return end < 0 ? body : body.subarray(0, end + 2);
}

export class DsnSender {
  #delayNoticeAt = new Map<string, number>();

  constructor(private readonly d: DsnSenderDeps) {}

  /** Sends the DSNs these outcomes call for. Resolves once every DSN is durably queued. */
  async report(reports: readonly FailureReport[]): Promise<void> {
    const byMessage = new Map<string, FailureReport[]>();
    for (const r of reports) {
      if (!this.#wanted(r)) continue;
      const list = byMessage.get(r.message.messageId);
      if (list) list.push(r);
      else byMessage.set(r.message.messageId, [r]);
    }
    for (const [id, list] of byMessage) {
      const failed = list.filter((r) => r.final !== 'deferred');
      const delayed = list.filter((r) => r.final === 'deferred');
      try {
        if (failed.length > 0) await this.#send(list[0]!.message, failed, 'failed');
        if (delayed.length > 0) await this.#send(list[0]!.message, delayed, 'delayed');
      } catch (e) {
        this.d.log.error('could not queue a DSN', { id, error: String((e as Error)?.message ?? e) });
      }
    }
  }

  #wanted(r: FailureReport): boolean {
    const env = r.message.envelope;
    if (env.mailFrom === '') return false; // never to the null sender, never about a DSN
    const notify = r.recipient.notify;
    if (notify?.includes('NEVER')) return false;
    if (env.sourceIp && this.d.resolver().source<boolean>('suppress-local-dsn', env.sourceIp).value === true) return false;
    if (r.final === 'deferred') {
      if (!notify?.includes('DELAY')) return false;
      const every = this.#delayEvery(r);
      if (!Number.isFinite(every)) return false;
      const now = this.d.clock.now();
      const last = this.#delayNoticeAt.get(r.recipient.id) ?? env.arrivedAt;
      if (now - last < every) return false;
      if (this.#delayNoticeAt.size >= MAX_DELAY_NOTICES) this.#delayNoticeAt.clear();
      this.#delayNoticeAt.set(r.recipient.id, now);
      return true;
    }
    this.#delayNoticeAt.delete(r.recipient.id);
    return notify === undefined || notify.includes('FAILURE');
  }

  #delayEvery(r: FailureReport): number {
    const v = queueSetting<number>(this.d.resolver(), 'notify-of-delay-every', r.recipient.queue);
    return typeof v === 'number' ? v : 4 * 3_600_000;
  }

  async #send(m: LeasedMessage, reports: readonly FailureReport[], action: 'failed' | 'delayed'): Promise<void> {
    const env = m.envelope;
    const body = await this.d.spool.readBody(m.messageId);
    const hostname = this.d.hostname();
    const resolver = this.d.resolver();
    const postmaster = resolver.global<string>('postmaster').value ?? `postmaster@${hostname}`;
    const domainOfRcpt = reports[0]!.recipient.queue.split('/')[0]!;
    const format = resolver.domain<string>('dsn-format', domainOfRcpt).value === 'plain-text' ? 'plain-text' : 'standard';
    const now = this.d.clock.now();
    const recipients: DsnRecipient[] = reports.map((r) => {
      const reply = r.outcome.reply;
      const expired = r.final === 'expired';
      const status = expired ? '4.4.7' : (reply.enhanced ?? `${String(reply.code)[0]}.0.0`);
      return {
        finalRecipient: r.recipient.address,
        ...(r.recipient.orcpt ? { originalRecipient: r.recipient.orcpt } : {}),
        action,
        status: action === 'failed' && status.startsWith('4') ? `5${status.slice(1)}` : status,
        ...(reply.mta ? { remoteMta: reply.mta.split(' ')[0]! } : {}),
        diagnostic: `smtp; ${reply.code} ${reply.enhanced ? reply.enhanced + ' ' : ''}${reply.text}${expired ? ' (message expired: not delivered within bounce-after)' : ''}`,
        lastAttempt: new Date(now),
        ...(action === 'delayed' ? { willRetryUntil: new Date(env.arrivedAt + this.#bounceAfter(r)) } : {}),
      };
    });
    const writerEnvelope = { mailFrom: '', recipients: [{ address: env.mailFrom }], listener: 'dsn' };
    const writer = this.d.spool.createMessage(writerEnvelope);
    const dsn = composeDsn({
      reportingMta: hostname,
      postmaster,
      arrivalDate: new Date(env.arrivedAt),
      ...(env.mailParams?.envid ? { originalEnvelopeId: env.mailParams.envid } : {}),
      recipients,
      originalHeaders: headerSection(body),
      ...(env.mailParams?.ret === 'FULL' ? { originalBody: body } : {}),
      to: env.mailFrom,
      messageId: `<${writer.id}@${hostname}>`,
      date: new Date(now),
      format,
    });
    writer.write(dsn);
    const id = await writer.commit();
    this.d.log.info('DSN queued', { id, about: m.messageId, to: env.mailFrom, action, recipients: reports.length });
  }

  #bounceAfter(r: FailureReport): number {
    const v = queueSetting<number>(this.d.resolver(), 'bounce-after', r.recipient.queue);
    return typeof v === 'number' && Number.isFinite(v) ? v : 4.5 * 86_400_000;
  }
}
