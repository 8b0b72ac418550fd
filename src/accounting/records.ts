/**
 * @module accounting/records
 *
 * The accounting vocabulary: the closed list of record types (STYLE habit
 * 17), the catalogue of fields with their meaning, PowerMTA's default
 * column order per record type, the event the queue manager hands in
 * (`AcctEvent`), and `fieldValue()`, which turns one event into the text of
 * one field.
 *
 * Exports:
 * - `RECORD_TYPES`, `RecordType`, `RECORD_TYPE_MEANINGS`, `isRecordType()`.
 * - `FIELDS` (name → `{ meaning, types }`), `FieldName`, `isFieldName()`,
 *   `canonicalField(name)` (case-insensitive lookup; `header_*` kept as written).
 * - `DEFAULT_FIELDS` — per record type, the columns `*` stands for, in order.
 * - `AcctEvent`, `AcctOutcome`, `DsnAction`.
 * - `FieldContext`, `fieldValue(event, field, ctx)`.
 *
 * Invariants:
 * - Every record starts with the `type` column; `type` is never repeated.
 * - `fieldValue` never returns a value with CR or LF in it (headers are
 *   unfolded, control characters become spaces): one record is one line.
 * - A field a record type does not carry is the empty string, never an error:
 *   the column set is fixed by the configuration, not by the data.
 *
 * Default order: a real PowerMTA `t` record (26 columns) fixes the d/b/t/tq
 * layout; the `f` layout is reconstructed so that the positions a widely used
 * handler reads (format 4, userAgent 5, orig 7, rcpt 8, originalMailFrom 12)
 * line up. See docs/accounting.md.
 */
import type { StoredEnvelope } from '../spool/types.js';
import type { DeliveryFacts } from '../delivery/types.js';
import { formatDsnStatus } from './dsn-status.js';

/** Record types Petrel writes. `rs` is accepted in `records` (PowerMTA lists it) but never produced. */
export const RECORD_TYPES = ['d', 'b', 't', 'tq', 'r', 'rb', 'f'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export const RECORD_TYPE_MEANINGS: Readonly<Record<RecordType, string>> = {
  d: 'delivered: the remote server accepted the recipient',
  b: 'bounced in-band: a permanent failure (or expiry) decided by Petrel',
  t: 'transient failure: one delivery attempt for the recipient failed, it stays queued',
  tq: 'queue-level transient failure: a connection or DNS failure that concerns the whole queue',
  r: 'received: one recipient of a message accepted into the spool',
  rb: 'remote bounce: an out-of-band DSN received by the bounce processor',
  f: 'feedback loop: an ARF complaint received by the feedback-loop processor',
};

export function isRecordType(s: string): s is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(s);
}

export type DsnAction = 'relayed' | 'failed' | 'delayed' | 'delivered' | 'expanded';

/** What happened to one recipient (d, b, t, tq, rb). */
export interface AcctOutcome {
  readonly action: DsnAction;
  /** RFC 3463 status, `5.1.1`; written as `5.1.1 (bad destination mailbox address)`. */
  readonly status: string;
  /** `smtp;550 5.1.1 user unknown`. */
  readonly diagnostic: string;
  /** `mx.example.com (192.0.2.1)`. */
  readonly mta?: string;
  /** Bounce category (`bad-mailbox`, … or a user-defined one). */
  readonly category?: string;
}

/** One thing to record; the queue manager (and the bounce / FBL processors) build these. */
export interface AcctEvent {
  readonly type: RecordType;
  /** When it happened (ms since the epoch): `timeLogged`. */
  readonly time: number;
  readonly envelope?: StoredEnvelope & { readonly id: string; readonly size: number };
  readonly recipient?: { readonly address: string; readonly orcpt?: string };
  readonly outcome?: AcctOutcome;
  readonly delivery?: DeliveryFacts;
  /** Queue name, `domain/vmta`. */
  readonly queue?: string;
  readonly vmtaPool?: string;
  /** Header lookup (case-insensitive), called only when a `header_` field or a mapping needs it. */
  readonly headers?: (name: string) => string | undefined;
  /** Values by field name; wins over what Petrel derives (f and rb fields, `srcMta`, `dlvType`, …). */
  readonly extra?: Readonly<Record<string, string>>;
}

interface FieldInfo {
  readonly meaning: string;
}

