import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { composeDsn, dsnSubject } from './dsn.js';
import type { DsnInput } from './dsn.js';
import { parseDeliveryStatus } from './dsn-fields.js';
import { parseBounce } from './parse-dsn.js';

const HEADERS = Buffer.from(
  'Return-Path: <news-x=gmail.com@bounce.example.com>\r\nFrom: Example News <news@example.com>\r\nTo: x@gmail.com\r\nSubject: hi\r\nMessage-ID: <m1@example.com>\r\nX-Job: job42\r\nX-Virtual-MTA: vmta1\r\n\r\n',
);
const GMAIL_DIAG =
  "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser d2si1234567qkb.123 - gsmtp";

function base(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mta1.example.com',
    postmaster: 'postmaster@example.com',
    arrivalDate: new Date('2024-05-01T10:00:00Z'),
    originalEnvelopeId: 'env-123',
    recipients: [
      { finalRecipient: 'x@gmail.com', originalRecipient: 'rfc822;X@gmail.com', action: 'failed', status: '5.1.1', remoteMta: 'gmail-smtp-in.l.google.com', diagnostic: GMAIL_DIAG, lastAttempt: new Date('2024-05-01T10:00:05Z') },
      { finalRecipient: 'y@yahoo.com', action: 'delayed', status: '4.7.0', diagnostic: '421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred', willRetryUntil: new Date('2024-05-05T10:00:00Z') },
    ],
    originalHeaders: HEADERS,
    to: 'news-x=gmail.com@bounce.example.com',
    messageId: 'dsn1@mta1.example.com',
    date: new Date('2024-05-01T10:00:06Z'),
    ...over,
  };
}

function lines(raw: Buffer): string[] {
  return raw.toString('latin1').split('\r\n');
}

