import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineReader, DataDecoder, BdatReader, DotStuffer, dotStuff } from './framing.js';
import type { LineEvent, DataOutcome, DataDecoderOptions } from './framing.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function drain(r: LineReader): Array<string | LineEvent> {
  const out: Array<string | LineEvent> = [];
  for (let e = r.next(); e !== undefined; e = r.next()) {
    out.push(e.type === 'line' ? `${e.line.toString('latin1')}|${e.ending}` : e);
  }
  return out;
}

// --- LineReader -------------------------------------------------------------------

test('LineReader: lines end at CRLF or bare LF, and say which', () => {
  const r = new LineReader();
  r.push(b('EHLO a\r\nNOOP\nMAIL FROM:<>\r\npartial'));
  assert.deepEqual(drain(r), ['EHLO a|CRLF', 'NOOP|LF', 'MAIL FROM:<>|CRLF']);
  assert.equal(r.buffered, 7);
  r.push(b('\r\n'));
  assert.deepEqual(drain(r), ['partial|CRLF']);
});

test('LineReader: any chunking gives the same lines', () => {
  const wire = 'EHLO a\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n';
  const expected = ['EHLO a|CRLF', 'MAIL FROM:<a@b.example>|CRLF', 'RCPT TO:<c@d.example>|CRLF', 'DATA|CRLF'];
  for (let cut = 0; cut <= wire.length; cut++) {
    const r = new LineReader();
    r.push(b(wire.slice(0, cut)));
    const got = drain(r);
    r.push(b(wire.slice(cut)));
    got.push(...drain(r));
    assert.deepEqual(got, expected, `cut ${cut}`);
  }
  const r = new LineReader();
  const got: Array<string | LineEvent> = [];
  for (const c of wire) {
    r.push(b(c));
    got.push(...drain(r));
  }
  assert.deepEqual(got, expected, 'byte by byte');
});

test('LineReader: 512 octets including CRLF is the limit (RFC 5321 §4.5.3.1.4)', () => {
  const cases: Array<[string, boolean]> = [
    [`${'x'.repeat(510)}\r\n`, true],
    [`${'x'.repeat(511)}\r\n`, false],
    [`${'x'.repeat(510)}\n`, true],
    [`${'x'.repeat(511)}\n`, false],
  ];
  for (const [wire, fits] of cases) {
    const r = new LineReader();
    r.push(b(wire + 'QUIT\r\n'));
    const events = drain(r);
    assert.equal(events.length, 2, wire.length.toString());
    assert.equal(typeof events[0] === 'string', fits, wire.length.toString());
    if (!fits) assert.deepEqual(events[0], { type: 'line-too-long', limit: 512 });
    assert.equal(events[1], 'QUIT|CRLF', 'resynchronised on the next line');
  }
});

test('LineReader: a flood without line ending costs O(limit) memory and yields one event', () => {
  const r = new LineReader();
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const events: Array<string | LineEvent> = [];
  for (let i = 0; i < 160; i++) {
    // 10 MiB in all
    r.push(chunk);
    events.push(...drain(r));
    assert.ok(r.buffered <= 512, `buffered ${r.buffered}`);
  }
  r.push(b('tail of the flood\r\nQUIT\r\n'));
  events.push(...drain(r));
  assert.deepEqual(events, [{ type: 'line-too-long', limit: 512 }, 'QUIT|CRLF']);
});

test('LineReader: the limit can be raised for an AUTH exchange (RFC 4954 §4)', () => {
  const r = new LineReader();
  r.maxLineOctets = 12288;
  r.push(b(`${'Q'.repeat(4000)}\r\n`));
  const [e] = drain(r);
  assert.equal(typeof e, 'string');
});

test('LineReader: takeBuffered hands pipelined DATA content over', () => {
  const r = new LineReader();
  r.push(b('DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n'));
  assert.deepEqual(r.next(), { type: 'line', line: b('DATA'), ending: 'CRLF' });
  const rest = r.takeBuffered();
  assert.equal(rest.toString('latin1'), 'Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n');
  assert.equal(r.buffered, 0);
  const d = new DataDecoder().push(rest);
  assert.ok(d.done);
  r.push(d.rest);
  assert.deepEqual(drain(r), ['QUIT|CRLF']);
});

test('LineReader: discardBuffered drops plaintext injected after STARTTLS (CVE-2011-0411)', () => {
  const r = new LineReader();
  r.push(b('STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.com>\r\n'));
  assert.deepEqual(r.next(), { type: 'line', line: b('STARTTLS'), ending: 'CRLF' });
  assert.equal(r.discardBuffered(), 36);
  assert.equal(r.next(), undefined);
  r.push(b('EHLO after-tls\r\n'));
  assert.deepEqual(drain(r), ['EHLO after-tls|CRLF']);
});

