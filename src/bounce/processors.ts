/**
 * @module bounce/processors
 *
 * Out-of-band bounces and feedback-loop reports, as PowerMTA's
 * `<bounce-processor>` and `<feedback-loop-processor>` do it: mail received
 * (on port 25, through `relay-domain`/`relay-address`) for an address of a
 * processor's `<address-list>` (`domain X`, `address /re/`) is parsed instead
 * of delivered:
 *
 *   - bounce processor: a DSN (RFC 3464) or a common non-standard bounce
 *     becomes `rb` accounting records (original recipient, status,
 *     diagnostic, category; a VERP return path `user=domain@bounces…` names
 *     the original recipient);
 *   - feedback-loop processor: an ARF report (RFC 5965) becomes an `f`
 *     record (feedback type, user agent, reporting MTA, original sender and
 *     recipient, source IP, the original message's X-Job / envelope id, and
 *     `map-header-to-field` mappings).
 *
 * What is parsed is "matched" and consumed unless `deliver-matched-email
 * yes`; what is not (not a bounce, not a report, unparseable) is "unmatched"
 * and consumed unless `deliver-unmatched-email yes` — then it is delivered
 * like any mail. Consumed mail is reported delivered: a processor never
 * produces a bounce of its own, and hostile input (broken MIME, huge
 * attachments, loops) is logged as unparseable, never a crash.
 *
 * Exports: `ProcessorSet`, `ProcessorSession`, `AcctRecorder`.
 */
import type { ConfigBlock, PetrelConfig } from '../config/model.js';
import { values } from '../config/model.js';
import type { DomainPattern, MapHeaderToField } from '../config/types.js';
import { matchDomainPattern } from '../config/values.js';
import type { AcctEvent } from '../accounting/records.js';
import type { RecipientOutcome, RemoteReply } from '../delivery/types.js';
import type { DeliverySession } from '../queue/manager.js';
import type { Spool } from '../spool/spool.js';
import type { LeasedMessage } from '../spool/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { classify } from './classify.js';
import { parseArf } from './parse-arf.js';
import { parseBounce } from './parse-dsn.js';

export type AcctRecorder = (events: readonly AcctEvent[]) => Promise<void>;

interface Processor {
  readonly kind: 'bounce' | 'fbl';
  readonly domains: readonly DomainPattern[];
  readonly addresses: readonly RegExp[];
  readonly deliverMatched: boolean;
  readonly deliverUnmatched: boolean;
}

function processorFrom(kind: Processor['kind'], block: ConfigBlock | undefined): Processor | undefined {
  if (!block) return undefined;
  const lists = block.children.filter((c) => c.scope === 'address-list');
  const bool = (name: string): boolean => values<boolean>(block, name).at(-1) === true;
  return {
    kind,
    domains: lists.flatMap((l) => values<DomainPattern>(l, 'domain')),
    addresses: lists.flatMap((l) => values<RegExp>(l, 'address')),
    deliverMatched: bool('deliver-matched-email'),
    deliverUnmatched: bool('deliver-unmatched-email'),
  };
}

/** The processors of a configuration, and which recipient each one claims. */
export class ProcessorSet {
  readonly #list: Processor[];
  readonly #mappings: readonly MapHeaderToField[];

  constructor(private readonly config: PetrelConfig) {
    this.#list = [processorFrom('fbl', config.feedbackLoopProcessor), processorFrom('bounce', config.bounceProcessor)].filter((p): p is Processor => p !== undefined);
    this.#mappings = config.acctFiles.flatMap((b) => values<MapHeaderToField>(b, 'map-header-to-field'));
  }

  get empty(): boolean {
    return this.#list.length === 0;
  }

  get mappings(): readonly MapHeaderToField[] {
    return this.#mappings;
  }

  /** Could any recipient of this domain belong to a processor? (cheap pre-check per queue) */
  mayClaim(domain: string): boolean {
    return this.#list.some((p) => p.addresses.length > 0 || p.domains.some((d) => matchDomainPattern(d, domain, this.config.domainMacros)));
  }

  claim(address: string): Processor | undefined {
    const at = address.lastIndexOf('@');
    const domain = address.slice(at + 1).toLowerCase();
    return this.#list.find((p) => p.domains.some((d) => matchDomainPattern(d, domain, this.config.domainMacros)) || p.addresses.some((re) => re.test(address)));
  }
}

const consumed = (text: string): RemoteReply => ({ code: 250, enhanced: '2.0.0', text, phase: 'data', local: true });

/**
 * Wraps the queue's normal session: recipients a processor claims are parsed
 * and consumed (or passed on per deliver-*-email); the others go to `inner`.
 */
