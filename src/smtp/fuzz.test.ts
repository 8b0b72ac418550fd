/**
 * Seeded fuzzing of every parser in `smtp/` (STYLE habit 23, after KumoMTA's
 * rfc5321 fuzz target). Deterministic: a failure prints its seed and case
 * index, and re-running reproduces it. Bounded to a few thousand cases per
 * target so the file runs in a couple of seconds.
 *
 * Properties checked, beyond "never throws":
 *  - parseCommand: errors carry a valid reply; formatting a parsed command is
 *    stable under re-parsing (what the client writes, the server reads back).
 *  - parseAddress: the routing domain is stable when the canonical text is
 *    parsed again.
 *  - ReplyParser, LineReader, DataDecoder: the result does not depend on how
 *    the input is cut into chunks; memory stays bounded.
 *  - DataDecoder: an accepted body never contains a bare CR or bare LF
 *    (the smuggling invariant), and dotStuff → DataDecoder is the identity
 *    on CRLF-normalised bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand, formatCommand, isSyntaxError } from './command.js';
import { parseAddress, isAddressError } from './address.js';
import { ReplyParser, isValidReplyCode, formatReply } from './reply.js';
import type { ReplyEvent } from './reply.js';
import { LineReader, DataDecoder, dotStuff } from './framing.js';
import type { LineEvent } from './framing.js';

const SEED = 0x5e7e1;

/** mulberry32: small, fast, good enough to drive a fuzzer. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Insert, delete, flip or splice odd octets into `input`. */
  mutate(input: Buffer): Buffer {
    let b = Buffer.from(input);
    const rounds = 1 + this.int(4);
    for (let r = 0; r < rounds; r++) {
      const at = b.length === 0 ? 0 : this.int(b.length + 1);
      const piece = this.pick([
        Buffer.from('\r'),
        Buffer.from('\n'),
        Buffer.from('\r\n'),
        Buffer.from('\0'),
        Buffer.from('.'),
        Buffer.from('\r\n.\r\n'),
        Buffer.from('\n.\n'),
        Buffer.from('<'),
        Buffer.from('>'),
        Buffer.from('@'),
        Buffer.from('"'),
        Buffer.from('\\'),
        Buffer.from(' '),
        Buffer.from(':'),
        Buffer.from('ü'),
        Buffer.from('δοκιμή'),
        Buffer.from('\u3002'),
        Buffer.from([0xff]),
        Buffer.from([0xc3]),
        Buffer.from([0xed, 0xa0, 0x80]),
        this.bytes(1 + this.int(8)),
      ]);
      switch (this.int(4)) {
        case 0:
          b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
          break;
        case 1:
          b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + this.int(4)))]);
          break;
        case 2:
          if (at < b.length) b[at] = (b[at] as number) ^ (1 << this.int(8));
          break;
        default:
          b = Buffer.concat([b.subarray(0, at), piece, b.subarray(Math.min(b.length, at + piece.length))]);
      }
    }
    return b;
  }
  /** Cut `input` at random points (sometimes every octet). */
  chunks(input: Buffer): Buffer[] {
    if (this.int(10) === 0 && input.length <= 4096) return [...input].map((x) => Buffer.from([x]));
    const out: Buffer[] = [];
    const most = input.length > 4096 ? 4096 : 64;
    let i = 0;
    while (i < input.length) {
      const n = 1 + this.int(Math.max(1, Math.min(most, input.length)));
      out.push(input.subarray(i, i + n));
      i += n;
    }
    return out;
  }
}

const COMMANDS = [
  'EHLO client.example',
  'HELO [192.0.2.1]',
  'MAIL FROM:<user@example.com> SIZE=1000 BODY=8BITMIME',
  'MAIL FROM:<> RET=HDRS ENVID=abc+2Bdef',
  'MAIL FROM:<"quoted@local"@example.com> SMTPUTF8',
  'MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8',
  'RCPT TO:<postmaster>',
  'RCPT TO:<@a.example,@b.example:user%x@c.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40c.example',
  'RCPT TO:<user@[IPv6:2001:db8::1]>',
  'RCPT TO:<user@bücher.de.>',
  'DATA',
  'BDAT 1000 LAST',
  'RSET',
  'NOOP hello',
  'QUIT',
  'VRFY someone',
  'HELP',
  'STARTTLS',
  'AUTH PLAIN AHVzZXIAcGFzcw==',
  'AUTH LOGIN',
];