// --- DataDecoder -------------------------------------------------------------------

interface Decoded {
  body: string;
  outcome: DataOutcome | undefined;
  rest: string;
}

function decode(chunks: readonly Buffer[], opts: DataDecoderOptions = {}): Decoded {
  const d = new DataDecoder(opts);
  const body: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const r = d.push(chunks[i] as Buffer);
    body.push(...r.chunks);
    if (r.done) {
      const rest = Buffer.concat([r.rest, ...chunks.slice(i + 1)]);
      return { body: Buffer.concat(body).toString('latin1'), outcome: r.outcome, rest: rest.toString('latin1') };
    }
  }
  return { body: Buffer.concat(body).toString('latin1'), outcome: undefined, rest: '' };
}

/** [name, wire, body or null when rejected, error or undefined, rest or null when not ended] */
const DATA_CASES: Array<[string, string, string | null, string | undefined, string | null]> = [
  ['empty body: .CRLF right after DATA', '.\r\n', '', undefined, ''],
  ['one line', 'a\r\n.\r\n', 'a\r\n', undefined, ''],
  ['pipelined commands after the end', 'a\r\n.\r\nQUIT\r\n', 'a\r\n', undefined, 'QUIT\r\n'],
  ['dot-unstuffing', '..leading\r\n.x\r\n..\r\n.\r\n', '.leading\r\nx\r\n.\r\n', undefined, ''],
  ['dot inside a line stays', 'a.b\r\n a\r\n.\r\n', 'a.b\r\n a\r\n', undefined, ''],
  ['headers and blank line', 'Subject: x\r\n\r\nbody\r\n.\r\n', 'Subject: x\r\n\r\nbody\r\n', undefined, ''],
  ['8-bit and NUL octets pass', 'caf\xe9\x00\r\n.\r\n', 'caf\xe9\x00\r\n', undefined, ''],
  ['smuggling: LF.LF does not end', 'a\n.\nMAIL FROM:<x@evil>\r\n.\r\nNOOP\r\n', null, 'BARE_LF', 'NOOP\r\n'],
  ['smuggling: LF.CRLF does not end', 'a\n.\r\nRCPT TO:<x@evil>\r\n.\r\n', null, 'BARE_LF', ''],
  ['smuggling: CRLF.LF does not end', 'a\r\n.\nDATA\r\n.\r\n', null, 'BARE_LF', ''],
  ['smuggling: CR.CRLF does not end', 'a\r.\r\nDATA\r\n.\r\n', null, 'BARE_CR', ''],
  ['smuggling: CRLF.CR x', 'a\r\n.\rx\r\n.\r\n', null, 'BARE_CR', ''],
  ['bare CR mid-line', 'a\rb\r\n.\r\n', null, 'BARE_CR', ''],
  ['bare LF mid-line', 'a\nb\r\n.\r\n', null, 'BARE_LF', ''],
  ['bare LF and bare CR: LF reported first', 'a\rb\nc\r\n.\r\n', null, 'BARE_LF', ''],
  ['CRLF.CR CRLF.CRLF', 'a\r\n.\r\r\n.\r\n', null, 'BARE_CR', ''],
  ['998 octets fit', `${'x'.repeat(998)}\r\n.\r\n`, `${'x'.repeat(998)}\r\n`, undefined, ''],
  ['a stuffed dot is not counted', `.${'.'.repeat(998)}\r\n.\r\n`, `${'.'.repeat(998)}\r\n`, undefined, ''],
  ['999 octets do not', `${'x'.repeat(999)}\r\nok\r\n.\r\n`, null, 'LINE_TOO_LONG', ''],
  ['no end yet', 'a\r\nb\n.\n', null, undefined, null],
  ['lone dot line without CRLF before it', 'a.\r\n.\r\n', 'a.\r\n', undefined, ''],
];

test('DataDecoder: table of bodies, endings and smuggling attempts', () => {
  for (const [name, wire, body, error, rest] of DATA_CASES) {
    const got = decode([b(wire)]);
    if (rest === null) {
      assert.equal(got.outcome, undefined, `${name}: must not end`);
      continue;
    }
    assert.ok(got.outcome !== undefined, `${name}: must end`);
    assert.equal(got.rest, rest, `${name}: rest`);
    if (error === undefined) {
      assert.deepEqual(got.outcome, { ok: true, octets: (body ?? '').length }, name);
      assert.equal(got.body, body, `${name}: body`);
    } else {
      assert.equal(got.outcome.ok, false, name);
      assert.equal(got.outcome.ok === false && got.outcome.error, error, name);
    }
  }
});

