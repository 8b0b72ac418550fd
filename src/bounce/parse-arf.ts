/**
 * @module bounce/parse-arf
 *
 * Feedback-loop complaints in the Abuse Reporting Format (RFC 5965): what the feedback-loop
 * processor needs to write an `f` record (reference/powermta.md §2.9).
 *
 * Exports:
 *  - `ParsedArf`, `ArfOptions`, `HeaderFieldMapping`.
 *  - `parseArf(raw, options?)`: Promise<ParsedArf>; never throws.
 *
 * Reading:
 *  - the `message/feedback-report` part gives Feedback-Type (lower-cased), User-Agent, Version,
 *    Reporting-MTA (`dns; host` → host), Original-Mail-From and Original-Rcpt-To (brackets removed;
 *    the latter may repeat), Source-IP, Arrival-Date (or the older Received-Date), Reported-Domain;
 *    every field is also in `reportFields` (lower-case name → first value);
 *  - the returned message (`message/rfc822`, `text/rfc822-headers`, or their RFC 6532 global forms)
 *    gives `originalHeaders` (lower-case names), `jobId` (its X-Job), `envelopeId` (its X-EnvId) and
 *    `originalMessageId`;
 *  - a report without a feedback-report part is `unparseable` with a reason.
 *
 * `mapHeaderToField` (PowerMTA's `map-header-to-field f header_X-HmXmrOriginalRecipient rcpt`):
 * each mapping copies a header of the ORIGINAL message into a field of the result when the header is
 * present, and it wins over the report's own value (the configuration asked for it). Known fields:
 * `rcpt` → originalRcptTo, `orig` → originalMailFrom, `jobId`, `envId` → envelopeId,
 * `reportingMta`, `reportedDomain`, `feedbackType`, `userAgent`, `repSourceIp`/`rcvSourceIp` →
 * sourceIp. Every mapped value is also recorded in `mapped` under its field name. Mappings of a
 * record type other than `f` (or `feedback-loop`) are ignored, so the configuration's whole list can
 * be passed. No mapping is applied by default (as in PowerMTA): Microsoft JMRP reports hide the
 * recipient, and `X-HmXmrOriginalRecipient` → `rcpt` recovers it.
 *
 * `verpRecipient`: providers that redact the recipient (AOL, Comcast) still return the envelope
 * sender; when that is a VERP address (`options.bounceDomain` restricts it) the recipient is decoded.
 *
 * Hostile input: as `parse-dsn.ts` (1 MiB read, depth caps, no recursion).
 */
import { attachmentBytes, attachmentText, bareMessageId, findAttachment, headerSection, readReport } from './mime-read.js';
import { decodeVerp } from './verp.js';

export interface HeaderFieldMapping {
  /** Record type (`f`); absent means `f`. */
  readonly type?: string;
  /** Header name without `header_`. */
  readonly header: string;
  readonly field: string;
}

export interface ArfOptions {
  readonly mapHeaderToField?: readonly HeaderFieldMapping[];
  /** Only VERP return paths at this domain are decoded into `verpRecipient`. */
  readonly bounceDomain?: string;
}

export interface ParsedArf {
  readonly kind: 'arf' | 'unparseable';
  readonly reason?: string;
  readonly feedbackType?: string;
  readonly userAgent?: string;
  readonly version?: string;
  readonly reportingMta?: string;
  readonly originalMailFrom?: string;
  readonly originalRcptTo?: string[];
  readonly sourceIp?: string;
  readonly arrivalDate?: string;
  readonly reportedDomain?: string;
  readonly reportFields?: Record<string, string>;
  readonly originalHeaders: Record<string, string>;
  readonly originalMessageId?: string;
  readonly jobId?: string;
  readonly envelopeId?: string;
  readonly mapped?: Record<string, string>;
  /** The recipient decoded from the VERP return path (Original-Mail-From, else the original's Return-Path). */
  readonly verpRecipient?: string;
  readonly truncated?: boolean;
}

const RETURNED_TYPES = ['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers'];
const REPORT_TYPES = ['message/feedback-report'];
const MAX_FIELDS = 500;
const MAX_RCPT = 100;

/** All fields of a feedback-report body: lower-case name → values in order (unfolded). */
function reportFieldsOf(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: { name: string; index: number } | undefined;
  let count = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue; // RFC 5965 has one group, but some senders add blank lines
    if (/^[ \t]/.test(line) && last) {
      const values = fields.get(last.name)!;
      values[last.index] = `${values[last.index]} ${line.trim()}`.slice(0, 4096);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || ++count > MAX_FIELDS) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    const values = fields.get(name) ?? [];
    values.push(line.slice(colon + 1).trim().slice(0, 4096));
    fields.set(name, values);
    last = { name, index: values.length - 1 };
  }
  return fields;
}