function commandInput(g: Gen): Buffer {
  switch (g.int(5)) {
    case 0:
      return g.bytes(g.int(80));
    case 1:
      return Buffer.from(`${g.pick(COMMANDS)}${' '.repeat(g.int(3))}`);
    case 2:
      return Buffer.concat([Buffer.from(g.pick(COMMANDS)), g.bytes(g.int(20_000))]);
    default:
      return g.mutate(Buffer.from(g.pick(COMMANDS)));
  }
}

test('fuzz parseCommand: never throws; errors carry valid replies; formatting is stable', () => {
  const g = new Gen(SEED);
  const kinds = new Set<string>();
  for (let i = 0; i < 4000; i++) {
    const input = commandInput(g);
    const ctx = `seed ${SEED} case ${i}: ${JSON.stringify(input.toString('latin1').slice(0, 120))}`;
    for (const form of [input, input.toString('utf8')]) {
      const r = parseCommand(form);
      kinds.add(r.kind);
      if (isSyntaxError(r)) {
        assert.ok(isValidReplyCode(r.reply.code) && r.reply.code >= 500, ctx);
        assert.match(formatReply(r.reply), /^[45][0-9]{2} [^\r\n]*\r\n$/, ctx);
        continue;
      }
      if (r.kind === 'UNKNOWN') continue;
      const wire = formatCommand(r);
      const again = parseCommand(wire.slice(0, -2));
      assert.ok(!isSyntaxError(again), `${ctx} → ${JSON.stringify(wire)} → ${JSON.stringify(again)}`);
      assert.equal(formatCommand(again), wire, ctx);
    }
  }
  // The generator reaches both outcomes and most verbs.
  assert.ok(kinds.has('SYNTAX_ERROR') && kinds.has('MAIL') && kinds.has('RCPT') && kinds.size >= 12, [...kinds].join());
});

test('fuzz parseAddress: never throws; the routing domain is stable', () => {
  const g = new Gen(SEED + 1);
  const seeds = COMMANDS.filter((c) => c.includes('<')).map((c) => c.slice(c.indexOf('<'), c.lastIndexOf('>') + 1));
  seeds.push('user%evil.com@good.com', '"a@b"@good.com', 'a@[1.2.3.4]', 'x@GOOD.COM.');
  for (let i = 0; i < 4000; i++) {
    const input = (g.int(4) === 0 ? g.bytes(g.int(40)) : g.mutate(Buffer.from(g.pick(seeds)))).toString('utf8');
    const utf8 = g.int(2) === 0;
    const r = parseAddress(input, { utf8 });
    if (isAddressError(r)) continue;
    const ctx = `seed ${SEED + 1} case ${i}: ${JSON.stringify(input)}`;
    assert.equal(r.text, `${r.local}@${r.domain}`, ctx);
    assert.ok(!r.domain.endsWith('.'), ctx);
    const again = parseAddress(r.text, { utf8 });
    assert.ok(!isAddressError(again), `${ctx}: ${JSON.stringify(again)}`);
    assert.equal(again.domain, r.domain, ctx);
    assert.equal(again.asciiDomain, r.asciiDomain, ctx);
    assert.equal(again.local, r.local, ctx);
  }
});

function replyStream(g: Gen): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + g.int(6);
  for (let i = 0; i < n; i++) {
    const code = g.pick(['220', '250', '354', '421', '550', '999', '2x0', '']);
    const lines = g.int(4) === 0 ? 150 : 1 + g.int(4);
    for (let l = 0; l < lines; l++) {
      const sep = l === lines - 1 ? ' ' : '-';
      const text = g.pick(['OK', '2.1.0 Sender OK', '5.7.1 no', 'x'.repeat(5000), 'ü', '']);
      parts.push(Buffer.from(`${code}${sep}${text}${g.pick(['\r\n', '\n'])}`));
    }
  }
  const joined = Buffer.concat(parts);
  return g.int(3) === 0 ? g.mutate(joined) : g.int(8) === 0 ? g.bytes(g.int(300)) : joined;
}

function runReplies(chunks: readonly Buffer[]): ReplyEvent[] {
  const p = new ReplyParser();
  const out = chunks.flatMap((c) => p.push(c));
  return [...out, ...p.end()];
}

test('fuzz ReplyParser: never throws; chunking does not change the replies', () => {
  const g = new Gen(SEED + 2);
  for (let i = 0; i < 2000; i++) {
    const wire = replyStream(g);
    const whole = runReplies([wire]);
    const split = runReplies(g.chunks(wire));
    assert.deepEqual(split, whole, `seed ${SEED + 2} case ${i}`);
  }
});

