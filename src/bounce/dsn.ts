/**
 * @module bounce/dsn
 *
 * Composing delivery status notifications (RFC 3464) that Petrel sends to the envelope sender.
 *
 * Exports:
 *  - `DsnAction`, `DsnRecipient`, `DsnInput`.
 *  - `composeDsn(input): Buffer` — the whole message, CRLF line ends, ready for the spool.
 *  - `dsnSubject(recipients)`: the Subject chosen for a set of recipient actions.
 *
 * Layout (`format: 'standard'`, the default; `dsn-format standard`):
 *   multipart/report; report-type=delivery-status
 *     1. text/plain — which recipients failed (or were delayed / delivered) and why, in plain
 *        English: the category meaning from `classify()`, then the remote reply as received;
 *     2. message/delivery-status — Reporting-MTA, Original-Envelope-Id, Arrival-Date; per recipient
 *        Final-Recipient, Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
 *        Last-Attempt-Date, Will-Retry-Until;
 *     3. text/rfc822-headers (RET=HDRS or no RET: `originalBody` absent) or message/rfc822
 *        (RET=FULL: `originalBody` given).
 * `format: 'plain-text'` (`dsn-format plain-text`) is one text/plain message carrying the same three
 * sections one after the other.
 *
 * Headers: `From: Mail Delivery System <MAILER-DAEMON@reportingMta>`, `Auto-Submitted: auto-replied`
 * (RFC 3834 §5), Date, Message-ID, To, Subject, MIME-Version. Every header line of the DSN and of the
 * delivery-status part is at most 998 octets (folded at white space, `mime-build.field`); values are
 * stripped of CR/LF, so no input can inject a header.
 *
 * Decisions:
 *  - Own MIME builder, not nodemailer's MimeNode: no run-time dependency, and line lengths are ours.
 *  - SMTPUTF8 (RFC 6533): when any recipient address is not ASCII, the report part is
 *    `message/global-delivery-status`, such addresses are written `utf-8; <address in UTF-8>`, and
 *    the returned message is `message/global-headers` / `message/global`. Otherwise the classic types
 *    are used; original headers with 8-bit bytes are then sent as `text/rfc822-headers` with
 *    `Content-Transfer-Encoding: 8bit` (what Postfix does). The text part is quoted-printable UTF-8
 *    when it is not ASCII.
 *  - RET=FULL with a body that cannot travel as 8bit (a NUL byte or a line over 998 octets) returns the
 *    headers only and says so in the text part, rather than producing a message no relay accepts.
 *  - Bare LF in the original is turned into CRLF.
 *  - The Date header falls back to `arrivalDate`, then the epoch, if `date` is invalid; invalid
 *    optional dates are left out. Nothing here reads the clock.
 *
 * Contract: never throws for any input shape the types allow (and tolerates missing optional parts).
 */
import { classify } from './classify.js';
import { CATEGORY_MEANINGS, isBuiltinCategory } from './categories.js';
import { formatTypedAddress, typedAddress } from './dsn-fields.js';
import { field, foldLongLines, isAscii, longestLine, newBoundary, qpEncode, rfc5322Date, singleLine, toCrlf } from './mime-build.js';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  readonly finalRecipient: string;
  /** ORCPT as `rfc822;addr` (or a bare address). */
  readonly originalRecipient?: string;
  readonly action: DsnAction;
  /** RFC 3463 status, `5.1.1`. */
  readonly status: string;
  readonly remoteMta?: string;
  /** `smtp; 550 5.1.1 …` (a bare reply gets `smtp; `). */
  readonly diagnostic?: string;
  readonly lastAttempt?: Date;
  readonly willRetryUntil?: Date;
}

export interface DsnInput {
  readonly reportingMta: string;
  readonly postmaster: string;
  readonly arrivalDate: Date;
  readonly originalEnvelopeId?: string;
  readonly recipients: readonly DsnRecipient[];
  readonly originalHeaders: Buffer;
  /** Present when RET=FULL: the returned message then includes its body. */
  readonly originalBody?: Buffer;
  readonly to: string;
  readonly messageId: string;
  readonly date: Date;
  readonly format?: 'standard' | 'plain-text';
}

const CRLF = '\r\n';

