/**
 * @module config/values-match.test
 *
 * Matching with parsed values: `cidrContains` (is this client or source address in the
 * network?) and `matchDomainPattern` (does this recipient domain fall under `<domain X>`?).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, matchDomainPattern, parseCidr, parseDomainPattern } from './values.js';

describe('cidrContains', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['10.1.0/24', '10.1.0.77', true],
    ['10.1.0/24', '10.1.1.1', false],
    ['0/0', '203.0.113.9', true],
    ['0/0', '::1', false],
    ['::/0', '2001:db8::5', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['192.0.2.0/24', '::ffff:192.0.2.44', true],
    ['192.0.2.0/24', 'not-an-ip', false],
    ['127.0.0.1', '127.0.0.1', true],
  ];
  for (const [net, ip, inside] of cases) {
    it(`${net} ∋ ${ip}: ${inside}`, () => {
      const parsed = parseCidr({ raw: net, directive: '<source>' });
      assert.ok(parsed.ok);
      assert.equal(cidrContains(parsed.value, ip), inside);
    });
  }
});

describe('matchDomainPattern', () => {
  const macros = new Map([
    ['yahoo_isp', ['yahoo', 'ymail']],
    ['isp_tld', ['com', 'co.uk']],
    ['sub', ['nyc', 'socal']],
  ]);
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['*', 'anything.example', true],
    ['example.com', 'EXAMPLE.com.', true],
    ['example.com', 'mail.example.com', false],
    ['[*.]example.com', 'example.com', true],
    ['[*.]example.com', 'a.b.example.com', true],
    ['[*.]example.com', 'badexample.com', false],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'mx.example.com', true],
    ['$yahoo_isp.$isp_tld', 'ymail.co.uk', true],
    ['$yahoo_isp.$isp_tld', 'yahoo.com', true],
    ['$yahoo_isp.$isp_tld', 'yahoo.org', false],
    ['$sub.rr.com', 'socal.rr.com', true],
    ['$sub.rr.com', 'rr.com', false],
    ['$undefined', 'x.com', false],
    ['[192.0.2.0/24]', '[192.0.2.8]', true],
    ['[192.0.2.0/24]', '[198.51.100.1]', false],
    ['{sparkpost}', '{SparkPost}', true],
  ];
  for (const [patternText, domain, matches] of cases) {
    it(`${patternText} ~ ${domain}: ${matches}`, () => {
      const pattern = parseDomainPattern({ raw: patternText, directive: '<domain>' });
      assert.ok(pattern.ok);
      assert.equal(matchDomainPattern(pattern.value, domain, macros), matches);
    });
  }
  it('accepts macros as a plain record', () => {
    const pattern = parseDomainPattern({ raw: '$isps', directive: '<domain>' });
    assert.ok(pattern.ok);
    assert.equal(matchDomainPattern(pattern.value, 'gmail.com', { isps: ['gmail.com', 'aol.com'] }), true);
  });
});
