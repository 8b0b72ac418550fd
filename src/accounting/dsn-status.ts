/**
 * @module accounting/dsn-status
 *
 * `formatDsnStatus('5.1.1')` → `5.1.1 (bad destination mailbox address)`: the
 * way PowerMTA writes `dsnStatus`. Descriptions are RFC 3463's subject.detail
 * titles, lower-cased, with PowerMTA's own wording where a real accounting
 * file shows it (`2.0.0 (success)`, `4.0.0 (undefined status)`,
 * `5.1.2 (bad destination system: no such domain)`).
 *
 * Exports: `DSN_DETAIL_TEXT`, `formatDsnStatus(status)`.
 *
 * Contract: a status that already carries a description, or that is not an
 * `X.Y.Z` code at all, is returned unchanged (trimmed); an unknown detail falls
 * back to its subject's `X.Y.0` text, then to `undefined status`.
 */

/** `subject.detail` → description (RFC 3463 §3.1–3.8). */
export const DSN_DETAIL_TEXT: Readonly<Record<string, string>> = {
  '0.0': 'undefined status',
  '1.0': 'other address status',
  '1.1': 'bad destination mailbox address',
  '1.2': 'bad destination system: no such domain',
  '1.3': 'bad destination mailbox address syntax',
  '1.4': 'destination mailbox address ambiguous',
  '1.5': 'destination mailbox address valid',
  '1.6': 'mailbox has moved',
  '1.7': "bad sender's mailbox address syntax",
  '1.8': "bad sender's system address",
  '2.0': 'other or undefined mailbox status',
  '2.1': 'mailbox disabled, not accepting messages',
  '2.2': 'mailbox full',
  '2.3': 'message length exceeds administrative limit',
  '2.4': 'mailing list expansion problem',
  '3.0': 'other or undefined mail system status',
  '3.1': 'mail system full',
  '3.2': 'system not accepting network messages',
  '3.3': 'system not capable of selected features',
  '3.4': 'message too big for system',
  '3.5': 'system incorrectly configured',
  '4.0': 'other or undefined network or routing status',
  '4.1': 'no answer from host',
  '4.2': 'bad connection',
  '4.3': 'routing server failure',
  '4.4': 'unable to route',
  '4.5': 'network congestion',
  '4.6': 'routing loop detected',
  '4.7': 'delivery time expired',
  '5.0': 'other or undefined protocol status',
  '5.1': 'invalid command',
  '5.2': 'syntax error',
  '5.3': 'too many recipients',
  '5.4': 'invalid command arguments',
  '5.5': 'wrong protocol version',
  '6.0': 'other or undefined media error',
  '6.1': 'media not supported',
  '6.2': 'conversion required and prohibited',
  '6.3': 'conversion required but not supported',
  '6.4': 'conversion with loss performed',
  '6.5': 'conversion failed',
  '7.0': 'other or undefined security status',
  '7.1': 'delivery not authorized, message refused',
  '7.2': 'mailing list expansion prohibited',
  '7.3': 'security conversion required but not possible',
  '7.4': 'security features not supported',
  '7.5': 'cryptographic failure',
  '7.6': 'cryptographic algorithm not supported',
  '7.7': 'message integrity failure',
};

const CODE = /^([245])\.(\d{1,3})\.(\d{1,3})$/;

export function formatDsnStatus(status: string): string {
  const s = status.trim();
  const m = CODE.exec(s);
  if (!m) return s;
  const [, cls, subject, detail] = m;
  if (cls === '2' && subject === '0' && detail === '0') return `${s} (success)`;
  const text = DSN_DETAIL_TEXT[`${subject}.${detail}`] ?? DSN_DETAIL_TEXT[`${subject}.0`] ?? DSN_DETAIL_TEXT['0.0'];
  return `${s} (${text})`;
}
