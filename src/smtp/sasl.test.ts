import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBase64Strict,
  parseInitialResponse,
  parseContinuation,
  decodePlain,
  encodePlain,
  LOGIN_USERNAME_CHALLENGE,
  LOGIN_PASSWORD_CHALLENGE,
  decodeLoginValue,
  formatCramMd5Challenge,
  cramMd5Digest,
  parseCramMd5Response,
  verifyCramMd5,
  formatCramMd5Response,
  constantTimeEqual,
  encodeBase64,
} from './sasl.js';

test('strict base64: only canonical encodings decode', () => {
  const cases: Array<[string, string | undefined]> = [
    ['', ''],
    ['YQ==', 'a'],
    ['YWI=', 'ab'],
    ['YWJj', 'abc'],
    ['YQ', undefined],
    ['YQ=', undefined],
    ['YR==', undefined],
    ['Y Q==', undefined],
    ['YQ==YQ==', undefined],
    ['YW*j', undefined],
    ['=', undefined],
  ];
  for (const [s, decoded] of cases) assert.equal(decodeBase64Strict(s)?.toString('latin1'), decoded, s);
});

test('initial responses and continuations (RFC 4954 §4)', () => {
  assert.deepEqual(parseInitialResponse(undefined), { kind: 'none' });
  assert.deepEqual(parseInitialResponse('='), { kind: 'data', data: Buffer.alloc(0) });
  assert.deepEqual(parseInitialResponse('YQ=='), { kind: 'data', data: Buffer.from('a') });
  assert.deepEqual(parseInitialResponse('!!'), { kind: 'invalid' });
  assert.deepEqual(parseContinuation('*'), { kind: 'cancel' });
  assert.deepEqual(parseContinuation(''), { kind: 'data', data: Buffer.alloc(0) });
  assert.deepEqual(parseContinuation('not base64'), { kind: 'invalid' });
});

test('PLAIN (RFC 4616 §2): authzid NUL authcid NUL passwd', () => {
  const cases: Array<[string, ReturnType<typeof decodePlain>]> = [
    ['\0tim\0tanstaaftanstaaf', { authzid: '', authcid: 'tim', password: 'tanstaaftanstaaf' }],
    ['Ursel\0Kurt\0xipj3plmq', { authzid: 'Ursel', authcid: 'Kurt', password: 'xipj3plmq' }],
    ['\0ünï\0pässwörd', { authzid: '', authcid: 'ünï', password: 'pässwörd' }],
    ['\0\0password', undefined],
    ['\0user\0', undefined],
    ['user\0password', undefined],
    ['a\0b\0c\0d', undefined],
  ];
  for (const [msg, creds] of cases) assert.deepEqual(decodePlain(Buffer.from(msg, 'utf8')), creds, JSON.stringify(msg));
  assert.equal(decodePlain(Buffer.from([0, 0x75, 0, 0xff, 0xfe])), undefined, 'invalid UTF-8');
  const wire = encodePlain({ authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(wire, 'AHRpbQB0YW5zdGFhZnRhbnN0YWFm');
  const back = parseInitialResponse(wire);
  assert.ok(back.kind === 'data');
  assert.deepEqual(decodePlain(back.data), { authzid: '', authcid: 'tim', password: 'tanstaaftanstaaf' });
});

test('LOGIN: the customary challenges and values', () => {
  assert.equal(Buffer.from(LOGIN_USERNAME_CHALLENGE, 'base64').toString(), 'Username:');
  assert.equal(Buffer.from(LOGIN_PASSWORD_CHALLENGE, 'base64').toString(), 'Password:');
  assert.equal(decodeLoginValue(Buffer.from('user@example.com')), 'user@example.com');
  assert.equal(decodeLoginValue(Buffer.from('a\0b')), undefined);
  assert.equal(decodeLoginValue(Buffer.from([0xc3])), undefined);
});

test('CRAM-MD5: the RFC 2195 §2 example', () => {
  const challenge = formatCramMd5Challenge({ random: '1896', timestamp: '697170952', hostname: 'postoffice.reston.mci.net' });
  assert.equal(challenge, '<1896.697170952@postoffice.reston.mci.net>');
  assert.equal(cramMd5Digest(challenge, 'tanstaaftanstaaf'), 'b913a602c7eda7a495b4e6e7334d3890');
  const response = formatCramMd5Response('tim', encodeBase64(challenge), 'tanstaaftanstaaf');
  assert.equal(response, 'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw');
  const parsed = parseCramMd5Response(decodeBase64Strict(response ?? '') ?? Buffer.alloc(0));
  assert.deepEqual(parsed, { username: 'tim', digest: 'b913a602c7eda7a495b4e6e7334d3890' });
  assert.equal(verifyCramMd5(challenge, 'tanstaaftanstaaf', 'B913A602C7EDA7A495B4E6E7334D3890'), true);
  assert.equal(verifyCramMd5(challenge, 'wrong', 'b913a602c7eda7a495b4e6e7334d3890'), false);
  for (const bad of ['tim', ' b913a602c7eda7a495b4e6e7334d3890', 'tim b913', 'tim zz13a602c7eda7a495b4e6e7334d3890']) {
    assert.equal(parseCramMd5Response(Buffer.from(bad)), undefined, bad);
  }
  assert.deepEqual(parseCramMd5Response(Buffer.from('user name 0123456789abcdef0123456789abcdef')), {
    username: 'user name',
    digest: '0123456789abcdef0123456789abcdef',
  });
  assert.equal(formatCramMd5Response('tim', 'not base64!', 'x'), undefined);
});

test('constantTimeEqual compares values of any length', () => {
  const cases: Array<[string, string, boolean]> = [
    ['secret', 'secret', true],
    ['secret', 'secreT', false],
    ['secret', 'secret2', false],
    ['', '', true],
    ['', 'x', false],
  ];
  for (const [a, b, eq] of cases) assert.equal(constantTimeEqual(a, b), eq, `${a}/${b}`);
  assert.equal(constantTimeEqual(Buffer.from('ab'), 'ab'), true);
});
