import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseAddress,
  parseReversePath,
  parseForwardPath,
  normalizeDomain,
  isValidDomain,
  isIpv6,
  formatPath,
  isAddressError,
} from './address.js';
import type { Mailbox } from './address.js';

function mailbox(text: string, utf8 = false): Mailbox {
  const r = parseAddress(text, { utf8 });
  assert.ok(!isAddressError(r), `${text}: ${JSON.stringify(r)}`);
  return r;
}

test('the routing domain is the one after the unquoted @, whatever the local part hides', () => {
  // [input, local, domain, trailingDot]
  const cases: Array<[string, string, string, boolean]> = [
    ['user@good.com', 'user', 'good.com', false],
    ['user%evil.com@good.com', 'user%evil.com', 'good.com', false],
    ['evil.com!user@good.com', 'evil.com!user', 'good.com', false],
    ['"user@evil.com"@good.com', '"user@evil.com"', 'good.com', false],
    ['"user@evil.com\\"@x"@good.com', '"user@evil.com\\"@x"', 'good.com', false],
    ['User@GOOD.Com', 'User', 'good.com', false],
    ['user@good.com.', 'user', 'good.com', true],
    ['<@evil.com,@other.net:user@good.com>', 'user', 'good.com', false],
    ['<user@good.com>', 'user', 'good.com', false],
    ['first.last+tag@sub.good.com', 'first.last+tag', 'sub.good.com', false],
    ['""@good.com', '""', 'good.com', false],
    ['user@[192.0.2.1]', 'user', '[192.0.2.1]', false],
    ['user@[IPv6:2001:DB8::1]', 'user', '[IPv6:2001:db8::1]', false],
    ['user@[ipv6:::ffff:192.0.2.1]', 'user', '[IPv6:::ffff:192.0.2.1]', false],
  ];
  for (const [input, local, domain, trailingDot] of cases) {
    const m = mailbox(input);
    assert.equal(m.local, local, input);
    assert.equal(m.domain, domain, input);
    assert.equal(m.trailingDot, trailingDot, input);
    assert.equal(m.text, `${local}@${domain}`, input);
  }
});

test('quoted local parts are unquoted in localValue', () => {
  assert.equal(mailbox('"a\\"b c"@x.example').localValue, 'a"b c');
  assert.equal(mailbox('"user@evil.com"@good.com').localValue, 'user@evil.com');
  assert.equal(mailbox('plain@x.example').localValue, 'plain');
});

test('addresses that do not parse are refused, never guessed', () => {
  const cases: Array<[string, string]> = [
    ['user@evil.com@good.com', 'SYNTAX'],
    ['user', 'SYNTAX'],
    ['@good.com', 'SYNTAX'],
    ['.user@good.com', 'SYNTAX'],
    ['user.@good.com', 'SYNTAX'],
    ['us..er@good.com', 'SYNTAX'],
    ['us er@good.com', 'SYNTAX'],
    ['"unterminated@good.com', 'SYNTAX'],
    ['"bad\\\u0001"@good.com', 'SYNTAX'],
    ['"ctl\u0007"@good.com', 'SYNTAX'],
    ['user@', 'DOMAIN'],
    ['user@good..com', 'DOMAIN'],
    ['user@good.com..', 'DOMAIN'],
    ['user@.good.com', 'DOMAIN'],
    ['user@-good.com', 'DOMAIN'],
    ['user@good-.com', 'DOMAIN'],
    ['user@good_x.com', 'SYNTAX'],
    ['user@192.0.2.1', 'DOMAIN'],
    [`user@${'a'.repeat(64)}.com`, 'DOMAIN'],
    [`user@${Array(70).fill('abcd').join('.')}`, 'DOMAIN'],
    ['user@[192.0.2.256]', 'LITERAL'],
    ['user@[IPv6:2001:db8::1::2]', 'LITERAL'],
    ['user@[IPv6:1:2:3:4:5:6:7:8:9]', 'LITERAL'],
    ['user@[x-tag:foo]', 'LITERAL'],
    ['user@[192.0.2.1', 'SYNTAX'],
    ['ü@good.com', 'UTF8_NOT_ALLOWED'],
    ['user@bücher.de', 'UTF8_NOT_ALLOWED'],
    ['<user@good.com', 'SYNTAX'],
    ['<user@good.com> x', 'SYNTAX'],
    ['<@evil.com user@good.com>', 'SYNTAX'],
  ];
  for (const [input, code] of cases) {
    const r = parseAddress(input);
    assert.ok(isAddressError(r), `${input} should be refused, got ${JSON.stringify(r)}`);
    assert.equal(r.code, code, input);
  }
});