function topHeaders(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

test('a DSN parses back with postal-mime and with our parser to the same fields', async () => {
  const raw = composeDsn(base());
  const email = await PostalMime.parse(raw);
  assert.equal(email.subject, 'Undelivered Mail Returned to Sender');
  assert.equal(email.from?.address, 'MAILER-DAEMON@mta1.example.com');
  assert.equal(email.messageId, '<dsn1@mta1.example.com>');
  assert.equal(email.headers.find((h) => h.key === 'auto-submitted')?.value, 'auto-replied');
  assert.match(email.headers.find((h) => h.key === 'content-type')!.value, /^multipart\/report; report-type=delivery-status;/);
  assert.match(email.text ?? '', /could not be delivered[\s\S]*<x@gmail\.com>[\s\S]*the address does not exist \(status 5\.1\.1\)/);
  assert.match(email.text ?? '', /has been delayed[\s\S]*<y@yahoo\.com>[\s\S]*retried until Sun, 05 May 2024 10:00:00 \+0000/);
  assert.deepEqual(email.attachments.map((a) => a.mimeType), ['message/delivery-status', 'text/rfc822-headers']);

  const viaPostal = parseDeliveryStatus(Buffer.from(email.attachments[0]!.content as ArrayBuffer).toString('utf8'));
  const ours = await parseBounce(raw);
  assert.equal(ours.kind, 'dsn');
  assert.equal(viaPostal.reportingMta, 'mta1.example.com');
  assert.equal(ours.reportingMta, 'mta1.example.com');
  assert.equal(ours.originalEnvelopeId, 'env-123');
  assert.equal(ours.arrivalDate, 'Wed, 01 May 2024 10:00:00 +0000');
  const expected = [
    { finalRecipient: 'x@gmail.com', originalRecipient: 'X@gmail.com', action: 'failed', status: '5.1.1', diagnostic: GMAIL_DIAG, remoteMta: 'gmail-smtp-in.l.google.com', category: 'bad-mailbox' },
    { finalRecipient: 'y@yahoo.com', action: 'delayed', status: '4.7.0', diagnostic: 'smtp; 421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred', category: 'spam-related' },
  ];
  assert.deepEqual(ours.recipients, expected);
  assert.deepEqual(
    viaPostal.recipients.map(({ fields: _f, lastAttemptDate: _l, willRetryUntil: _w, ...r }) => r),
    expected.map(({ category: _c, ...r }) => r),
  );
  assert.equal(viaPostal.recipients[0]!.lastAttemptDate, 'Wed, 01 May 2024 10:00:05 +0000');
  assert.equal(viaPostal.recipients[1]!.willRetryUntil, 'Sun, 05 May 2024 10:00:00 +0000');
  assert.equal(ours.originalMessageId, 'm1@example.com');
  assert.equal(ours.originalHeaders?.['x-job'], 'job42');
  assert.equal(ours.originalHeaders?.['x-virtual-mta'], 'vmta1');
  assert.equal(ours.verpRecipient, 'x@gmail.com');
});

test('RET=HDRS returns text/rfc822-headers without the body; RET=FULL returns message/rfc822 with it', async () => {
  const hdrs = composeDsn(base());
  assert.ok(!hdrs.includes('BODY-MARKER'));
  const full = composeDsn(base({ originalBody: Buffer.from('Hello\nBODY-MARKER line\n') }));
  const email = await PostalMime.parse(full);
  const returned = email.attachments.find((a) => a.mimeType === 'message/rfc822');
  assert.ok(returned);
  const text = Buffer.from(returned.content as ArrayBuffer).toString('utf8');
  assert.match(text, /^Return-Path: [\s\S]*X-Job: job42\r?\nX-Virtual-MTA: vmta1\r?\n\r?\nHello\r?\nBODY-MARKER line\r?\n/);
  assert.match(full.toString('latin1'), /X-Virtual-MTA: vmta1\r\n\r\nHello\r\nBODY-MARKER line\r\n/); // bare LF became CRLF
  assert.equal((await parseBounce(full)).originalHeaders?.['x-job'], 'job42');
});

test('RET=FULL with a body that cannot travel returns the headers and says so', async () => {
  const raw = composeDsn(base({ originalBody: Buffer.from(`${'x'.repeat(2000)}\r\n`) }));
  const email = await PostalMime.parse(raw);
  assert.deepEqual(email.attachments.map((a) => a.mimeType), ['message/delivery-status', 'text/rfc822-headers']);
  assert.match(email.text ?? '', /could not be returned/);
  assert.ok(lines(raw).every((l) => Buffer.byteLength(l, 'latin1') <= 998));
});

test('every line of the DSN is at most 998 octets, whatever the input lengths', async () => {
  const longWord = 'z'.repeat(3000);
  const raw = composeDsn(
    base({
      reportingMta: `mta.${'a'.repeat(60)}.example.com`,
      originalEnvelopeId: `env-${'e'.repeat(1200)}`,
      recipients: [{ finalRecipient: `${'l'.repeat(1100)}@example.com`, action: 'failed', status: '5.1.1', diagnostic: `smtp; 550 5.1.1 ${longWord} and ${'words '.repeat(400)}` }],
      originalHeaders: Buffer.from(`Subject: ${'s'.repeat(2500)}\nX-Job: j\n\n`),
    }),
  );
  const over = lines(raw).filter((l) => Buffer.byteLength(l, 'latin1') > 998);
  assert.deepEqual(over, []);
  // With ordinary inputs the top-level header block is folded at 78 columns.
  assert.ok(topHeaders(composeDsn(base())).split('\r\n').every((l) => l.length <= 78));
  const parsed = await parseBounce(raw);
  assert.equal(parsed.kind, 'dsn');
  // An address longer than a line can hold is cut by a fold; unfolding leaves one space at the cut.
  assert.equal(parsed.recipients[0]!.finalRecipient, `${'l'.repeat(996)} ${'l'.repeat(104)}@example.com`);
});

test('CR and LF in any input cannot add a header or a field', async () => {
  const raw = composeDsn(
    base({
      to: 'a@example.com\r\nBcc: victim@example.org',
      recipients: [{ finalRecipient: 'x@gmail.com', action: 'failed', status: '5.1.1', diagnostic: 'smtp; 550 nope\r\nX-Injected: yes\r\n\r\nFinal-Recipient: rfc822; evil@example.org' }],
    }),
  );
  const text = raw.toString('utf8');
  assert.ok(!/^Bcc:/m.test(text));
  assert.ok(!/^X-Injected:/m.test(text));
  const parsed = await parseBounce(raw);
  assert.deepEqual(parsed.recipients.map((r) => r.finalRecipient), ['x@gmail.com']);
});

test('SMTPUTF8: a non-ASCII recipient gives message/global-delivery-status with a utf-8 address type', async () => {
  const raw = composeDsn(
    base({
      recipients: [{ finalRecipient: '用户@例子.广告', originalRecipient: 'utf-8;用户@例子.广告', action: 'failed', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 unknown user' }],
    }),
  );
  const text = raw.toString('utf8');
  assert.match(text, /Content-Type: message\/global-delivery-status/);
  assert.match(text, /Final-Recipient: utf-8; 用户@例子\.广告/);
  assert.match(text, /Content-Type: message\/global-headers/);
  assert.match(text, /Content-Transfer-Encoding: quoted-printable/); // the text part is not ASCII
  const email = await PostalMime.parse(raw);
  assert.match(email.text ?? '', /<用户@例子\.广告>/);
  const parsed = await parseBounce(raw);
  assert.equal(parsed.kind, 'dsn');
  assert.equal(parsed.recipients[0]!.finalRecipient, '用户@例子.广告');
  assert.equal(parsed.recipients[0]!.originalRecipient, '用户@例子.广告');
  // The RFC 6533 xtext form (used in message/delivery-status) is understood too.
  assert.equal(parseDeliveryStatus('Reporting-MTA: dns; a\n\nFinal-Recipient: utf-8; \\x{7528}\\x{6237}@example.com\nAction: failed\nStatus: 5.1.1\n').recipients[0]!.finalRecipient, '用户@example.com');
});

test('dsn-format plain-text: one text/plain message that our parser reads back', async () => {
  const raw = composeDsn(base({ format: 'plain-text' }));
  const email = await PostalMime.parse(raw);
  assert.equal(email.attachments.length, 0);
  assert.match(email.headers.find((h) => h.key === 'content-type')!.value, /^text\/plain/);
  assert.match(email.text ?? '', /--- Delivery report ---[\s\S]*Final-Recipient: rfc822; x@gmail\.com/);
  const parsed = await parseBounce(raw);
  assert.equal(parsed.kind, 'nonstandard');
  assert.equal(parsed.format, 'petrel-plain-text');
  assert.deepEqual(parsed.recipients.map((r) => [r.finalRecipient, r.action, r.status, r.category]), [
    ['x@gmail.com', 'failed', '5.1.1', 'bad-mailbox'],
    ['y@yahoo.com', 'delayed', '4.7.0', 'spam-related'],
  ]);
  assert.equal(parsed.originalEnvelopeId, 'env-123');
  assert.equal(parsed.originalHeaders?.['x-job'], 'job42');
});

test('subjects follow the actions; invalid dates and odd inputs do not throw', () => {
  assert.equal(dsnSubject([{ action: 'delayed' }]), 'Delayed Mail (still being retried)');
  assert.equal(dsnSubject([{ action: 'delivered' }, { action: 'relayed' }]), 'Successful Mail Delivery Report');
  assert.equal(dsnSubject([{ action: 'delayed' }, { action: 'failed' }]), 'Undelivered Mail Returned to Sender');
  const raw = composeDsn(base({ date: new Date('nonsense'), arrivalDate: new Date(Number.NaN), recipients: [{ finalRecipient: '<a@b.example>', action: 'delivered', status: '2.0.0', lastAttempt: new Date(Number.NaN) }], originalHeaders: Buffer.alloc(0) }));
  const text = raw.toString('utf8');
  assert.match(text, /^Date: Thu, 01 Jan 1970 00:00:00 \+0000$/m);
  assert.ok(!/Arrival-Date|Last-Attempt-Date/.test(text));
  assert.match(text, /^Final-Recipient: rfc822; a@b\.example$/m);
  assert.match(text, /^Subject: Successful Mail Delivery Report$/m);
  assert.doesNotThrow(() => composeDsn({ ...base(), recipients: undefined as never, originalHeaders: 'x' as never }));
});

test('the boundary never occurs inside a part', () => {
  const raw = composeDsn(base({ originalBody: Buffer.from('--=_petrel_ looks like a boundary prefix\r\n') }));
  const boundary = /boundary="([^"]+)"/.exec(raw.toString('latin1'))![1]!;
  const occurrences = raw.toString('latin1').split(`--${boundary}`).length - 1;
  assert.equal(occurrences, 4); // three part openings and the closing delimiter
});