function address(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const bracketed = /<([^<>]*)>/.exec(v);
  const out = (bracketed ? bracketed[1]! : v).trim();
  return out === '' ? undefined : out;
}

function host(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  const out = (semi >= 0 ? value.slice(semi + 1) : value).trim().replace(/\s*\([^()]*\)\s*$/, '');
  return out === '' ? undefined : out;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0))) as T;
}

type Mutable = { -readonly [K in keyof ParsedArf]: ParsedArf[K] };

function applyMapping(result: Mutable, field: string, value: string): void {
  switch (field.toLowerCase()) {
    case 'rcpt': {
      const a = address(value);
      if (a) result.originalRcptTo = [a];
      break;
    }
    case 'orig': {
      const a = address(value);
      if (a) result.originalMailFrom = a;
      break;
    }
    case 'jobid':
      result.jobId = value;
      break;
    case 'envid':
      result.envelopeId = value;
      break;
    case 'reportingmta':
      result.reportingMta = value;
      break;
    case 'reporteddomain':
      result.reportedDomain = value;
      break;
    case 'feedbacktype':
      result.feedbackType = value.toLowerCase();
      break;
    case 'useragent':
      result.userAgent = value;
      break;
    case 'repsourceip':
    case 'rcvsourceip':
      result.sourceIp = value;
      break;
    default:
      break;
  }
}

export async function parseArf(raw: Buffer, options: ArfOptions = {}): Promise<ParsedArf> {
  try {
    return await parse(raw, options);
  } catch (error) {
    return { kind: 'unparseable', reason: `internal error: ${error instanceof Error ? error.message : String(error)}`, originalHeaders: {} };
  }
}

async function parse(raw: Buffer, options: ArfOptions): Promise<ParsedArf> {
  const read = await readReport(raw);
  if (!read.ok) return { kind: 'unparseable', reason: read.reason, originalHeaders: {} };
  const { email, truncated } = read;

  const returned = findAttachment(email, RETURNED_TYPES);
  const originalHeaders = returned ? headerSection(attachmentBytes(returned)) : {};
  const report = findAttachment(email, REPORT_TYPES);
  if (!report) {
    return compact({ kind: 'unparseable' as const, reason: 'no message/feedback-report part', originalHeaders, truncated: truncated || undefined });
  }

  const fields = reportFieldsOf(attachmentText(report));
  const first = (name: string) => fields.get(name)?.[0];
  const rcpts = (fields.get('original-rcpt-to') ?? []).map(address).filter((a): a is string => a !== undefined).slice(0, MAX_RCPT);
  const result: Mutable = {
    kind: 'arf',
    feedbackType: first('feedback-type')?.toLowerCase(),
    userAgent: first('user-agent'),
    version: first('version'),
    reportingMta: host(first('reporting-mta')),
    originalMailFrom: address(first('original-mail-from')),
    originalRcptTo: rcpts,
    sourceIp: first('source-ip'),
    arrivalDate: first('arrival-date') ?? first('received-date'),
    reportedDomain: first('reported-domain'),
    reportFields: Object.fromEntries([...fields].map(([name, values]) => [name, values[0]!])),
    originalHeaders,
    originalMessageId: bareMessageId(originalHeaders['message-id']),
    jobId: originalHeaders['x-job'],
    envelopeId: originalHeaders['x-envid'],
    truncated: truncated || undefined,
  };

  const mapped: Record<string, string> = {};
  for (const m of options.mapHeaderToField ?? []) {
    const type = (m.type ?? 'f').toLowerCase();
    if (type !== 'f' && type !== 'feedback-loop') continue;
    const value = originalHeaders[String(m.header).replace(/^header_/i, '').toLowerCase()];
    if (value === undefined) continue;
    mapped[m.field] = value;
    applyMapping(result, m.field, value);
  }
  if (Object.keys(mapped).length > 0) result.mapped = mapped;
  const returnPath = result.originalMailFrom ?? address(originalHeaders['return-path']);
  if (returnPath) result.verpRecipient = decodeVerp(returnPath, options.bounceDomain);
  if (result.feedbackType === undefined) {
    return compact({ ...result, kind: 'unparseable' as const, reason: 'the feedback report has no Feedback-Type field' });
  }
  return compact(result);
}
