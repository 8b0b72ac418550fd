/**
 * @module bounce/nonstandard
 *
 * Bounces that are not RFC 3464 reports: the plain-text notices of qmail, Exim, Postfix (when the
 * report part is missing), Microsoft Exchange / Office 365, Yahoo, and Petrel's own `dsn-format
 * plain-text`, recognised from their fixed sentences.
 *
 * Exports:
 *  - `TextBounce`, `TextRecipient`.
 *  - `parseTextBounce(text, hints)` → the recognised format, the reporting MTA when the text names
 *    it, one entry per failed (or delayed) recipient, and the headers of the returned message when
 *    the text carries a copy of it; `undefined` when no known form is found.
 *  - `splitReply(text)`: `host H said: 550 5.1.1 …` → `{ diagnostic: 'smtp; 550 5.1.1 …', status }`.
 *
 * Each recogniser is a pure function of the text; none throws. Inputs are cut at 256 KiB and each
 * reason at 2 KiB, and every regular expression here is linear on a line.
 */
import { parseDeliveryStatus } from './dsn-fields.js';
import { headerSection } from './mime-read.js';

export interface TextRecipient {
  readonly finalRecipient: string;
  readonly action: 'failed' | 'delayed';
  readonly status: string;
  readonly diagnostic?: string;
  readonly remoteMta?: string;
}

export interface TextBounce {
  readonly format: 'qmail' | 'yahoo' | 'exim' | 'postfix' | 'microsoft' | 'petrel-plain-text' | 'generic';
  readonly reportingMta?: string;
  readonly recipients: readonly TextRecipient[];
  readonly returnedHeaders?: Record<string, string>;
  readonly originalEnvelopeId?: string;
}

export interface TextHints {
  /** `X-Failed-Recipients` (Exim and others), comma-separated. */
  readonly failedRecipients?: string;
  /** The bounce's From and Subject, to recognise a bounce of unknown form. */
  readonly from?: string;
  readonly subject?: string;
}

const MAX_TEXT = 256 * 1024;
const MAX_REASON = 2048;
const MAX_RECIPIENTS = 1000;
const ADDRESS = /[^\s<>()"',;:]+@[^\s<>()"',;:]+\.[^\s<>()"',;:]+/;

