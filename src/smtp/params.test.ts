import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMailParams,
  parseRcptParams,
  formatMailParams,
  formatRcptParams,
  requiredExtensions,
  checkAdvertised,
  isParamError,
  xtextEncode,
  xtextDecode,
} from './params.js';
import { formatReply } from './reply.js';

function wire(r: unknown): string {
  assert.ok(isParamError(r), `expected an error, got ${JSON.stringify(r)}`);
  return formatReply(r.reply).trimEnd();
}

test('MAIL parameters parse to typed values', () => {
  const cases: Array<[string[], Record<string, unknown>]> = [
    [[], {}],
    [['SIZE=0'], { size: 0 }],
    [['size=12345'], { size: 12345 }],
    [['SIZE=99999999999999999999'], { size: Number.MAX_SAFE_INTEGER }],
    [['BODY=7bit'], { body: '7BIT' }],
    [['BODY=8BITMIME'], { body: '8BITMIME' }],
    [['BODY=BinaryMIME'], { body: 'BINARYMIME' }],
    [['SMTPUTF8'], { smtputf8: true }],
    [['RET=full'], { ret: 'FULL' }],
    [['RET=HDRS', 'ENVID=QQ314159'], { ret: 'HDRS', envid: 'QQ314159' }],
    [['ENVID=a+2Bb+3Dc'], { envid: 'a+b=c' }],
    [['AUTH=<>'], { auth: '<>' }],
    [['AUTH=user+40example.com'], { auth: 'user@example.com' }],
    [['REQUIRETLS'], { requireTls: true }],
  ];
  for (const [tokens, expected] of cases) {
    const r = parseMailParams(tokens);
    assert.ok(!isParamError(r), tokens.join(' '));
    assert.deepEqual({ ...r }, expected, tokens.join(' '));
  }
});

test('MAIL parameter errors carry their replies', () => {
  const cases: Array<[string[], string]> = [
    [['FOO'], '555 5.5.4 Unsupported parameter FOO'],
    [['XVERP=1'], '555 5.5.4 Unsupported parameter XVERP'],
    [['NOTIFY=NEVER'], '555 5.5.4 Unsupported parameter NOTIFY'],
    [['SIZE'], '501 5.5.4 Invalid SIZE'],
    [['SIZE=-1'], '501 5.5.4 Invalid SIZE'],
    [['SIZE=1e5'], '501 5.5.4 Invalid SIZE'],
    [['SIZE=123456789012345678901'], '501 5.5.4 Invalid SIZE'],
    [['BODY=9BIT'], '501 5.5.4 Invalid BODY'],
    [['BODY'], '501 5.5.4 Invalid BODY'],
    [['SMTPUTF8=yes'], '501 5.5.4 SMTPUTF8 takes no value'],
    [['REQUIRETLS=1'], '501 5.5.4 REQUIRETLS takes no value'],
    [['RET=ALL'], '501 5.5.4 Invalid RET'],
    [['ENVID=a+zz'], '501 5.5.4 Invalid ENVID'],
    [[`ENVID=${'x'.repeat(101)}`], '501 5.5.4 Invalid ENVID'],
    [['ENVID='], '501 5.5.4 Invalid ENVID value'],
    [['AUTH=a+4'], '501 5.5.4 Invalid AUTH'],
    [['SIZE=1', 'SIZE=2'], '501 5.5.4 Duplicate parameter SIZE'],
    [['body=7bit', 'BODY=8BITMIME'], '501 5.5.4 Duplicate parameter BODY'],
    [['-X'], '501 5.5.4 Syntax error in parameters'],
    [['=1'], '501 5.5.4 Syntax error in parameters'],
    [['SIZE=1=2'], '501 5.5.4 Invalid SIZE value'],
  ];
  for (const [tokens, expected] of cases) assert.equal(wire(parseMailParams(tokens)), expected, tokens.join(' '));
});

