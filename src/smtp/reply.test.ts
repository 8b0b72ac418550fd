import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReply, ReplyParser, parseEnhancedCode, isValidReplyCode } from './reply.js';
import type { ReplyEvent } from './reply.js';

test('formatReply: single line, multi-line, enhanced code on every line (RFC 2034 §3)', () => {
  const cases: Array<[Parameters<typeof formatReply>[0], boolean | undefined, string]> = [
    [{ code: 250, enhanced: '2.1.0', lines: ['Sender OK'] }, undefined, '250 2.1.0 Sender OK\r\n'],
    [{ code: 250, enhanced: '2.1.0', lines: ['Sender OK'] }, false, '250 Sender OK\r\n'],
    [{ code: 220, lines: ['mx.example ESMTP'] }, undefined, '220 mx.example ESMTP\r\n'],
    [{ code: 250, lines: ['mx.example', 'PIPELINING', 'SIZE 100'] }, undefined, '250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n'],
    [
      { code: 550, enhanced: '5.7.1', lines: ['Relaying denied', 'see policy'] },
      undefined,
      '550-5.7.1 Relaying denied\r\n550 5.7.1 see policy\r\n',
    ],
    [{ code: 334, lines: [] }, undefined, '334 \r\n'],
    [{ code: 334, lines: ['VXNlcm5hbWU6'] }, undefined, '334 VXNlcm5hbWU6\r\n'],
    [{ code: 250, lines: ['a', ''] }, undefined, '250-a\r\n250 \r\n'],
    [{ code: 250, lines: ['', 'b'] }, undefined, '250-\r\n250 b\r\n'],
    [{ code: 250, enhanced: '2.0.0', lines: [] }, undefined, '250 2.0.0\r\n'],
  ];
  for (const [r, enhanced, wire] of cases) {
    assert.equal(formatReply(r, enhanced === undefined ? {} : { enhancedStatusCodes: enhanced }), wire);
  }
});

test('formatReply never lets text forge an extra reply line', () => {
  const wire = formatReply({ code: 550, enhanced: '5.1.1', lines: ['<x@y>\r\n250 2.0.0 OK\0'] });
  assert.equal(wire, '550 5.1.1 <x@y>  250 2.0.0 OK \r\n');
  assert.equal(wire.split('\r\n').length, 2);
});

function feed(parser: ReplyParser, ...chunks: string[]): ReplyEvent[] {
  return chunks.flatMap((c) => parser.push(Buffer.from(c, 'utf8')));
}

test('ReplyParser: complete replies, multi-line, pipelined, split anywhere', () => {
  const wire = '220 mx.example ESMTP\r\n250-mx.example\r\n250-PIPELINING\r\n250 2.0.0 OK\r\n550-5.7.1 no\r\n550 5.7.1 really\r\n';
  const expected = [
    { code: 220, enhanced: undefined, lines: ['mx.example ESMTP'] },
    { code: 250, enhanced: undefined, lines: ['mx.example', 'PIPELINING', '2.0.0 OK'] },
    { code: 550, enhanced: '5.7.1', lines: ['no', 'really'] },
  ];
  // Every split point, including inside CRLF.
  for (let cut = 0; cut <= wire.length; cut++) {
    const p = new ReplyParser();
    const events = feed(p, wire.slice(0, cut), wire.slice(cut));
    const got = events.map((e) => (e.type === 'reply' ? { code: e.reply.code, enhanced: e.reply.enhanced, lines: e.reply.lines } : e));
    assert.deepEqual(got, expected, `cut at ${cut}`);
    assert.equal(p.inProgress, false);
  }
});

test('ReplyParser: byte-by-byte input gives the same replies', () => {
  const wire = '250-a\r\n250-b\r\n250 c\r\n221 2.0.0 Bye\r\n';
  const p = new ReplyParser();
  const events = [...wire].flatMap((c) => p.push(Buffer.from(c)));
  assert.deepEqual(
    events.map((e) => (e.type === 'reply' ? [e.reply.code, e.reply.lines] : e)),
    [
      [250, ['a', 'b', 'c']],
      [221, ['Bye']],
    ],
  );
});

test('ReplyParser: bare LF endings and bare codes are accepted', () => {
  const p = new ReplyParser();
  const events = feed(p, '250-x\n250\n354 go\n');
  assert.deepEqual(
    events.map((e) => (e.type === 'reply' ? [e.reply.code, e.reply.lines] : e)),
    [
      [250, ['x', '']],
      [354, ['go']],
    ],
  );
});

