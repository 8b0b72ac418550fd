import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEhloKeywords, ehloReply, parseEhloReply } from './ehlo.js';
import type { ServerCapabilities, EhloState } from './ehlo.js';
import { formatReply, ReplyParser } from './reply.js';

const CAPS: ServerCapabilities = {
  size: 10_485_760,
  pipelining: true,
  eightBitMime: true,
  smtputf8: true,
  enhancedStatusCodes: true,
  dsn: true,
  chunking: true,
  startTls: true,
  authMechanisms: ['PLAIN', 'LOGIN'],
};

test('keywords are advertised per session state', () => {
  const cases: Array<[string, EhloState, string[]]> = [
    [
      'plaintext, AUTH only under TLS',
      { tls: false, authenticated: false, authAllowed: false },
      ['PIPELINING', 'SIZE 10485760', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'],
    ],
    [
      'after STARTTLS: no STARTTLS, AUTH offered',
      { tls: true, authenticated: false, authAllowed: true },
      ['PIPELINING', 'SIZE 10485760', 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'],
    ],
    [
      'after AUTH: no second AUTH',
      { tls: true, authenticated: true, authAllowed: true },
      ['PIPELINING', 'SIZE 10485760', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'],
    ],
  ];
  for (const [name, state, expected] of cases) assert.deepEqual(buildEhloKeywords(CAPS, state), expected, name);
});

test('SIZE without a limit, BINARYMIME only with CHUNKING, REQUIRETLS only under TLS', () => {
  const st: EhloState = { tls: false, authenticated: false, authAllowed: true };
  assert.deepEqual(buildEhloKeywords({ size: 0 }, st), ['SIZE']);
  assert.deepEqual(buildEhloKeywords({ size: null }, st), ['SIZE']);
  assert.deepEqual(buildEhloKeywords({}, st), []);
  assert.deepEqual(buildEhloKeywords({ binaryMime: true }, st), []);
  assert.deepEqual(buildEhloKeywords({ chunking: true, binaryMime: true }, st), ['CHUNKING', 'BINARYMIME']);
  assert.deepEqual(buildEhloKeywords({ requireTls: true }, st), []);
  assert.deepEqual(buildEhloKeywords({ requireTls: true }, { ...st, tls: true }), ['REQUIRETLS']);
});

test('the EHLO reply is multi-line 250 without enhanced codes (RFC 2034 §3)', () => {
  const r = ehloReply('mx.example', 'Hello client.example', ['PIPELINING', 'SIZE 100']);
  assert.equal(formatReply(r), '250-mx.example Hello client.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n');
});

function capsOf(wire: string) {
  const [ev] = new ReplyParser().push(Buffer.from(wire));
  assert.ok(ev?.type === 'reply');
  return parseEhloReply(ev.reply);
}

test('parseEhloReply: a capability map for the client', () => {
  const c = capsOf(
    '250-mx.example greets you\r\n250-pipelining\r\n250-SIZE 52428800\r\n250-AUTH PLAIN LOGIN\r\n' +
      '250-AUTH=LOGIN CRAM-MD5\r\n250-8BITMIME\r\n250-X-VENDOR-THING a b\r\n250--not-a-keyword\r\n250-\r\n250 CHUNKING\r\n',
  );
  assert.equal(c.greeting, 'mx.example greets you');
  assert.equal(c.size, 52428800);
  assert.deepEqual([...c.authMechanisms].sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN']);
  assert.deepEqual(c.keywords.get('AUTH'), ['PLAIN', 'LOGIN']);
  assert.deepEqual(c.keywords.get('X-VENDOR-THING'), ['a', 'b']);
  for (const kw of ['PIPELINING', 'pipelining', '8BITMIME', 'CHUNKING']) assert.ok(c.has(kw), kw);
  assert.ok(!c.has('STARTTLS'));
  assert.ok(!c.has('MX.EXAMPLE'), 'the greeting line is not a keyword');
  assert.ok(!c.has('-NOT-A-KEYWORD') && !c.has(''), 'malformed lines are skipped');
  assert.equal(c.keywords.size, 6);
});

test('parseEhloReply: SIZE forms and the old AUTH= form alone', () => {
  const cases: Array<[string, number | null | undefined]> = [
    ['250-x\r\n250 SIZE\r\n', null],
    ['250-x\r\n250 SIZE 0\r\n', null],
    ['250-x\r\n250 SIZE junk\r\n', null],
    ['250-x\r\n250 SIZE 1000\r\n', 1000],
    ['250-x\r\n250 SIZE 99999999999999999999\r\n', Number.MAX_SAFE_INTEGER],
    ['250 x\r\n', undefined],
  ];
  for (const [wire, size] of cases) assert.equal(capsOf(wire).size, size, wire);
  const old = capsOf('250-x\r\n250 AUTH=PLAIN LOGIN\r\n');
  assert.deepEqual([...old.authMechanisms], ['PLAIN', 'LOGIN']);
  assert.ok(old.has('AUTH'));
});

test('round trip: what a Petrel server advertises, a Petrel client understands', () => {
  const st: EhloState = { tls: true, authenticated: false, authAllowed: true };
  const wire = formatReply(ehloReply('mx.example', 'hi', buildEhloKeywords(CAPS, st)));
  const c = capsOf(wire);
  assert.equal(c.size, 10_485_760);
  assert.deepEqual([...c.authMechanisms], ['PLAIN', 'LOGIN']);
  for (const kw of ['PIPELINING', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING']) assert.ok(c.has(kw), kw);
});