test('SMTPUTF8: U-labels are canonical and agree with their A-labels', () => {
  const cases: Array<[string, string, string]> = [
    ['user@bücher.de', 'bücher.de', 'xn--bcher-kva.de'],
    ['user@BÜCHER.DE', 'bücher.de', 'xn--bcher-kva.de'],
    ['δοκιμή@παράδειγμα.δοκιμή', 'παράδειγμα.δοκιμή', 'xn--hxajbheg2az3al.xn--jxalpdlp'],
    ['user@xn--bcher-kva.de', 'xn--bcher-kva.de', 'xn--bcher-kva.de'],
  ];
  for (const [input, domain, ascii] of cases) {
    const m = mailbox(input, true);
    assert.equal(m.domain, domain, input);
    assert.equal(m.asciiDomain, ascii, input);
  }
  assert.equal(mailbox('ü@good.com', true).isUtf8, true);
  assert.equal(mailbox('u@good.com', true).isUtf8, false);
});

test('full-width dots cannot make the U-label domain differ from the routed A-label domain', () => {
  for (const input of ['user@good.com\u3002evil.net', 'user@evil\uff0ecom', 'user@evil\uff61com']) {
    const r = parseAddress(input, { utf8: true });
    assert.ok(isAddressError(r), input);
  }
});

test('reverse and forward paths', () => {
  assert.deepEqual(parseReversePath('<>'), { kind: 'null' });
  assert.ok(isAddressError(parseReversePath('<postmaster>')));
  assert.deepEqual(parseForwardPath('<Postmaster>'), { kind: 'postmaster' });
  assert.deepEqual(parseForwardPath('<POSTMASTER>'), { kind: 'postmaster' });
  assert.ok(isAddressError(parseForwardPath('<>')));
  const routed = parseForwardPath('<@a.example,@b.example:u@c.example>');
  assert.ok(!isAddressError(routed) && routed.kind === 'mailbox');
  assert.deepEqual(routed.sourceRoute, ['a.example', 'b.example']);
  assert.equal(routed.mailbox.domain, 'c.example');
});

test('formatPath drops source routes and writes normalised domains', () => {
  const cases: Array<[string, string]> = [
    ['<>', '<>'],
    ['<postmaster>', '<Postmaster>'],
    ['<@a.example:User@C.Example.>', '<User@c.example>'],
    ['<"a b"@x.example>', '<"a b"@x.example>'],
  ];
  for (const [input, out] of cases) {
    const p = input === '<>' ? parseReversePath(input) : parseForwardPath(input);
    assert.ok(!isAddressError(p), input);
    assert.equal(formatPath(p), out, input);
  }
});

test('normalizeDomain and isValidDomain', () => {
  assert.deepEqual(normalizeDomain('Example.COM.'), {
    domain: 'example.com',
    ascii: 'example.com',
    isUtf8: false,
    trailingDot: true,
  });
  assert.equal(normalizeDomain('bücher.de'), undefined);
  assert.equal(normalizeDomain('bücher.de', { utf8: true })?.ascii, 'xn--bcher-kva.de');
  const valid: Array<[string, boolean]> = [
    ['example.com', true],
    ['a', true],
    ['1a.example', true],
    ['a-b.example', true],
    ['example.com.', false],
    ['ex ample.com', false],
    ['example.123', false],
    ['', false],
    ['.', false],
  ];
  for (const [name, ok] of valid) assert.equal(isValidDomain(name), ok, name);
});

test('isIpv6 follows RFC 5321 §4.1.3', () => {
  const cases: Array<[string, boolean]> = [
    ['2001:db8:0:0:0:0:0:1', true],
    ['2001:db8::1', true],
    ['::', true],
    ['::1', true],
    ['fe80::', true],
    ['::ffff:192.0.2.1', true],
    ['1:2:3:4:5:6:192.0.2.1', true],
    ['1:2:3:4:5:6:7', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1::2::3', false],
    ['12345::1', false],
    ['g::1', false],
    ['1:2:3:4:5:6:7:192.0.2.1', false],
    ['::300.1.1.1', false],
  ];
  for (const [s, ok] of cases) assert.equal(isIpv6(s), ok, s);
});