/** Every field Petrel knows, in PowerMTA's default column order (then the extras). */
export const FIELDS = {
  type: { meaning: 'record type: d, b, t, tq, r, rb, f' },
  timeLogged: { meaning: 'when the record was written' },
  timeQueued: { meaning: 'when the message was accepted into the spool' },
  orig: { meaning: 'originator: the MAIL FROM address (empty for the null sender)' },
  rcpt: { meaning: 'the recipient (RCPT TO address) the record is about' },
  orcpt: { meaning: 'ORCPT= as given by the client (RFC 3461), `rfc822;addr`' },
  dsnAction: { meaning: 'DSN action: relayed, delivered, failed, delayed, expanded' },
  dsnStatus: { meaning: 'DSN status with its RFC 3463 description: `5.1.1 (bad destination mailbox address)`' },
  dsnDiag: { meaning: 'diagnostic: `smtp;550 5.1.1 …` (the remote reply)' },
  dsnMta: { meaning: 'the remote MTA: `mx.example.com (192.0.2.1)`' },
  bounceCat: { meaning: 'bounce category (`bad-mailbox`, `policy-related`, …)' },
  srcType: { meaning: 'how the message arrived: `smtp` or `local` (generated by Petrel)' },
  srcMta: { meaning: 'where it came from: `HELO-name (IP)`' },
  dlvType: { meaning: 'delivery type: `smtp`, or the local type (`pipe`, `file`, `discard`)' },
  dlvSourceIp: { meaning: 'local IP address used for delivery' },
  dlvDestinationIp: { meaning: 'remote IP address delivered to' },
  dlvEsmtpAvailable: { meaning: 'ESMTP extensions the remote offered: `PIPELINING,8BITMIME,SIZE,STARTTLS`' },
  dlvSize: { meaning: 'size of the message delivered, in bytes' },
  vmta: { meaning: 'virtual MTA of the message' },
  jobId: { meaning: 'job id (`X-Job:` header with process-x-job)' },
  envId: { meaning: 'envelope id (ENVID=, RFC 3461)' },
  queue: { meaning: 'queue: `domain/vmta`' },
  vmtaPool: { meaning: 'virtual-MTA pool the message was sent through' },
  dlvTlsProtocol: { meaning: 'TLS protocol of the delivery connection (`TLSv1.3`), empty in clear' },
  dlvTlsCipher: { meaning: 'TLS cipher of the delivery connection' },
  rcvSmtpUser: { meaning: 'SMTP AUTH user the message was received from' },
  dsnReportingMta: { meaning: 'rb: the Reporting-MTA of the received DSN' },
  feedbackType: { meaning: 'f: Feedback-Type of the ARF report (`abuse`, `not-spam`, …)' },
  format: { meaning: 'f: report format (`arf`, `jmrp`, …)' },
  userAgent: { meaning: 'f: User-Agent of the report' },
  reportingMta: { meaning: 'f: Reporting-MTA of the report' },
  reportedDomain: { meaning: 'f: Reported-Domain of the report' },
  repSourceIp: { meaning: 'f: Source-IP named in the report (our sending IP)' },
  rcvSourceIp: { meaning: 'IP address the message (or report) was received from' },
  arrivalDate: { meaning: 'f: Arrival-Date of the reported message, as written in the report' },
  originalMailFrom: { meaning: 'f: Original-Mail-From of the report' },
  originalRcptTo: { meaning: 'f: Original-Rcpt-To of the report' },
} as const satisfies Record<string, FieldInfo>;

export type FieldName = keyof typeof FIELDS;

const BY_LOWER = new Map<string, FieldName>(Object.keys(FIELDS).map((k) => [k.toLowerCase(), k as FieldName]));

export function isFieldName(s: string): s is FieldName {
  return Object.prototype.hasOwnProperty.call(FIELDS, s);
}

/** Canonical spelling of a field name (`TIMELOGGED` → `timeLogged`), `header_X` as written, or undefined when unknown. */
export function canonicalField(name: string): string | undefined {
  if (/^header_./i.test(name)) return `header_${name.slice(7)}`;
  return BY_LOWER.get(name.toLowerCase());
}

/** The 26 columns of a PowerMTA d/b/t/tq record, `type` first. */
const DELIVERY_FIELDS: readonly FieldName[] = [
  'type', 'timeLogged', 'timeQueued', 'orig', 'rcpt', 'orcpt', 'dsnAction', 'dsnStatus', 'dsnDiag', 'dsnMta',
  'bounceCat', 'srcType', 'srcMta', 'dlvType', 'dlvSourceIp', 'dlvDestinationIp', 'dlvEsmtpAvailable', 'dlvSize',
  'vmta', 'jobId', 'envId', 'queue', 'vmtaPool', 'dlvTlsProtocol', 'dlvTlsCipher', 'rcvSmtpUser',
];

/** What `*` stands for, per record type (always starting with `type`). */
export const DEFAULT_FIELDS: Readonly<Record<RecordType, readonly FieldName[]>> = {
  d: DELIVERY_FIELDS,
  b: DELIVERY_FIELDS,
  t: DELIVERY_FIELDS,
  tq: DELIVERY_FIELDS,
  rb: [...DELIVERY_FIELDS, 'dsnReportingMta'],
  r: ['type', 'timeLogged', 'timeQueued', 'orig', 'rcpt', 'orcpt', 'srcType', 'srcMta', 'rcvSourceIp', 'rcvSmtpUser', 'dlvSize', 'vmta', 'jobId', 'envId', 'queue'],
  f: [
    'type', 'timeLogged', 'repSourceIp', 'feedbackType', 'format', 'userAgent', 'reportingMta', 'orig', 'rcpt',
    'reportedDomain', 'rcvSourceIp', 'arrivalDate', 'originalMailFrom', 'originalRcptTo', 'jobId', 'srcMta',
  ],
};