export function dsnSubject(recipients: readonly Pick<DsnRecipient, 'action'>[]): string {
  if (recipients.some((r) => r.action === 'failed')) return 'Undelivered Mail Returned to Sender';
  if (recipients.some((r) => r.action === 'delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

function bare(address: string): string {
  const a = singleLine(address);
  return a.startsWith('<') && a.endsWith('>') ? a.slice(1, -1) : a;
}

function diagnosticValue(diagnostic: string): string {
  const d = singleLine(diagnostic);
  return /^[A-Za-z][A-Za-z0-9-]*\s*;/.test(d) ? d.replace(/^([A-Za-z][A-Za-z0-9-]*)\s*;\s*/, '$1; ') : `smtp; ${d}`;
}

function statusValue(status: string): string {
  return /^\s*([245]\.\d{1,3}\.\d{1,3})/.exec(String(status ?? ''))?.[1] ?? '5.0.0';
}

function originalRecipientOf(r: DsnRecipient): { type: string; address: string } | undefined {
  if (typeof r.originalRecipient !== 'string' || r.originalRecipient.trim() === '') return undefined;
  const parsed = typedAddress(singleLine(r.originalRecipient));
  return parsed.address === '' ? undefined : parsed;
}

/** The message/delivery-status body. */
function deliveryStatus(input: DsnInput): string {
  let out = field('Reporting-MTA', `dns; ${singleLine(input.reportingMta)}`);
  if (input.originalEnvelopeId) out += field('Original-Envelope-Id', input.originalEnvelopeId);
  const arrival = rfc5322Date(input.arrivalDate);
  if (arrival) out += field('Arrival-Date', arrival);
  for (const r of input.recipients) {
    out += CRLF;
    const orcpt = originalRecipientOf(r);
    if (orcpt) out += field('Original-Recipient', formatTypedAddress(orcpt.address, orcpt.type));
    out += field('Final-Recipient', formatTypedAddress(bare(r.finalRecipient)));
    out += field('Action', r.action);
    out += field('Status', statusValue(r.status));
    if (r.remoteMta) out += field('Remote-MTA', `dns; ${singleLine(r.remoteMta)}`);
    if (r.diagnostic) out += field('Diagnostic-Code', diagnosticValue(r.diagnostic));
    const last = rfc5322Date(r.lastAttempt);
    if (last) out += field('Last-Attempt-Date', last);
    const until = rfc5322Date(r.willRetryUntil);
    if (until) out += field('Will-Retry-Until', until);
  }
  return out;
}

/** Why, in plain English: the category's meaning, then the reply as received. */
function explain(r: DsnRecipient): string[] {
  const lines: string[] = [];
  const status = statusValue(r.status);
  const { category } = classify({ status, ...(r.diagnostic ? { diagnostic: r.diagnostic } : {}) });
  if (r.action === 'failed' || r.action === 'delayed') {
    const meaning = isBuiltinCategory(category) && category !== 'other' && category !== 'success' ? CATEGORY_MEANINGS[category] : 'the delivery attempt failed';
    lines.push(`    Reason: ${meaning} (status ${status}).`);
  }
  if (r.diagnostic) {
    const host = r.remoteMta ? `The server ${singleLine(r.remoteMta)} said` : 'The error was';
    lines.push(`    ${host}: ${singleLine(r.diagnostic).replace(/^[A-Za-z][A-Za-z0-9-]*\s*;\s*/, '')}`);
  }
  const until = rfc5322Date(r.willRetryUntil);
  if (r.action === 'delayed' && until) lines.push(`    Delivery will be retried until ${until}.`);
  return lines;
}

const HEADINGS: Readonly<Record<DsnAction, string>> = {
  failed: 'Your message could not be delivered to the following recipients. This is a permanent error; delivery will not be retried:',
  delayed: 'Delivery of your message to the following recipients has been delayed. You do not need to resend it: delivery will be retried automatically:',
  delivered: 'Your message was delivered to the following recipients:',
  relayed: 'Your message was relayed to the following recipients, whose servers will not send further delivery notices:',
  expanded: 'Your message was delivered to the following recipients, which are lists or aliases that were expanded:',
};

function humanText(input: DsnInput, headersOnlyInstead: boolean): string {
  const out: string[] = [`This is the mail system at ${singleLine(input.reportingMta)}.`, ''];
  for (const action of ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const) {
    const group = input.recipients.filter((r) => r.action === action);
    if (group.length === 0) continue;
    out.push(HEADINGS[action], '');
    for (const r of group) out.push(`  <${bare(r.finalRecipient)}>`, ...explain(r), '');
  }
  if (headersOnlyInstead) out.push('The full message could not be returned (it has lines too long to send back); its headers are attached.', '');
  out.push(`For further help, write to ${singleLine(input.postmaster)} and include this report.`);
  return out.join('\n');
}

function textPart(text: string): { headers: string; body: string } {
  return isAscii(text) && text.split('\n').every((line) => line.length <= 998)
    ? { headers: field('Content-Type', 'text/plain; charset=us-ascii') + field('Content-Transfer-Encoding', '7bit'), body: text.replace(/\n/g, CRLF) }
    : { headers: field('Content-Type', 'text/plain; charset=utf-8') + field('Content-Transfer-Encoding', 'quoted-printable'), body: qpEncode(text) };
}

/** The returned message: headers (+ body when RET=FULL and it can travel), CRLF, long header lines folded. */
function returnedContent(input: DsnInput): { bytes: Buffer; full: boolean; headersOnlyInstead: boolean } {
  let headers = foldLongLines(toCrlf(Buffer.isBuffer(input.originalHeaders) ? input.originalHeaders : Buffer.alloc(0)));
  // Keep the header section only: up to (not including) the first empty line.
  const end = headers.indexOf('\r\n\r\n');
  headers = end >= 0 ? headers.subarray(0, end + 2) : headers.length > 0 && !headers.toString('latin1').endsWith(CRLF) ? Buffer.concat([headers, Buffer.from(CRLF)]) : headers;
  if (headers.subarray(0, 2).toString('latin1') === CRLF) headers = headers.subarray(2);
  if (!Buffer.isBuffer(input.originalBody)) return { bytes: headers, full: false, headersOnlyInstead: false };
  const body = toCrlf(input.originalBody);
  if (body.includes(0) || longestLine(body) > 998) return { bytes: headers, full: false, headersOnlyInstead: true };
  return { bytes: Buffer.concat([headers, Buffer.from(CRLF), body]), full: true, headersOnlyInstead: false };
}

function messageId(id: string): string {
  const v = singleLine(id).replace(/\s/g, '');
  return v.startsWith('<') ? v : `<${v}>`;
}

export function composeDsn(input: DsnInput): Buffer {
  const recipients = Array.isArray(input.recipients) ? input.recipients : [];
  const safe: DsnInput = { ...input, recipients };
  const global = recipients.some((r) => !isAscii(bare(r.finalRecipient ?? '')) || !isAscii(originalRecipientOf(r)?.address ?? ''));
  const returned = returnedContent(safe);
  const text = humanText(safe, returned.headersOnlyInstead);
  const status = deliveryStatus(safe);
  const host = singleLine(input.reportingMta);

  let head = '';
  head += field('From', `Mail Delivery System <MAILER-DAEMON@${host}>`);
  head += field('To', `<${bare(input.to)}>`);
  head += field('Subject', dsnSubject(recipients));
  head += field('Date', rfc5322Date(input.date) ?? rfc5322Date(input.arrivalDate) ?? rfc5322Date(new Date(0))!);
  head += field('Message-ID', messageId(input.messageId));
  head += field('Auto-Submitted', 'auto-replied');
  head += field('MIME-Version', '1.0');

  if (input.format === 'plain-text') {
    const whole = [text, '', '--- Delivery report ---', '', status.replace(/\r\n/g, '\n').trimEnd(), '', returned.full ? '--- Returned message ---' : '--- Headers of the returned message ---', '', returned.bytes.toString('utf8').replace(/\r\n/g, '\n')].join('\n');
    const part = textPart(whole);
    return Buffer.from(head + part.headers + CRLF + part.body + (part.body.endsWith(CRLF) ? '' : CRLF), 'utf8');
  }

  const human = textPart(text);
  const statusBytes = Buffer.from(status, 'utf8');
  const returnedType = returned.full ? (global ? 'message/global' : 'message/rfc822') : global ? 'message/global-headers' : 'text/rfc822-headers';
  const returnedCte = isAscii(returned.bytes) ? '7bit' : '8bit';
  const boundary = newBoundary([Buffer.from(human.body), statusBytes, returned.bytes]);

  head += field('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`);
  const parts: Buffer[] = [
    Buffer.from(`${head}${CRLF}This is a MIME-encapsulated message.${CRLF}${CRLF}--${boundary}${CRLF}`, 'utf8'),
    Buffer.from(field('Content-Description', 'Notification') + human.headers + CRLF + human.body + CRLF, 'utf8'),
    Buffer.from(`--${boundary}${CRLF}`),
    Buffer.from(field('Content-Description', 'Delivery report') + field('Content-Type', global ? 'message/global-delivery-status' : 'message/delivery-status') + (isAscii(status) ? '' : field('Content-Transfer-Encoding', '8bit')) + CRLF, 'utf8'),
    statusBytes,
    Buffer.from(`${CRLF}--${boundary}${CRLF}`),
    Buffer.from(field('Content-Description', returned.full ? 'Undelivered Message' : 'Undelivered Message Headers') + field('Content-Type', returnedType) + field('Content-Transfer-Encoding', returnedCte) + CRLF, 'utf8'),
    returned.bytes,
    Buffer.from(`${returned.bytes.length === 0 || returned.bytes.toString('latin1').endsWith(CRLF) ? '' : CRLF}${CRLF}--${boundary}--${CRLF}`),
  ];
  return Buffer.concat(parts);
}