test('DataDecoder: every split point and byte-by-byte feeding give the same result', () => {
  for (const [name, wire] of DATA_CASES) {
    const whole = decode([b(wire)]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const split = decode([b(wire.slice(0, cut)), b(wire.slice(cut))]);
      assert.deepEqual(split.outcome, whole.outcome, `${name} cut ${cut}`);
      assert.equal(split.rest, whole.rest, `${name} cut ${cut}`);
      if (whole.outcome?.ok === true) assert.equal(split.body, whole.body, `${name} cut ${cut}`);
    }
    const bytes = decode([...b(wire)].map((x) => Buffer.from([x])));
    assert.deepEqual(bytes.outcome, whole.outcome, `${name} bytewise`);
    if (whole.outcome?.ok === true) assert.equal(bytes.body, whole.body, `${name} bytewise`);
  }
});

test('DataDecoder: size limit, and nothing emitted once the message is refused', () => {
  const got = decode([b('0123456789\r\n'), b('0123456789\r\n.\r\nQUIT\r\n')], { maxMessageOctets: 20 });
  assert.deepEqual(got.outcome, { ok: false, error: 'MESSAGE_TOO_BIG', errors: ['MESSAGE_TOO_BIG'], octets: 24 });
  assert.equal(got.body, '0123456789\r\n');
  assert.equal(got.rest, 'QUIT\r\n');
  const fits = decode([b('0123456789\r\n.\r\n')], { maxMessageOctets: 12 });
  assert.deepEqual(fits.outcome, { ok: true, octets: 12 });
});

test('DataDecoder: long lines may be allowed by configuration', () => {
  const got = decode([b(`${'x'.repeat(5000)}\r\n.\r\n`)], { maxLineOctets: null });
  assert.deepEqual(got.outcome, { ok: true, octets: 5002 });
});

test('DataDecoder: input after the end is returned untouched', () => {
  const d = new DataDecoder();
  const first = d.push(b('.\r\n'));
  assert.ok(first.done);
  const again = d.push(b('NOOP\r\n'));
  assert.ok(again.done && again.rest.toString() === 'NOOP\r\n' && again.chunks.length === 0);
});

// --- BdatReader --------------------------------------------------------------------

test('BdatReader: exactly N octets, any framing inside, the rest goes back to commands', () => {
  const r = new BdatReader(10);
  const a = r.push(b('abc\r\n.\r'));
  assert.deepEqual([a.data.toString('latin1'), a.done, a.rest.length], ['abc\r\n.\r', false, 0]);
  const c = r.push(b('\nxyQUIT\r\n'));
  assert.deepEqual([c.data.toString('latin1'), c.done, c.rest.toString('latin1')], ['\nxy', true, 'QUIT\r\n']);
  const zero = new BdatReader(0);
  assert.equal(zero.done, true);
  assert.equal(zero.push(b('RSET\r\n')).rest.toString(), 'RSET\r\n');
});

// --- DotStuffer --------------------------------------------------------------------

test('dotStuff: stuffing, CRLF normalisation, final CRLF and terminator', () => {
  const cases: Array<[string, string]> = [
    ['', '.\r\n'],
    ['a\r\n', 'a\r\n.\r\n'],
    ['a', 'a\r\n.\r\n'],
    ['.a\r\n', '..a\r\n.\r\n'],
    ['x\r\n.\r\n', 'x\r\n..\r\n.\r\n'],
    ['a\n.b\n', 'a\r\n..b\r\n.\r\n'],
    ['a\rb', 'a\r\nb\r\n.\r\n'],
    ['a\r', 'a\r\n.\r\n'],
    ['a\r\r\n', 'a\r\n\r\n.\r\n'],
    ['a\n.\nMAIL FROM:<x>\n', 'a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n'],
  ];
  for (const [input, wire] of cases) assert.equal(dotStuff(b(input)).toString('latin1'), wire, JSON.stringify(input));
});

test('DotStuffer: streaming at every split equals one shot, and DataDecoder reads it back', () => {
  const body = '.start\r\nmid.dle\r\n..two\r\n\r\n.\r\nend';
  const oneShot = dotStuff(b(body)).toString('latin1');
  for (let cut = 0; cut <= body.length; cut++) {
    const s = new DotStuffer();
    const wire = Buffer.concat([s.push(b(body.slice(0, cut))), s.push(b(body.slice(cut))), s.finish()]);
    assert.equal(wire.toString('latin1'), oneShot, `cut ${cut}`);
  }
  const back = decode([b(oneShot)]);
  assert.equal(back.body, `${body}\r\n`);
  assert.equal(back.outcome?.ok, true);
});