test('ReplyParser: enhanced code extracted only when its class matches the reply code', () => {
  const cases: Array<[string, string | undefined, string[]]> = [
    ['250 2.1.5 Recipient OK\r\n', '2.1.5', ['Recipient OK']],
    ['550 5.1.1\r\n', '5.1.1', ['']],
    ['451 4.7.1 greylisted\r\n', '4.7.1', ['greylisted']],
    ['550 2.1.5 mismatched class\r\n', undefined, ['2.1.5 mismatched class']],
    ['250 2.1.5x not a code\r\n', undefined, ['2.1.5x not a code']],
    ['250 2.1000.5 too long\r\n', undefined, ['2.1000.5 too long']],
    ['550-5.7.1 first\r\n550-second without\r\n550 5.7.1 third\r\n', '5.7.1', ['first', 'second without', 'third']],
  ];
  for (const [wire, enhanced, lines] of cases) {
    const [ev] = new ReplyParser().push(Buffer.from(wire));
    assert.ok(ev?.type === 'reply', wire);
    assert.equal(ev.reply.enhanced, enhanced, wire);
    assert.deepEqual(ev.reply.lines, lines, wire);
  }
});

test('ReplyParser: hostile replies become typed errors and the parser stops', () => {
  const cases: Array<[string, string, Record<string, number>?]> = [
    ['abc hello\r\n', 'INVALID_CODE'],
    ['099 hello\r\n', 'INVALID_CODE'],
    ['600 hello\r\n', 'INVALID_CODE'],
    ['260 hello\r\n', 'INVALID_CODE'],
    ['25 short\r\n', 'INVALID_CODE'],
    ['250_hello\r\n', 'INVALID_CODE'],
    ['\r\n', 'INVALID_CODE'],
    ['250-a\r\n550 b\r\n', 'MISMATCHED_CODE'],
    [`250 ${'x'.repeat(5000)}\r\n`, 'LINE_TOO_LONG'],
    [`250 ${'x'.repeat(5000)}`, 'LINE_TOO_LONG'],
    ['250-x\r\n'.repeat(101), 'TOO_MANY_LINES'],
    ['250-xxxxxxxxxx\r\n'.repeat(50), 'REPLY_TOO_LARGE', { maxReplyOctets: 500 }],
  ];
  for (const [wire, kind, limits] of cases) {
    const p = new ReplyParser(limits ?? {});
    const events = p.push(Buffer.from(wire));
    const last = events[events.length - 1];
    assert.ok(last?.type === 'error', `${kind}: ${JSON.stringify(events).slice(0, 200)}`);
    assert.equal(last.error.kind, kind);
    assert.equal(p.failed, true);
    assert.deepEqual(p.push(Buffer.from('250 OK\r\n')), [], 'ignores input after an error');
  }
});

test('ReplyParser: an unending multi-line reply or a megabyte line costs bounded memory', () => {
  const p = new ReplyParser();
  let error: ReplyEvent | undefined;
  for (let i = 0; i < 10_000 && error === undefined; i++) {
    error = p.push(Buffer.from('250-more\r\n')).find((e) => e.type === 'error');
  }
  assert.ok(error?.type === 'error' && error.error.kind === 'TOO_MANY_LINES');

  const q = new ReplyParser();
  const mb = Buffer.alloc(64 * 1024, 0x41);
  const first = q.push(Buffer.from('250 '));
  assert.deepEqual(first, []);
  const events = q.push(mb);
  assert.ok(events[0]?.type === 'error' && events[0].error.kind === 'LINE_TOO_LONG');
});

test('ReplyParser.end reports a reply cut short by the server closing', () => {
  const p = new ReplyParser();
  assert.deepEqual(p.push(Buffer.from('250-first\r\n250-sec')), []);
  const [ev] = p.end();
  assert.ok(ev?.type === 'error' && ev.error.kind === 'TRUNCATED');
  assert.deepEqual(new ReplyParser().end(), [], 'nothing pending, nothing to report');
});

test('parseEnhancedCode and isValidReplyCode', () => {
  assert.deepEqual(parseEnhancedCode('5.7.1 denied', 550), { enhanced: '5.7.1', rest: 'denied' });
  assert.equal(parseEnhancedCode('5.7.1 denied', 250), undefined);
  assert.equal(parseEnhancedCode('3.0.0 x', 354), undefined);
  const codes: Array<[number, boolean]> = [
    [200, true], [250, true], [354, true], [421, true], [599, false], [555, true], [199, false], [600, false], [260, false], [250.5, false],
  ];
  for (const [c, ok] of codes) assert.equal(isValidReplyCode(c), ok, String(c));
});
