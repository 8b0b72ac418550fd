/**
 * @module server/intake
 *
 * One message being received (DATA or BDAT): the body streams in, the
 * header section is buffered until its blank line, then processed as the
 * `<source>` settings say, and the message is handed to the spool:
 *
 *   - `X-Virtual-MTA` read (process-x-virtual-mta) and removed unless
 *     retain-x-virtual-mta; the VMTA chosen (policy/vmta.ts);
 *   - the job id from `X-Job` (process-x-job, or the header named by
 *     jobid-header), removed unless retain-x-job;
 *   - the envelope id from `X-EnvId` (process-x-envid; DSN ENVID wins);
 *   - `remove-header` names and, with remove-received-headers, old
 *     `Received:` fields removed;
 *   - `queue-to`: recipients whose domain's mail goes to another queue carry
 *     that queue's domain in the envelope;
 *   - `Message-ID:` / `Date:` added when missing (add-message-id-header,
 *     add-date-header yes|override);
 *   - a `Received:` field prepended (add-received-header; hide-message-source
 *     drops the client's name and address from it), with TLS and AUTH
 *     details (RFC 5321 §4.4, RFC 3848 protocol names).
 *
 * Only then is the spool writer created (it needs the VMTA and ids for the
 * envelope), and the rest of the body streams straight into it.
 *
 * Invariant: `commit()` resolves only when the spool says the message is
 * durable; every failure is a `SpoolError` whose `smtp` field is the reply
 * (452 4.3.1 disk full, 451 4.3.0 I/O, 552 5.3.4 too large), and nothing of
 * a failed message remains.
 *
 * Exports: `IntakeOptions`, `MessageIntake`.
 */
import type { PetrelConfig } from '../config/model.js';
import type { ConfigResolver } from '../config/resolve.js';
import type { SessionPolicy } from '../policy/session-policy.js';
import type { VmtaSelector } from '../policy/vmta.js';
import { SpoolError } from '../spool/errors.js';
import type { Spool } from '../spool/spool.js';
import type { EnvelopeInput } from '../spool/types.js';
import type { MessageWriter } from '../spool/writer.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { findHeaderEnd, headerValue, parseHeaderFields, serializeHeaderFields, type HeaderField } from './headers.js';

/** Past this, a header section without its blank line is treated as all header (a body-less message). */
const MAX_HEADER_BYTES = 1024 * 1024;

export interface ReceivedInfo {
  readonly heloName: string;
  readonly clientIp: string;
  readonly clientHost?: string;
  readonly protocol: 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA' | 'LMTP';
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  readonly authUser?: string;
  readonly recipientForHeader?: string;
}

export interface IntakeOptions {
  readonly spool: Spool;
  readonly config: PetrelConfig;
  readonly policy: SessionPolicy;
  readonly vmtas: VmtaSelector;
  /** For per-queue settings decided at intake (`queue-to`). */
  readonly resolver: ConfigResolver;
  /** Envelope without VMTA/job/envelope ids: intake fills those from the headers. */
  readonly envelope: EnvelopeInput;
  readonly hostname: string;
  readonly received: ReceivedInfo;
  readonly clock: Clock;
  readonly log: Logger;
  readonly sessionId: string;
}

export class MessageIntake {
  #head: Buffer[] = [];
  #headBytes = 0;
  #writer: MessageWriter | undefined;
  #error: SpoolError | undefined;
  #octets = 0;

  constructor(private readonly o: IntakeOptions) {}

  /** Body octets received so far (before header processing). */
  get octets(): number {
    return this.#octets;
  }

  get failed(): SpoolError | undefined {
    return this.#error;
  }