test('RCPT parameters: NOTIFY and ORCPT', () => {
  const good: Array<[string[], Record<string, unknown>]> = [
    [['NOTIFY=NEVER'], { notify: 'NEVER' }],
    [['NOTIFY=success'], { notify: ['SUCCESS'] }],
    [['NOTIFY=SUCCESS,FAILURE,DELAY'], { notify: ['SUCCESS', 'FAILURE', 'DELAY'] }],
    [['ORCPT=rfc822;user+40example.com'], { orcpt: { addrType: 'rfc822', address: 'user@example.com' } }],
    [['ORCPT=RFC822;a+2Bb@example.com'], { orcpt: { addrType: 'rfc822', address: 'a+b@example.com' } }],
    [['ORCPT=utf-8;user@example.com'], { orcpt: { addrType: 'utf-8', address: 'user@example.com' } }],
  ];
  for (const [tokens, expected] of good) {
    const r = parseRcptParams(tokens);
    assert.ok(!isParamError(r), tokens.join(' '));
    assert.deepEqual({ ...r }, expected, tokens.join(' '));
  }
  const bad: Array<[string[], string]> = [
    [['NOTIFY=NEVER,SUCCESS'], '501 5.5.4 Invalid NOTIFY'],
    [['NOTIFY=SUCCESS,SUCCESS'], '501 5.5.4 Invalid NOTIFY'],
    [['NOTIFY=SOMETIMES'], '501 5.5.4 Invalid NOTIFY'],
    [['NOTIFY'], '501 5.5.4 Invalid NOTIFY'],
    [['NOTIFY=SUCCESS,'], '501 5.5.4 Invalid NOTIFY'],
    [['ORCPT=user@example.com'], '501 5.5.4 Invalid ORCPT'],
    [['ORCPT=;user@example.com'], '501 5.5.4 Invalid ORCPT'],
    [['ORCPT=rfc822;'], '501 5.5.4 Invalid ORCPT'],
    [['ORCPT=rfc822;a+ZZ'], '501 5.5.4 Invalid ORCPT'],
    [['SIZE=1'], '555 5.5.4 Unsupported parameter SIZE'],
    [['NOTIFY=NEVER', 'notify=NEVER'], '501 5.5.4 Duplicate parameter NOTIFY'],
  ];
  for (const [tokens, expected] of bad) assert.equal(wire(parseRcptParams(tokens)), expected, tokens.join(' '));
});

test('xtext: RFC 3461 §4 encoding round-trips and rejects malformed input', () => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['a+b=c', 'a+2Bb+3Dc'],
    ['with space', 'with+20space'],
    ['ü', '+C3+BC'],
    ['', ''],
  ];
  for (const [raw, enc] of cases) {
    assert.equal(xtextEncode(raw), enc, raw);
    assert.equal(xtextDecode(enc), raw, enc);
  }
  assert.equal(xtextDecode('a+2bb'), 'a+b', 'lower-case hex accepted');
  for (const bad of ['a=b', 'a+', 'a+2', 'a+GG', 'a b', 'é']) assert.equal(xtextDecode(bad), undefined, bad);
});

test('each parameter needs its advertised extension; the server refuses the rest with 555', () => {
  const cases: Array<[string[], string[]]> = [
    [['SIZE=1'], ['SIZE']],
    [['BODY=8BITMIME'], ['8BITMIME']],
    [['BODY=7BIT'], ['8BITMIME']],
    [['BODY=BINARYMIME'], ['BINARYMIME']],
    [['SMTPUTF8'], ['SMTPUTF8']],
    [['RET=FULL', 'ENVID=x'], ['DSN']],
    [['AUTH=<>'], ['AUTH']],
    [['REQUIRETLS'], ['REQUIRETLS']],
  ];
  for (const [tokens, exts] of cases) {
    const p = parseMailParams(tokens);
    assert.ok(!isParamError(p));
    assert.deepEqual(requiredExtensions(p), exts, tokens.join(' '));
  }
  const rcpt = parseRcptParams(['NOTIFY=NEVER']);
  assert.ok(!isParamError(rcpt));
  assert.deepEqual(requiredExtensions(rcpt), ['DSN']);

  const p = parseMailParams(['SIZE=10', 'SMTPUTF8']);
  assert.ok(!isParamError(p));
  assert.equal(checkAdvertised(p, new Set(['SIZE', 'SMTPUTF8'])), undefined);
  const refused = checkAdvertised(p, new Set(['SIZE']));
  assert.ok(refused !== undefined);
  assert.equal(formatReply(refused).trimEnd(), '555 5.5.4 Unsupported parameter: SMTPUTF8 not offered');
});

test('formatting parameters for the client round-trips through the parser', () => {
  const mail = { size: 10, body: '8BITMIME', smtputf8: true, ret: 'HDRS', envid: 'id+1 =', auth: '<>', requireTls: true } as const;
  const words = formatMailParams(mail);
  assert.deepEqual(words, ['SIZE=10', 'BODY=8BITMIME', 'SMTPUTF8', 'RET=HDRS', 'ENVID=id+2B1+20+3D', 'AUTH=<>', 'REQUIRETLS']);
  assert.deepEqual({ ...parseMailParams(words) }, mail);
  const rcpt = { notify: ['FAILURE', 'DELAY'], orcpt: { addrType: 'rfc822', address: 'a+b@example.com' } } as const;
  const rw = formatRcptParams(rcpt);
  assert.deepEqual(rw, ['NOTIFY=FAILURE,DELAY', 'ORCPT=rfc822;a+2Bb@example.com']);
  assert.deepEqual({ ...parseRcptParams(rw) }, rcpt);
});
