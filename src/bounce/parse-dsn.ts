/**
 * @module bounce/parse-dsn
 *
 * Incoming (out-of-band) bounces: what the bounce processor needs to write an `rb` record.
 *
 * Exports:
 *  - `BounceRecipient`, `ParsedBounce`, `ParseBounceOptions`.
 *  - `parseBounce(raw, options?)`: Promise<ParsedBounce> (async because postal-mime is).
 *
 * Order of recognition:
 *  1. RFC 3464: a `message/delivery-status` (or RFC 6533 `message/global-delivery-status`) part with
 *     at least one recipient group → `kind: 'dsn'`, `format: 'rfc3464'`;
 *  2. a known plain-text form (qmail, Yahoo, Exim, Postfix without a report part, Microsoft,
 *     Petrel's own `dsn-format plain-text`, or a generic mailer-daemon notice with an SMTP reply or
 *     `X-Failed-Recipients`) → `kind: 'nonstandard'` with `format` naming it;
 *  3. otherwise `kind: 'unparseable'` with a `reason`.
 * The returned message's headers come from its `message/rfc822`, `message/global`,
 * `text/rfc822-headers` or `message/global-headers` part, else from the copy inlined in the text.
 * `originalHeaders` keys are lower-case (`x-job`, `x-virtual-mta`, `message-id`).
 *
 * Each recipient gets `category` from `classify()` (the default rules, or `options.rules`).
 * `verpRecipient` is the recipient decoded from the VERP address the bounce was sent to
 * (`options.envelopeTo`, else the To header), when it is one (`options.bounceDomain` restricts it).
 *
 * Hostile input: only the first 1 MiB is read (`truncated: true` says so); the MIME depth is capped;
 * returned messages are never parsed recursively; nothing throws — a failure is `unparseable` with
 * the reason.
 */
import type { CategoryRule } from '../config/types.js';
import { classify } from './classify.js';
import { parseDeliveryStatus } from './dsn-fields.js';
import { attachmentBytes, attachmentText, bareMessageId, findAttachment, firstHeader, headerSection, readReport } from './mime-read.js';
import { parseTextBounce } from './nonstandard.js';
import type { TextBounce } from './nonstandard.js';
import { decodeVerp } from './verp.js';

export interface BounceRecipient {
  readonly finalRecipient?: string;
  readonly originalRecipient?: string;
  readonly action?: string;
  readonly status?: string;
  readonly diagnostic?: string;
  readonly remoteMta?: string;
  readonly category?: string;
}

export interface ParsedBounce {
  readonly kind: 'dsn' | 'nonstandard' | 'unparseable';
  readonly reason?: string;
  readonly format?: string;
  readonly reportingMta?: string;
  readonly originalEnvelopeId?: string;
  readonly arrivalDate?: string;
  readonly recipients: readonly BounceRecipient[];
  readonly originalMessageId?: string;
  readonly originalHeaders?: Record<string, string>;
  readonly verpRecipient?: string;
  readonly truncated?: boolean;
}

export interface ParseBounceOptions {
  /** Classification rules (the configuration's `<bounce-category-patterns>`); default rules otherwise. */
  readonly rules?: readonly CategoryRule[];
  /** The RCPT TO the bounce arrived for (a VERP return path). */
  readonly envelopeTo?: string;
  /** Only VERP addresses at this domain are decoded. */
  readonly bounceDomain?: string;
}

const RETURNED_TYPES = ['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers'];
const STATUS_TYPES = ['message/delivery-status', 'message/global-delivery-status'];

/** Rendered text from HTML, for bounces sent as HTML only. */
function htmlToText(html: string): string {
  return html
    .slice(0, 512 * 1024)
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function withCategory(r: BounceRecipient, rules: readonly CategoryRule[] | undefined): BounceRecipient {
  if (r.status === undefined && r.diagnostic === undefined) return r;
  const input = { ...(r.status ? { status: r.status } : {}), ...(r.diagnostic ? { diagnostic: r.diagnostic } : {}) };
  return { ...r, category: classify(input, rules).category };
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

export async function parseBounce(raw: Buffer, options: ParseBounceOptions = {}): Promise<ParsedBounce> {
  try {
    return await parse(raw, options);
  } catch (error) {
    // Defensive: every step above is written not to throw; this keeps the contract if one does.
    return { kind: 'unparseable', reason: `internal error: ${error instanceof Error ? error.message : String(error)}`, recipients: [] };
  }
}

async function parse(raw: Buffer, options: ParseBounceOptions): Promise<ParsedBounce> {
  const read = await readReport(raw);
  if (!read.ok) return { kind: 'unparseable', reason: read.reason, recipients: [] };
  const { email, truncated } = read;

  const returned = findAttachment(email, RETURNED_TYPES);
  let originalHeaders = returned ? headerSection(attachmentBytes(returned)) : undefined;
  if (originalHeaders && Object.keys(originalHeaders).length === 0) originalHeaders = undefined;

  const envelopeTo = options.envelopeTo ?? email.to?.find((a) => a.address)?.address;
  const verpRecipient = envelopeTo ? decodeVerp(envelopeTo, options.bounceDomain) : undefined;
  const common = (headers: Record<string, string> | undefined) =>
    compact({
      originalHeaders: headers,
      originalMessageId: bareMessageId(headers?.['message-id']),
      verpRecipient,
      truncated: truncated || undefined,
    });

  // 1. RFC 3464.
  const statusPart = findAttachment(email, STATUS_TYPES);
  if (statusPart) {
    const report = parseDeliveryStatus(attachmentText(statusPart));
    const recipients = report.recipients
      .filter((r) => r.finalRecipient !== undefined || r.originalRecipient !== undefined || r.status !== undefined)
      .map((r) =>
        withCategory(
          compact({ finalRecipient: r.finalRecipient, originalRecipient: r.originalRecipient, action: r.action, status: r.status, diagnostic: r.diagnostic, remoteMta: r.remoteMta }),
          options.rules,
        ),
      );
    if (recipients.length > 0) {
      return compact({
        kind: 'dsn' as const,
        format: 'rfc3464',
        reportingMta: report.reportingMta,
        originalEnvelopeId: report.originalEnvelopeId,
        arrivalDate: report.arrivalDate,
        recipients,
        ...common(originalHeaders),
      });
    }
  }

  // 2. Plain-text forms.
  const text = email.text ?? (email.html ? htmlToText(email.html) : '');
  const hints = compact({ failedRecipients: firstHeader(email, 'x-failed-recipients'), from: firstHeader(email, 'from'), subject: email.subject });
  const found: TextBounce | undefined = parseTextBounce(text, hints);
  if (found) {
    const headers = originalHeaders ?? found.returnedHeaders;
    return compact({
      kind: 'nonstandard' as const,
      format: found.format,
      reportingMta: found.reportingMta,
      originalEnvelopeId: found.originalEnvelopeId,
      recipients: found.recipients.map((r) => withCategory({ ...r }, options.rules)),
      ...common(headers),
    });
  }

  const reason = statusPart ? 'the delivery-status part names no recipient' : 'no delivery-status part and no known bounce text';
  return compact({ kind: 'unparseable' as const, reason, recipients: [], ...common(originalHeaders) });
}