/** How one output renders the values that depend on it. */
export interface FieldContext {
  /** Formats `timeLogged` / `timeQueued`. */
  readonly formatTime: (ms: number) => string;
  /** `map-header-to-field` for this record type: field → header name. */
  readonly mapped?: ReadonlyMap<string, string>;
}

/** Unfolds and flattens a value so that it fits on one line (CR, LF and other controls become spaces). */
export function oneLine(s: string): string {
  // Header folding (CRLF + WSP) collapses to one space, as RFC 5322 §2.2.3 unfolding does.
  // eslint-disable-next-line no-control-regex
  return s.replace(/\r?\n[ \t]+/g, ' ').replace(/[\x00-\x08\x0a-\x1f\x7f]+/g, ' ');
}

/** Memoised header lookup, so that an event's header is read at most once per name. */
export function headerReader(event: AcctEvent): (name: string) => string | undefined {
  const get = event.headers;
  if (!get) return () => undefined;
  const seen = new Map<string, string | undefined>();
  return (name) => {
    const key = name.toLowerCase();
    if (!seen.has(key)) seen.set(key, get(name));
    return seen.get(key);
  };
}

/** The text of one field of one event (never containing CR/LF). `header` is the memoised header lookup. */
export function fieldValue(event: AcctEvent, field: string, ctx: FieldContext, header: (name: string) => string | undefined): string {
  const mappedHeader = ctx.mapped?.get(field);
  if (mappedHeader !== undefined) {
    const v = header(mappedHeader);
    if (v !== undefined && v.trim() !== '') return oneLine(v.trim());
  }
  if (field.startsWith('header_')) {
    const v = header(field.slice(7));
    return v === undefined ? '' : oneLine(v.trim());
  }
  const given = event.extra?.[field];
  if (given !== undefined) return oneLine(given);
  return oneLine(derived(event, field as FieldName, ctx));
}

function derived(e: AcctEvent, field: FieldName, ctx: FieldContext): string {
  const env = e.envelope;
  const dlv = e.delivery;
  switch (field) {
    case 'type':
      return e.type;
    case 'timeLogged':
      return ctx.formatTime(e.time);
    case 'timeQueued':
      return env ? ctx.formatTime(env.arrivedAt) : '';
    case 'orig':
      return env?.mailFrom ?? '';
    case 'rcpt':
      return e.recipient?.address ?? '';
    case 'orcpt':
      return e.recipient?.orcpt ?? '';
    case 'dsnAction':
      return e.outcome?.action ?? '';
    case 'dsnStatus':
      return e.outcome ? formatDsnStatus(e.outcome.status) : '';
    case 'dsnDiag':
      return e.outcome?.diagnostic ?? '';
    case 'dsnMta':
      if (e.outcome?.mta) return e.outcome.mta;
      if (dlv?.destinationIp) return `${dlv.destinationHost ?? dlv.destinationIp} (${dlv.destinationIp})`;
      return '';
    case 'bounceCat':
      return e.outcome?.category ?? '';
    case 'srcType':
      return env ? (env.sourceIp ? 'smtp' : 'local') : '';
    case 'srcMta':
      // XXX the spool keeps no HELO name: the address literal stands in for it unless extra.srcMta is given.
      return env?.sourceIp ? `[${env.sourceIp}] (${env.sourceIp})` : '';
    case 'dlvType':
      return dlv ? 'smtp' : '';
    case 'dlvSourceIp':
      return dlv?.sourceIp ?? '';
    case 'dlvDestinationIp':
      return dlv?.destinationIp ?? '';
    case 'dlvEsmtpAvailable':
      return dlv?.esmtpAvailable ?? '';
    case 'dlvSize': {
      const size = dlv?.size ?? env?.size;
      return size === undefined ? '' : String(size);
    }
    case 'vmta':
      return env?.vmta ?? '';
    case 'jobId':
      return env?.jobId ?? '';
    case 'envId':
      return env?.envelopeId ?? env?.mailParams?.envid ?? '';
    case 'queue':
      return e.queue ?? '';
    case 'vmtaPool':
      return e.vmtaPool ?? '';
    case 'dlvTlsProtocol':
      return dlv?.tlsProtocol ?? '';
    case 'dlvTlsCipher':
      return dlv?.tlsCipher ?? '';
    case 'rcvSmtpUser':
      return env?.authUser ?? '';
    case 'rcvSourceIp':
      return env?.sourceIp ?? '';
    // Fields only the bounce / FBL processors know: they come through `extra`.
    case 'dsnReportingMta':
    case 'feedbackType':
    case 'format':
    case 'userAgent':
    case 'reportingMta':
    case 'reportedDomain':
    case 'repSourceIp':
    case 'arrivalDate':
    case 'originalMailFrom':
    case 'originalRcptTo':
      return '';
    default: {
      const exhaustive: never = field;
      void exhaustive;
      return '';
    }
  }
}