function runLines(chunks: readonly Buffer[], max: number): Array<string | LineEvent> {
  const r = new LineReader({ maxLineOctets: max });
  const out: Array<string | LineEvent> = [];
  for (const c of chunks) {
    r.push(c);
    for (let e = r.next(); e !== undefined; e = r.next()) out.push(e.type === 'line' ? `${e.ending}:${e.line.toString('latin1')}` : e);
    assert.ok(r.buffered < max, `buffered ${r.buffered} with limit ${max}`);
  }
  return out;
}

test('fuzz LineReader: never throws; chunking does not change the lines; memory bounded', () => {
  const g = new Gen(SEED + 3);
  for (let i = 0; i < 2000; i++) {
    const base = Buffer.from(Array.from({ length: 1 + g.int(6) }, () => `${g.pick(COMMANDS)}\r\n`).join(''));
    const wire = g.int(5) === 0 ? Buffer.concat([base, g.bytes(g.int(3000)), base]) : g.mutate(base);
    const max = g.pick([16, 64, 512]);
    assert.deepEqual(runLines(g.chunks(wire), max), runLines([wire], max), `seed ${SEED + 3} case ${i}`);
  }
});

function dataStream(g: Gen): Buffer {
  const lines: string[] = [];
  const n = g.int(8);
  for (let i = 0; i < n; i++) {
    lines.push(g.pick(['Subject: x', '', '.', '..', '.hidden', 'body text', 'x'.repeat(g.int(1100)), 'MAIL FROM:<a@b>', 'ü']));
  }
  const body = Buffer.from(lines.map((l) => `${l}\r\n`).join(''));
  const ended = Buffer.concat([body, Buffer.from('.\r\nQUIT\r\n')]);
  switch (g.int(4)) {
    case 0:
      return g.bytes(g.int(200));
    case 1:
      return ended;
    default:
      return g.mutate(ended);
  }
}

interface DataRun {
  body: Buffer;
  outcome: unknown;
  rest: Buffer | undefined;
}

function runData(chunks: readonly Buffer[]): DataRun {
  const d = new DataDecoder();
  const body: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const r = d.push(chunks[i] as Buffer);
    body.push(...r.chunks);
    if (r.done) return { body: Buffer.concat(body), outcome: r.outcome, rest: Buffer.concat([r.rest, ...chunks.slice(i + 1)]) };
  }
  return { body: Buffer.concat(body), outcome: undefined, rest: undefined };
}

const hasBareLineEnding = (b: Buffer): boolean => /\r(?!\n)|(?<!\r)\n/.test(b.toString('latin1'));

test('fuzz DataDecoder: chunking never changes the outcome; accepted bodies have only CRLF', () => {
  const g = new Gen(SEED + 4);
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const wire = dataStream(g);
    const ctx = `seed ${SEED + 4} case ${i}: ${JSON.stringify(wire.toString('latin1').slice(0, 120))}`;
    const whole = runData([wire]);
    const split = runData(g.chunks(wire));
    assert.deepEqual(split.outcome, whole.outcome, ctx);
    assert.deepEqual(split.rest, whole.rest, ctx);
    const outcome = whole.outcome as { ok: boolean; octets: number } | undefined;
    if (outcome?.ok === true) {
      accepted++;
      assert.ok(split.body.equals(whole.body), ctx);
      assert.equal(outcome.octets, whole.body.length, ctx);
      assert.ok(!hasBareLineEnding(whole.body), ctx);
      // What the client would send for this body decodes back to it.
      const again = runData([dotStuff(whole.body)]);
      assert.ok(again.body.equals(whole.body), ctx);
    } else if (outcome !== undefined) {
      rejected++;
    }
  }
  assert.ok(accepted > 100 && rejected > 100, `accepted ${accepted}, rejected ${rejected}`);
});

test('fuzz dotStuff → DataDecoder: identity on CRLF-normalised bodies', () => {
  const g = new Gen(SEED + 5);
  for (let i = 0; i < 2000; i++) {
    const raw = g.int(2) === 0 ? g.bytes(g.int(300)) : g.mutate(Buffer.from('.a\r\n..b\n\rc\r\n.\r\nend'));
    const normalised = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
    const expected = normalised === '' || normalised.endsWith('\r\n') ? normalised : `${normalised}\r\n`;
    const got = runData(g.chunks(dotStuff(raw)));
    const ctx = `seed ${SEED + 5} case ${i}: ${JSON.stringify(raw.toString('latin1').slice(0, 80))}`;
    assert.deepEqual(got.outcome, { ok: true, octets: expected.length }, ctx);
    assert.equal(got.body.toString('latin1'), expected, ctx);
    assert.equal(got.rest?.length, 0, ctx);
  }
});
