/**
 * @module bounce/mime-read
 *
 * Reading incoming reports (bounces and feedback reports) safely: the shared front half of
 * `parse-dsn.ts` and `parse-arf.ts`.
 *
 * Exports:
 *  - `MAX_REPORT_BYTES` (1 MiB): only this much of a message is read; a bounce or a complaint is
 *    recognised from its first part, and a 10 MB returned attachment must not cost 10 MB of parsing.
 *  - `readReport(raw)` → `{ ok: true, email, truncated }` or `{ ok: false, reason }`: postal-mime with
 *    limits (MIME depth 64, 512 KiB of headers, `message/rfc822` parts kept as raw attachments and
 *    never parsed recursively, so a message nested in itself cannot loop). Never throws.
 *  - `headerSection(bytes)`: the header fields at the start of `bytes` as lower-case name → unfolded
 *    value (the first occurrence wins; at most 1000 fields, 64 KiB read, values cut at 4096).
 *  - `attachmentText(attachment)`, `findAttachment(email, types)`, `firstHeader(email, name)`.
 *
 * Why postal-mime: it decodes transfer encodings and charsets, and keeps `message/delivery-status`,
 * `message/feedback-report` and the returned message as attachments (reference/libraries.md §4).
 */
import PostalMime from 'postal-mime';
import type { Attachment, Email } from 'postal-mime';

export const MAX_REPORT_BYTES = 1024 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_HEADER_FIELDS = 1000;
const MAX_VALUE = 4096;

export type ReadResult = { readonly ok: true; readonly email: Email; readonly truncated: boolean } | { readonly ok: false; readonly reason: string };

/** A header name as RFC 5322 §2.2 allows it. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

export async function readReport(raw: unknown): Promise<ReadResult> {
  if (!(raw instanceof Uint8Array)) return { ok: false, reason: 'input is not a byte buffer' };
  if (raw.length === 0) return { ok: false, reason: 'empty message' };
  const truncated = raw.length > MAX_REPORT_BYTES;
  const bytes = truncated ? raw.subarray(0, MAX_REPORT_BYTES) : raw;
  const first = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 1000))).toString('latin1').split(/\r?\n/)[0] ?? '';
  const colon = first.indexOf(':');
  if (colon <= 0 || !FIELD_NAME.test(first.slice(0, colon))) return { ok: false, reason: 'not an email message: it does not start with a header field' };
  try {
    const email = await PostalMime.parse(bytes, {
      attachmentEncoding: 'arraybuffer',
      forceRfc822Attachments: true,
      maxNestingDepth: 64,
      maxHeadersSize: 512 * 1024,
      maxRfc822NestingDepth: 0,
    });
    return { ok: true, email, truncated };
  } catch (error) {
    return { ok: false, reason: `MIME structure could not be parsed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The header fields at the start of `bytes`; stops at the first empty line. */
export function headerSection(bytes: Uint8Array | string): Record<string, string> {
  const text = typeof bytes === 'string' ? bytes.slice(0, MAX_HEADER_BYTES) : Buffer.from(bytes.subarray(0, MAX_HEADER_BYTES)).toString('utf8');
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let name: string | undefined;
  let count = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') break;
    if (/^[ \t]/.test(line)) {
      if (name !== undefined && headers[name] !== undefined && headers[name]!.length < MAX_VALUE) headers[name] = `${headers[name]} ${line.trim()}`.slice(0, MAX_VALUE);
      continue;
    }
    const colon = line.indexOf(':');
    const candidate = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (!FIELD_NAME.test(candidate)) {
      name = undefined; // not a field (e.g. an mbox "From " line): skipped, with its continuations
      continue;
    }
    if (++count > MAX_HEADER_FIELDS) break;
    if (candidate in headers) {
      name = undefined; // later occurrences are ignored
      continue;
    }
    name = candidate;
    headers[name] = line.slice(colon + 1).trim().slice(0, MAX_VALUE);
  }
  // A plain object for callers (built with define semantics, so a `__proto__` field stays data).
  return Object.fromEntries(Object.entries(headers));
}

export function attachmentText(attachment: Attachment): string {
  const content = attachment.content;
  if (typeof content === 'string') return content;
  return Buffer.from(content instanceof ArrayBuffer ? new Uint8Array(content) : content).toString('utf8');
}

export function attachmentBytes(attachment: Attachment): Uint8Array {
  const content = attachment.content;
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return content instanceof ArrayBuffer ? new Uint8Array(content) : content;
}

export function findAttachment(email: Email, types: readonly string[]): Attachment | undefined {
  return email.attachments.find((a) => types.includes(a.mimeType));
}

/** The first value of a top-level header, unfolded (lower-case name). */
export function firstHeader(email: Email, name: string): string | undefined {
  return email.headers.find((h) => h.key === name)?.value;
}

/** Angle brackets and white space removed from a Message-ID. */
export function bareMessageId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /<([^<>\s]+)>/.exec(value);
  const id = (m ? m[1]! : value.trim()).trim();
  return id === '' ? undefined : id;
}
