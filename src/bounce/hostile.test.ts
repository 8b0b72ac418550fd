/**
 * Hostile and broken input for the bounce and ARF parsers: each case must return (never throw),
 * quickly, with `unparseable` and a reason or a best-effort result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBounce } from './parse-dsn.js';
import { parseArf } from './parse-arf.js';
import { MAX_REPORT_BYTES } from './mime-read.js';

const STATUS = 'Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; a@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n';

function report(parts: string[], boundary = 'b1', extraHeaders = ''): Buffer {
  return Buffer.from(
    `From: MAILER-DAEMON@mx.example.org\r\nTo: bounces@bounce.example.com\r\nSubject: Undelivered Mail\r\n${extraHeaders}MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"\r\n\r\n` +
      parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') +
      `--${boundary}--\r\n`,
  );
}

async function timed<T>(fn: () => Promise<T>, limitMs = 5000): Promise<T> {
  const start = Date.now();
  const out = await fn();
  assert.ok(Date.now() - start < limitMs, `took ${Date.now() - start} ms`);
  return out;
}

test('not a message at all: wrong types, empty, binary, no header', async () => {
  for (const input of [undefined, null, 42, 'From: a@b\r\n\r\nx', {}, Buffer.alloc(0), Buffer.alloc(4096, 0xff), Buffer.from('just some text\nwithout headers\n')]) {
    const bounce = await parseBounce(input as never);
    assert.equal(bounce.kind, 'unparseable', String(input));
    assert.ok(bounce.reason && bounce.reason.length > 0);
    assert.deepEqual(bounce.recipients, []);
    const arf = await parseArf(input as never);
    assert.equal(arf.kind, 'unparseable');
    assert.ok(arf.reason);
  }
});

test('broken MIME: unclosed boundary, missing boundary, bad base64, truncated part', async () => {
  const unclosed = Buffer.from(report(['Content-Type: message/delivery-status\r\n\r\n' + STATUS]).toString().replace(/--b1--\r\n$/, ''));
  const r1 = await parseBounce(unclosed);
  assert.equal(r1.kind, 'dsn'); // best effort: the status part is complete
  assert.equal(r1.recipients[0]!.finalRecipient, 'a@example.org');

  const noBoundary = Buffer.from('From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\n' + STATUS);
  const r2 = await parseBounce(noBoundary);
  assert.ok(['dsn', 'nonstandard', 'unparseable'].includes(r2.kind));

  const badBase64 = report(['Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%% not base64 !!!! ====']);
  const r3 = await parseBounce(badBase64);
  assert.equal(r3.kind, 'unparseable');
  assert.match(r3.reason ?? '', /no recipient|no delivery-status|known bounce/);

  const truncated = report(['Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipi']);
  const r4 = await parseBounce(truncated);
  assert.equal(r4.kind, 'unparseable');
});

test('wrong and unknown charsets do not stop recognition of the text', async () => {
  const qmail = 'Hi. This is the qmail-send program at mx.example.net.\r\n\r\n<a@example.net>:\r\nRemote host said: 550 5.1.1 User unknown\r\n';
  for (const charset of ['x-no-such-charset', 'utf-7', 'iso-8859-1', '"utf-8"; format=flowed']) {
    const raw = Buffer.from(`From: MAILER-DAEMON@mx.example.net\r\nContent-Type: text/plain; charset=${charset}\r\n\r\n${qmail}`);
    const parsed = await parseBounce(raw);
    assert.equal(parsed.kind, 'nonstandard', charset);
    assert.equal(parsed.recipients[0]!.finalRecipient, 'a@example.net');
  }
  const utf16 = Buffer.from(`From: MAILER-DAEMON@x\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n${qmail}`);
  const odd = await parseBounce(utf16);
  assert.ok(['nonstandard', 'unparseable'].includes(odd.kind));
  const badUtf8 = Buffer.concat([Buffer.from(`From: MAILER-DAEMON@x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(`\r\n${qmail}`)]);
  assert.equal((await parseBounce(badUtf8)).kind, 'nonstandard');
});

test('a 10 MB returned message: only the first 1 MiB is read, quickly', async () => {
  const big = 'X'.repeat(76) + '\r\n';
  const body = big.repeat(Math.ceil((10 * 1024 * 1024) / big.length));
  const statusFirst = report(['Content-Type: message/delivery-status\r\n\r\n' + STATUS, `Content-Type: message/rfc822\r\n\r\nMessage-ID: <big@example.com>\r\nX-Job: j1\r\n\r\n${body}`]);
  assert.ok(statusFirst.length > 10 * 1024 * 1024);
  const parsed = await timed(() => parseBounce(statusFirst));
  assert.equal(parsed.kind, 'dsn');
  assert.equal(parsed.truncated, true);
  assert.equal(parsed.originalMessageId, 'big@example.com');
  assert.equal(parsed.originalHeaders?.['x-job'], 'j1');

  const statusLast = report([`Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}`, 'Content-Type: message/delivery-status\r\n\r\n' + STATUS]);
  const late = await timed(() => parseBounce(statusLast));
  assert.equal(late.kind, 'unparseable');
  assert.equal(late.truncated, true);
  assert.ok(MAX_REPORT_BYTES <= 1024 * 1024);

  const arf = await timed(() => parseArf(statusFirst));
  assert.equal(arf.kind, 'unparseable');
});

test('message/rfc822 nested in itself, deeply, is never parsed recursively', async () => {
  let inner = 'From: a@example.com\r\nMessage-ID: <core@example.com>\r\n\r\nbody\r\n';
  for (let i = 0; i < 300; i++) inner = `From: MAILER-DAEMON@x\r\nContent-Type: message/rfc822\r\nMessage-ID: <level${i}@example.com>\r\n\r\n${inner}`;
  const raw = report(['Content-Type: message/delivery-status\r\n\r\n' + STATUS, `Content-Type: message/rfc822\r\n\r\n${inner}`]);
  const parsed = await timed(() => parseBounce(raw));
  assert.equal(parsed.kind, 'dsn');
  assert.equal(parsed.originalMessageId, 'level299@example.com'); // the outermost returned message only

  const top = await timed(() => parseBounce(Buffer.from(inner)));
  assert.ok(['unparseable', 'nonstandard'].includes(top.kind));
});

test('multipart nested a thousand deep is refused with a reason', async () => {
  let body = 'Content-Type: text/plain\r\n\r\nleaf\r\n';
  for (let i = 0; i < 1000; i++) body = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${body}\r\n--n${i}--\r\n`;
  const raw = Buffer.from(`From: MAILER-DAEMON@x\r\n${body}`);
  const parsed = await timed(() => parseBounce(raw));
  assert.equal(parsed.kind, 'unparseable');
  assert.match(parsed.reason ?? '', /MIME/);
  const arf = await timed(() => parseArf(raw));
  assert.equal(arf.kind, 'unparseable');
});

test('header bombs, endless lines and pathological texts stay bounded', async () => {
  const many = Buffer.from(`From: MAILER-DAEMON@x\r\n${'X-Pad: yyyyyyyyyyyyyyyyyyyy\r\n'.repeat(40_000)}\r\nbody\r\n`);
  const r1 = await timed(() => parseBounce(many));
  assert.equal(r1.kind, 'unparseable');

  const oneLine = Buffer.from(`From: MAILER-DAEMON@x\r\nSubject: Undelivered\r\n\r\n${'<a@b.c>: '.repeat(200_000)}`);
  await timed(() => parseBounce(oneLine));

  const manyRecipients = Buffer.from(`From: MAILER-DAEMON@x\r\n\r\nHi. This is the qmail-send program at x.example.\r\n${'<a@b.example>:\r\nRemote host said: 550 5.1.1 no\r\n\r\n'.repeat(20_000)}`);
  const r3 = await timed(() => parseBounce(manyRecipients));
  assert.equal(r3.kind, 'nonstandard');
  assert.ok(r3.recipients.length <= 1000);

  const manyGroups = report(['Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n' + 'Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n'.repeat(20_000)]);
  const r4 = await timed(() => parseBounce(manyGroups));
  assert.equal(r4.kind, 'dsn');
  assert.ok(r4.recipients.length <= 1000);
});

test('header names that look like object keys stay plain data', async () => {
  const raw = report(['Content-Type: message/delivery-status\r\n\r\n' + STATUS, 'Content-Type: text/rfc822-headers\r\n\r\n__proto__: polluted\r\nconstructor: x\r\nX-Job: j2\r\n']);
  const parsed = await parseBounce(raw);
  assert.equal(parsed.originalHeaders?.['x-job'], 'j2');
  assert.equal(Object.getPrototypeOf(parsed.originalHeaders), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(parsed.originalHeaders, '__proto__'), true);
});