  /** Feeds body bytes (already dot-unstuffed for DATA). Never throws: a failure is kept for `commit()`. */
  push(chunk: Buffer): void {
    this.#octets += chunk.length;
    if (this.#error) return;
    try {
      if (this.#writer) {
        this.#writer.write(chunk);
        return;
      }
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      const joined = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head);
      this.#head = [joined];
      const end = findHeaderEnd(joined, this.#headBytes - chunk.length);
      if (end >= 0) this.#startWriter(joined.subarray(0, end), joined.subarray(end), true);
      else if (this.#headBytes > MAX_HEADER_BYTES) this.#startWriter(joined, Buffer.alloc(0), false);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** Ends the body and commits; resolves with the message id once durable. */
  async commit(): Promise<string> {
    if (!this.#error && !this.#writer) {
      const all = this.#head.length ? Buffer.concat(this.#head) : Buffer.alloc(0);
      try {
        const end = findHeaderEnd(all);
        if (end >= 0) this.#startWriter(all.subarray(0, end), all.subarray(end), true);
        else this.#startWriter(all, Buffer.alloc(0), false);
      } catch (e) {
        this.#fail(e);
      }
    }
    if (this.#error) {
      await this.abort();
      throw this.#error;
    }
    try {
      return await this.#writer!.commit();
    } catch (e) {
      this.#fail(e);
      throw this.#error!;
    }
  }

  async abort(): Promise<void> {
    const w = this.#writer;
    this.#writer = undefined;
    this.#head = [];
    if (w) await w.abort().catch(() => undefined);
  }

  #fail(e: unknown): void {
    this.#error = e instanceof SpoolError ? e : new SpoolError('SPOOL_IO', String((e as Error)?.message ?? e), { cause: e });
    const w = this.#writer;
    this.#writer = undefined;
    if (w) void w.abort().catch(() => undefined);
  }

  #startWriter(headerSection: Buffer, rest: Buffer, hasBlankLine: boolean): void {
    const { policy, envelope } = this.o;
    let fields = parseHeaderFields(headerSection);
    const get = (lower: string): string | undefined => {
      const f = fields.find((x) => x.lower === lower);
      return f ? headerValue(f) : undefined;
    };
    const drop = (lower: string): void => {
      fields = fields.filter((f) => f.lower !== lower);
    };

    // VMTA, before the X-Virtual-MTA header is removed.
    const choice = this.o.vmtas.select(policy, {
      mailFrom: envelope.mailFrom,
      firstRecipient: envelope.recipients[0]?.address ?? '',
      header: get,
    });
    if (choice.warning) this.o.log.warn(choice.warning, { session: this.o.sessionId });
    if (policy.bool('process-x-virtual-mta', false) && !policy.bool('retain-x-virtual-mta', false)) drop('x-virtual-mta');

    let jobId: string | undefined;
    if (policy.bool('process-x-job', false) || policy.get<string>('jobid-header')) {
      const name = (policy.get<string>('jobid-header') ?? 'x-job').toLowerCase();
      jobId = get(name) || undefined;
      if (!policy.bool('retain-x-job', false)) drop(name);
    }
    let envelopeId = envelope.mailParams?.envid;
    if (policy.bool('process-x-envid', false)) {
      const v = get('x-envid');
      if (v && !envelopeId) envelopeId = v;
      drop('x-envid');
    }
    for (const name of policy.get<string[]>('remove-header') ?? []) drop(name.toLowerCase());
    if (policy.bool('remove-received-headers', false)) drop('received');

    // queue-to: a domain's mail joins another queue (a rollup such as `hotmail.queue`), decided now and kept with the message.
    const recipients = envelope.recipients.map((r) => {
      const domain = r.address.slice(r.address.lastIndexOf('@') + 1).toLowerCase();
      const to = this.o.resolver.domain<string>('queue-to', domain, choice.vmta).value;
      return to && to.toLowerCase() !== domain ? { ...r, queue: to.toLowerCase() } : r;
    });
    const writer = this.o.spool.createMessage({
      ...envelope,
      recipients,
      ...(choice.vmta ? { vmta: choice.vmta } : {}),
      ...(jobId ? { jobId } : {}),
      ...(envelopeId ? { envelopeId } : {}),
    });
    this.#writer = writer;

    const added: string[] = [];
    if (policy.bool('add-received-header', true)) added.push(this.#received(writer.id));
    const dateMode = policy.get<string>('add-date-header') ?? 'yes';
    const hasDate = fields.some((f) => f.lower === 'date');
    if (dateMode === 'override' || (!hasDate && dateMode !== 'no')) {
      if (dateMode === 'override') drop('date');
      fields.push({ name: 'Date', lower: 'date', raw: `Date: ${rfc5322Date(this.o.clock.now())}\r\n` });
    }
    if (policy.bool('add-message-id-header', true) && !fields.some((f) => f.lower === 'message-id')) {
      fields.push({ name: 'Message-ID', lower: 'message-id', raw: `Message-ID: <${writer.id}@${this.o.hostname}>\r\n` });
    }
    const headerOut = Buffer.concat([
      Buffer.from(added.join(''), 'latin1'),
      serializeHeaderFields(fields as HeaderField[]),
      Buffer.from(hasBlankLine ? '\r\n' : '', 'latin1'),
    ]);
    writer.write(headerOut);
    if (rest.length > 0) writer.write(rest);
    if (policy.bool('log-data', false)) {
      // PowerMTA's log-data ("even more verbose"): the message as received, its first 4 KB.
      const data = Buffer.concat([headerSection, rest]).subarray(0, 4096).toString('latin1');
      this.o.log.info('data', { session: this.o.sessionId, id: writer.id, octets: this.#octets, data });
    }
    this.#head = [];
  }

  /** Postfix-style layout: `from …` / `by … with … id …` / `for <…>; date`, one clause per folded line. */
  #received(id: string): string {
    const r = this.o.received;
    const hide = this.o.policy.bool('hide-message-source', false);
    const lines: string[] = [];
    if (!hide) lines.push(`from ${sanitize(r.heloName)} (${r.clientHost ? `${r.clientHost} ` : ''}[${r.clientIp}])`);
    const by = [`by ${this.o.hostname} (Petrel) with ${r.protocol}`];
    if (r.tls) by.push(`(version=${r.tls.protocol} cipher=${r.tls.cipher})`);
    if (r.authUser && !hide) by.push(`(authenticated as ${sanitize(r.authUser)})`);
    by.push(`id ${id}`);
    lines.push(by.join(' '));
    const date = rfc5322Date(this.o.clock.now());
    lines.push(r.recipientForHeader ? `for <${sanitize(r.recipientForHeader)}>; ${date}` : `; ${date}`);
    if (!r.recipientForHeader) {
      lines.pop();
      lines[lines.length - 1] += `; ${date}`;
    }
    return `Received: ${lines.join('\r\n\t')}\r\n`;
  }
}

function sanitize(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '?').replace(/[()<>]/g, '?');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 §3.3 date-time in UTC: `Sun, 29 Nov 2026 12:45:17 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