export class ProcessorSession implements DeliverySession {
  constructor(
    private readonly set: ProcessorSet,
    private readonly inner: DeliverySession,
    private readonly spool: Spool,
    private readonly record: AcctRecorder,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get usable(): boolean {
    return this.inner.usable;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async deliver(messages: readonly LeasedMessage[]): Promise<RecipientOutcome[]> {
    const out: RecipientOutcome[] = [];
    const passOn: LeasedMessage[] = [];
    for (const m of messages) {
      const mine = m.recipients.filter((r) => this.set.claim(r.address));
      const rest = m.recipients.filter((r) => !this.set.claim(r.address));
      if (rest.length > 0) passOn.push({ ...m, recipients: rest });
      if (mine.length === 0) continue;
      const processor = this.set.claim(mine[0]!.address)!;
      const matched = await this.#process(processor, m, mine[0]!.address);
      const deliver = matched ? processor.deliverMatched : processor.deliverUnmatched;
      if (deliver) passOn.push({ ...m, recipients: mine });
      else for (const r of mine) out.push({ recipientId: r.id, kind: 'delivered', scope: 'recipient', reply: consumed(`consumed by the ${processor.kind === 'fbl' ? 'feedback-loop' : 'bounce'} processor (${matched ? 'matched' : 'unmatched'})`) });
    }
    if (passOn.length > 0) out.push(...(await this.inner.deliver(passOn)));
    return out;
  }

  /** Parses one message; writes its records; true when it was a bounce / report. Never throws. */
  async #process(p: Processor, m: LeasedMessage, envelopeTo: string): Promise<boolean> {
    let body: Buffer;
    try {
      body = await this.spool.readBody(m.messageId);
    } catch (e) {
      this.log.warn('processor could not read the message', { id: m.messageId, error: String((e as Error)?.message ?? e) });
      return false;
    }
    const now = this.clock.now();
    try {
      if (p.kind === 'fbl') {
        const arf = await parseArf(body, { mapHeaderToField: this.set.mappings });
        if (arf.kind !== 'arf') {
          this.log.info('feedback-loop processor: not an ARF report', { id: m.messageId, reason: arf.reason });
          return false;
        }
        const extra: Record<string, string> = {};
        const put = (k: string, v: string | undefined): void => {
          if (v !== undefined && v !== '') extra[k] = v;
        };
        put('feedbackType', arf.feedbackType);
        put('format', 'arf');
        put('userAgent', arf.userAgent);
        put('reportingMta', arf.reportingMta);
        put('reportedDomain', arf.reportedDomain);
        put('repSourceIp', m.envelope.sourceIp);
        put('rcvSourceIp', arf.sourceIp);
        put('arrivalDate', arf.arrivalDate);
        put('originalMailFrom', arf.originalMailFrom);
        put('originalRcptTo', arf.originalRcptTo?.join(' '));
        put('jobId', arf.jobId);
        put('envId', arf.envelopeId);
        const rcpt = arf.originalRcptTo?.[0] ?? arf.verpRecipient;
        await this.record([
          {
            type: 'f',
            time: now,
            ...(rcpt ? { recipient: { address: rcpt } } : {}),
            ...(arf.originalMailFrom ? { envelope: { ...m.envelope, mailFrom: arf.originalMailFrom, id: m.messageId, size: m.size } } : {}),
            headers: (name) => arf.originalHeaders[name.toLowerCase()],
            extra,
          },
        ]);
        return true;
      }
      const bounce = await parseBounce(body, { envelopeTo });
      if (bounce.kind === 'unparseable' || bounce.recipients.length === 0) {
        this.log.info('bounce processor: not a bounce', { id: m.messageId, reason: bounce.reason ?? 'no failed recipient found' });
        return false;
      }
      const events: AcctEvent[] = bounce.recipients.map((r) => {
        const status = r.status ?? '5.0.0';
        const diagnostic = r.diagnostic ?? '';
        const rcpt = r.finalRecipient ?? r.originalRecipient ?? bounce.verpRecipient ?? '';
        const headers = bounce.originalHeaders ?? {};
        return {
          type: 'rb',
          time: now,
          recipient: { address: rcpt, ...(r.originalRecipient ? { orcpt: r.originalRecipient } : {}) },
          outcome: {
            action: (r.action as 'failed' | 'delayed') ?? 'failed',
            status,
            diagnostic,
            ...(r.remoteMta ? { mta: r.remoteMta } : {}),
            category: r.category ?? classify({ status, diagnostic }).category,
          },
          headers: (name: string) => headers[name.toLowerCase()],
          extra: {
            ...(bounce.reportingMta ? { dsnReportingMta: bounce.reportingMta } : {}),
            ...(headers['x-job'] ? { jobId: headers['x-job'] } : {}),
            ...(bounce.originalEnvelopeId ? { envId: bounce.originalEnvelopeId } : {}),
          },
        };
      });
      await this.record(events);
      return true;
    } catch (e) {
      // Hostile or broken input: recorded as unparseable in the log, never a crash, never a bounce.
      this.log.warn('processor could not parse the message', { id: m.messageId, kind: p.kind, error: String((e as Error)?.message ?? e) });
      return false;
    }
  }
}