/** Find an SMTP reply in a reason text. */
export function splitReply(text: string): { diagnostic?: string; status?: string; remoteMta?: string } {
  const reason = text.replace(/\s+/g, ' ').trim().slice(0, MAX_REASON);
  const host = /\bhost ([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])\s*\[[0-9A-Fa-f.:]+\]/.exec(reason)?.[1];
  const reply = /(?:^|[\s:'"#;<])([245]\d\d)(?:[ -]#?([245]\.\d{1,3}\.\d{1,3}))?(?=[\s'":]|$)(.*)$/.exec(reason);
  const out: { diagnostic?: string; status?: string; remoteMta?: string } = {};
  if (host) out.remoteMta = host;
  if (!reply) return out;
  const replyText = `${reply[1]}${reply[2] ? ` ${reply[2]}` : ''}${reply[3]!.replace(/\s*\(in reply to [^)]*\)\s*$/, '').replace(/['>]\s*$/, '').replace(/\s*##\s*$/, '')}`.trim();
  out.diagnostic = `smtp; ${replyText}`;
  out.status = reply[2] ?? `${reply[1]![0]}.0.0`;
  return out;
}

function recipientFrom(address: string, reasonLines: readonly string[], action: 'failed' | 'delayed', format: string): TextRecipient {
  const reason = reasonLines.join(' ').replace(/\s+/g, ' ').trim().slice(0, MAX_REASON);
  const reply = splitReply(reason);
  const fallbackStatus = action === 'failed' ? '5.0.0' : '4.0.0';
  // qmail writes the enhanced code as `(#5.1.1)` at the end of its own texts.
  const qmailCode = /\(#([245]\.\d{1,3}\.\d{1,3})\)/.exec(reason)?.[1];
  const status = reply.status ?? qmailCode ?? fallbackStatus;
  return {
    finalRecipient: address.replace(/^<|>$/g, ''),
    action,
    status,
    ...(reply.diagnostic ? { diagnostic: reply.diagnostic } : reason ? { diagnostic: `x-${format}; ${reason}` } : {}),
    ...(reply.remoteMta ? { remoteMta: reply.remoteMta } : {}),
  };
}

/** Headers of the copy that follows `marker` (blank lines skipped). */
function headersAfter(lines: readonly string[], marker: RegExp): Record<string, string> | undefined {
  const at = lines.findIndex((l) => marker.test(l));
  if (at < 0) return undefined;
  let start = at + 1;
  while (start < lines.length && lines[start]!.trim() === '') start++;
  const headers = headerSection(lines.slice(start, start + 2000).join('\n'));
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/** qmail and Yahoo: `<addr>:` then reason lines up to a blank line. */
function qmailLike(lines: readonly string[], action: 'failed' | 'delayed', format: 'qmail' | 'yahoo', copyMarker: RegExp): TextRecipient[] {
  const recipients: TextRecipient[] = [];
  const stop = lines.findIndex((l) => copyMarker.test(l));
  const end = stop < 0 ? lines.length : stop;
  for (let i = 0; i < end && recipients.length < MAX_RECIPIENTS; i++) {
    const m = /^\s*<([^<>\s]+@[^<>\s]+)>:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const reason: string[] = m[2] ? [m[2]] : [];
    while (i + 1 < end && lines[i + 1]!.trim() !== '' && !/^\s*<[^<>\s]+@[^<>\s]+>:/.test(lines[i + 1]!)) reason.push(lines[++i]!.trim());
    const said = reason.findIndex((r) => /^Remote host said:/i.test(r));
    const r = recipientFrom(m[1]!, said >= 0 ? [reason[said]!.replace(/^Remote host said:\s*/i, '')] : reason, action, format);
    const host = reason.map((l) => /^(\S+) does not like recipient|^Connected to (\S+) but/.exec(l)).find(Boolean);
    recipients.push(host && !r.remoteMta ? { ...r, remoteMta: (host[1] ?? host[2])! } : r);
  }
  return recipients;
}

function exim(lines: readonly string[], delayed: boolean): TextRecipient[] {
  const start = lines.findIndex((l) => /following address\(es\) failed:|address(?:es)? to which the message has not yet been delivered (?:is|are):/i.test(l));
  if (start < 0) return [];
  const recipients: TextRecipient[] = [];
  for (let i = start + 1; i < lines.length && recipients.length < MAX_RECIPIENTS; i++) {
    const line = lines[i]!;
    if (/^-{3,}\s*This is a copy of/i.test(line)) break;
    const m = /^( {0,4})<?([^\s<>@]+@[^\s<>@]+?)>?(?:\s*$|\s+<[^>]*>\s*$)/.exec(line);
    if (!m) continue;
    const indent = m[1]!.length;
    const reason: string[] = [];
    while (i + 1 < lines.length) {
      const next = lines[i + 1]!;
      const nextIndent = /^ */.exec(next)![0].length;
      if (next.trim() !== '' && nextIndent <= indent) break;
      if (next.trim() === '' && (i + 2 >= lines.length || /^ */.exec(lines[i + 2]!)![0].length <= indent)) break;
      reason.push(next.trim().replace(/^Delay reason:\s*/i, ''));
      i++;
    }
    recipients.push(recipientFrom(m[2]!, reason, delayed ? 'delayed' : 'failed', 'exim'));
  }
  return recipients;
}

function postfix(lines: readonly string[], delayed: boolean): TextRecipient[] {
  const start = lines.findIndex((l) => /^\s*The (mail system|Postfix program)\s*$/.test(l));
  const recipients: TextRecipient[] = [];
  for (let i = start + 1; i < lines.length && recipients.length < MAX_RECIPIENTS; i++) {
    const m = /^<([^<>\s]+)>(?: \(expanded from <[^>]*>\))?: (.*)$/.exec(lines[i]!);
    if (!m) continue;
    const reason = [m[2]!];
    while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1]!)) reason.push(lines[++i]!.trim());
    recipients.push(recipientFrom(m[1]!, reason, delayed ? 'delayed' : 'failed', 'postfix'));
  }
  return recipients;
}

function microsoft(lines: readonly string[]): { recipients: TextRecipient[]; reportingMta?: string } {
  const diagStart = lines.findIndex((l) => /Diagnostic information for administrators/i.test(l));
  const headersAt = lines.findIndex((l) => /^\s*Original message headers:/i.test(l));
  const end = headersAt < 0 ? lines.length : headersAt;
  const reportingMta = lines.slice(Math.max(diagStart, 0), end).map((l) => /Generating server:\s*(\S+)/i.exec(l)?.[1]).find(Boolean);
  const recipients = new Map<string, string[]>();
  const from = diagStart >= 0 ? diagStart : 0;
  let current: string | undefined;
  for (let i = 0; i < end && recipients.size < MAX_RECIPIENTS; i++) {
    const line = lines[i]!;
    const alone = /^\s*<?([^\s<>()@]+@[^\s<>()@]+?)>?(?:\s+\(\s*\1\s*\))?\s*$/i.exec(line) ?? /^\s*Your message to (\S+@\S+?) couldn't be delivered/i.exec(line);
    if (alone) {
      current = alone[1]!;
      if (!recipients.has(current)) recipients.set(current, []);
      continue;
    }
    if (i >= from && current) {
      const returned = /Remote Server returned '(.*)'\s*$/i.exec(line) ?? /^\s*#(\d{3}[ -].*?)\s*##/.exec(line) ?? /^\s*#< #([245]\.\d+\.\d+) smtp;\s*(.*)>/.exec(line);
      if (returned) recipients.get(current)!.push(returned.slice(1).filter(Boolean).join(' ').replace(/^<\s*#[245]\.\d+\.\d+\s+smtp;\s*/i, '').replace(/>$/, ''));
    }
  }
  const list = [...recipients].map(([address, reason]) => recipientFrom(address, reason, 'failed', 'microsoft'));
  return reportingMta ? { recipients: list, reportingMta } : { recipients: list };
}

function petrelPlain(text: string): TextBounce | undefined {
  const start = text.indexOf('--- Delivery report ---');
  if (start < 0) return undefined;
  const rest = text.slice(start + 23);
  const stop = rest.search(/^--- (Returned message|Headers of the returned message) ---$/m);
  const report = parseDeliveryStatus(stop >= 0 ? rest.slice(0, stop) : rest);
  const recipients = report.recipients
    .filter((r) => r.finalRecipient !== undefined)
    .map((r) => ({
      finalRecipient: r.finalRecipient!,
      action: r.action === 'delayed' ? ('delayed' as const) : ('failed' as const),
      status: r.status ?? '5.0.0',
      ...(r.diagnostic ? { diagnostic: r.diagnostic } : {}),
      ...(r.remoteMta ? { remoteMta: r.remoteMta } : {}),
    }));
  if (recipients.length === 0) return undefined;
  const returnedHeaders = headersAfter(text.split(/\r?\n/), /^--- (Returned message|Headers of the returned message) ---$/);
  return {
    format: 'petrel-plain-text',
    recipients,
    ...(report.reportingMta ? { reportingMta: report.reportingMta } : {}),
    ...(report.originalEnvelopeId ? { originalEnvelopeId: report.originalEnvelopeId } : {}),
    ...(returnedHeaders ? { returnedHeaders } : {}),
  };
}

function generic(lines: readonly string[], hints: TextHints): TextRecipient[] {
  const looksLikeBounce = /mailer-daemon|postmaster|mail delivery/i.test(hints.from ?? '') || /undeliver|returned mail|delivery (status )?(notification|failure)|failure notice|delivery failed|could not be delivered/i.test(hints.subject ?? '');
  const failed = (hints.failedRecipients ?? '').split(',').map((a) => a.trim().replace(/^<|>$/g, '')).filter((a) => ADDRESS.test(a));
  if (failed.length === 0 && !looksLikeBounce) return [];
  const replyLine = lines.slice(0, 2000).find((l) => /(?:^|\s)[45]\d\d[ -](?:[45]\.\d{1,3}\.\d{1,3}\s)?\S/.test(l) && !/^\s*(Received|Date|Message-ID):/i.test(l));
  const addresses = failed.length > 0 ? failed : [...new Set(lines.slice(0, 2000).flatMap((l) => (replyLine && l === replyLine ? [ADDRESS.exec(l)?.[0]] : [])).filter((a): a is string => a !== undefined))];
  if (addresses.length === 0) return [];
  return addresses.slice(0, MAX_RECIPIENTS).map((a) => recipientFrom(a, replyLine ? [replyLine] : [], 'failed', 'generic'));
}

/** Recognise a plain-text bounce; `undefined` when no known form is found. */
export function parseTextBounce(rawText: string, hints: TextHints = {}): TextBounce | undefined {
  const text = String(rawText ?? '').slice(0, MAX_TEXT);
  const lines = text.split(/\r?\n/);
  const own = petrelPlain(text);
  if (own) return own;

  const qmailAt = /Hi\. This is the qmail-send program at (\S+?)\.?\s*$/m.exec(text);
  if (qmailAt) {
    const marker = /^--- Below this line is a copy of the message\.?/;
    const recipients = qmailLike(lines, 'failed', 'qmail', marker);
    if (recipients.length > 0) return withHeaders({ format: 'qmail', reportingMta: qmailAt[1]!, recipients }, lines, marker);
  }
  if (/(Sorry, we were unable to deliver your message to the following address|Unable to deliver message to the following address)/i.test(text)) {
    const marker = /^--- Below this line is a copy of the message\.?/;
    const delayed = /\bnot yet been delivered|will (keep|continue) trying|delayed/i.test(text) && !/unable to deliver your message/i.test(text);
    const recipients = qmailLike(lines, delayed ? 'delayed' : 'failed', 'yahoo', marker);
    if (recipients.length > 0) return withHeaders({ format: 'yahoo', recipients }, lines, marker);
  }
  if (/This message was created automatically by mail delivery software/i.test(text)) {
    const delayed = /has not yet been delivered to one or more of its\s+recipients/i.test(text);
    const recipients = exim(lines, delayed);
    if (recipients.length > 0) return withHeaders({ format: 'exim', recipients }, lines, /^-{3,}\s*This is a copy of the message/i);
  }
  const postfixAt = /This is the (?:mail system|Postfix program) at host (\S+?)\.?\s*$/m.exec(text);
  if (postfixAt) {
    const recipients = postfix(lines, /THIS IS A WARNING ONLY/.test(text));
    if (recipients.length > 0) return withHeaders({ format: 'postfix', reportingMta: postfixAt[1]!, recipients }, lines, /^-{3,}\s*(Undelivered message|Headers of the undelivered message|Original message)/i);
  }
  if (/Delivery has failed to these recipients or groups|couldn't be delivered to|Your message to .* couldn't be delivered/i.test(text)) {
    const found = microsoft(lines);
    if (found.recipients.length > 0) return withHeaders({ format: 'microsoft', ...found }, lines, /^\s*Original message headers:/i);
  }
  const recipients = generic(lines, hints);
  if (recipients.length > 0) return { format: 'generic', recipients };
  return undefined;
}

function withHeaders(bounce: TextBounce, lines: readonly string[], marker: RegExp): TextBounce {
  const returnedHeaders = headersAfter(lines, marker);
  return returnedHeaders ? { ...bounce, returnedHeaders } : bounce;
}
