/**
 * @module config/values.test
 *
 * Table-driven tests of the value parsers: for every type, accepted forms with the exact value
 * they produce, and refused forms with the error's offset, the problem named in the message,
 * and the `expected` phrase. Regex translation has its own file (`values-regex.test.ts`), and
 * so does matching against parsed networks and domain patterns (`values-match.test.ts`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cidr, ValueResult, ValueTypeName } from './types.js';
import { EXPECTED, VALUE_PARSERS, splitCommaList, splitWords, unquote } from './values.js';

const H = 3_600_000;
const M = 60_000;
const S = 1000;
const D = 24 * H;
const K = 1024;

function parse(type: ValueTypeName, raw: string, enumValues?: readonly string[]): ValueResult<unknown> {
  return VALUE_PARSERS[type](enumValues ? { raw, directive: 'test-directive', enumValues } : { raw, directive: 'test-directive' });
}

function cidr(address: string, prefix: number, text: string, family: 4 | 6 = 4): Cidr {
  return { family, address, prefix, text };
}

/** [type, raw, value] */
const VALID: ReadonlyArray<readonly [ValueTypeName, string, unknown]> = [
  ['bool', 'yes', true],
  ['bool', 'No', false],
  ['bool', 'TRUE', true],
  ['bool', 'false', false],
  ['bool', '"yes"', true],

  ['duration', '30s', 30 * S],
  ['duration', '10m', 10 * M],
  ['duration', '1h', H],
  ['duration', '4d12h', 4 * D + 12 * H],
  ['duration', '40d12h', 40 * D + 12 * H],
  ['duration', '2w', 14 * D],
  ['duration', '1h30m', 90 * M],
  ['duration', '90', 90 * S],
  ['duration', '0', 0],
  ['duration', 'never', Infinity],
  ['duration', 'Never', Infinity],
  ['duration', '10M', 10 * M],

  ['duration-list', '10m,20m,1h', [10 * M, 20 * M, H]],
  ['duration-list', '10m, 20m ,  1h', [10 * M, 20 * M, H]],
  ['duration-list', '5m', [5 * M]],

  ['rate', '100/h', { count: 100, perMs: H }],
  ['rate', '100/10m', { count: 100, perMs: 10 * M }],
  ['rate', '2000/hour', { count: 2000, perMs: H }],
  ['rate', '500/d', { count: 500, perMs: D }],
  ['rate', '500/day', { count: 500, perMs: D }],
  ['rate', '10/min', { count: 10, perMs: M }],
  ['rate', '10/m', { count: 10, perMs: M }],
  ['rate', '1/5s', { count: 1, perMs: 5 * S }],
  ['rate', '3/sec', { count: 3, perMs: S }],
  ['rate', '50/hr', { count: 50, perMs: H }],
  ['rate', '1/20m', { count: 1, perMs: 20 * M }],
  ['rate', 'unlimited', 'unlimited'],
  ['rate', '0', { count: 0, perMs: H }],
  ['rate', '0/h', { count: 0, perMs: H }],

  ['data-rate', '10M/h', { bytes: 10 * K * K, perMs: H }],
  ['data-rate', '500k/10m', { bytes: 500 * K, perMs: 10 * M }],
  ['data-rate', '1g/day', { bytes: K ** 3, perMs: D }],
  ['data-rate', '100b/s', { bytes: 100, perMs: S }],
  ['data-rate', 'unlimited', 'unlimited'],
  ['data-rate', '0', { bytes: 0, perMs: H }],

  ['size', '100K', 100 * K],
  ['size', '50m', 50 * K * K],
  ['size', '1G', K ** 3],
  ['size', '2T', 2 * K ** 4],
  ['size', '123', 123],
  ['size', 'unlimited', Infinity],

  ['int', '0', 0],
  ['int', '20', 20],
  ['int-unlimited', '1000', 1000],
  ['int-unlimited', 'unlimited', Infinity],
  ['int-unlimited', 'Unlimited', Infinity],

  ['ip', '192.0.2.1', '192.0.2.1'],
  ['ip', '2001:0DB8:0:0:0:0:0:1', '2001:db8::1'],
  ['ip', '::1', '::1'],
  ['ip', '::ffff:192.0.2.1', '::ffff:192.0.2.1'],

  ['cidr', '0/0', cidr('0.0.0.0', 0, '0/0')],
  ['cidr', '10.1.0/24', cidr('10.1.0.0', 24, '10.1.0/24')],
  ['cidr', '10/8', cidr('10.0.0.0', 8, '10/8')],
  ['cidr', '192.0.2.7', cidr('192.0.2.7', 32, '192.0.2.7')],
  ['cidr', '::1', cidr('::1', 128, '::1', 6)],
  ['cidr', '::/0', cidr('::', 0, '::/0', 6)],
  ['cidr', '2001:db8::/32', cidr('2001:db8::', 32, '2001:db8::/32', 6)],

  ['listener', '0/0:25', { address: '0.0.0.0', family: 4, port: 25, options: {}, text: '0/0:25' }],
  ['listener', '10.0.1.22:587', { address: '10.0.1.22', family: 4, port: 587, options: {}, text: '10.0.1.22:587' }],
  ['listener', '[::]:587', { address: '::', family: 6, port: 587, options: {}, text: '[::]:587' }],
  ['listener', '[::1]:2525', { address: '::1', family: 6, port: 2525, options: {}, text: '[::1]:2525' }],
  [
    'listener',
    '127.0.0.0/28:25',
    { address: '127.0.0.0', family: 4, port: 25, options: {}, text: '127.0.0.0/28:25', cidr: cidr('127.0.0.0', 28, '127.0.0.0/28') },
  ],
  [
    'listener',
    '0/0:465 tls=implicit source=submission',
    { address: '0.0.0.0', family: 4, port: 465, options: { tls: 'implicit', source: 'submission' }, text: '0/0:465' },
  ],

  [
    'host-list',
    '[192.168.0.1]:2525, [::1]:25,mx.Example.com , mx.example.com:587,lookup-mx:example.com',
    [
      { kind: 'ip', address: '192.168.0.1', port: 2525, text: '[192.168.0.1]:2525' },
      { kind: 'ip', address: '::1', port: 25, text: '[::1]:25' },
      { kind: 'host', host: 'mx.example.com', text: 'mx.Example.com' },
      { kind: 'host', host: 'mx.example.com', port: 587, text: 'mx.example.com:587' },
      { kind: 'lookup-mx', domain: 'example.com', text: 'lookup-mx:example.com' },
    ],
  ],
  ['host-list', '[10.0.0.1]', [{ kind: 'ip', address: '10.0.0.1', text: '[10.0.0.1]' }]],

  ['domain-pattern', '*', { kind: 'any', text: '*' }],
  ['domain-pattern', 'Example.COM', { kind: 'exact', domain: 'example.com', text: 'Example.COM' }],
  ['domain-pattern', 'gmail.rollup', { kind: 'exact', domain: 'gmail.rollup', text: 'gmail.rollup' }],
  ['domain-pattern', '{sparkpost}', { kind: 'exact', domain: '{sparkpost}', text: '{sparkpost}' }],
  ['domain-pattern', '[*.]example.com', { kind: 'suffix', domain: 'example.com', includeSelf: true, text: '[*.]example.com' }],
  ['domain-pattern', '*.example.com', { kind: 'suffix', domain: 'example.com', includeSelf: false, text: '*.example.com' }],
  ['domain-pattern', '$macro', { kind: 'macro', parts: ['$macro'], text: '$macro' }],
  ['domain-pattern', '$yahoo_isp.$isp_tld', { kind: 'macro', parts: ['$yahoo_isp', '$isp_tld'], text: '$yahoo_isp.$isp_tld' }],
  ['domain-pattern', '$sub.rr.com', { kind: 'macro', parts: ['$sub', 'rr', 'com'], text: '$sub.rr.com' }],
  ['domain-pattern', '[1.2.3.0/24]', { kind: 'ip-literal', cidr: cidr('1.2.3.0', 24, '1.2.3.0/24'), text: '[1.2.3.0/24]' }],
  ['domain-pattern', '"hotmail.queue"', { kind: 'exact', domain: 'hotmail.queue', text: 'hotmail.queue' }],

  ['string', 'hello', 'hello'],
  ['string', '"a ""quoted"" word"', 'a "quoted" word'],
  ['string', '""', ''],
  ['string', 'two  words', 'two  words'],
  ['string', 'p@ss"w0rd!', 'p@ss"w0rd!'],
  ['string', '"/usr/bin/php x.php --from=""$from"""', '/usr/bin/php x.php --from="$from"'],

  ['string-list', 'List-Unsubscribe, Feedback-ID', ['List-Unsubscribe', 'Feedback-ID']],
  ['string-list', 'a@x.com,b@y.com', ['a@x.com', 'b@y.com']],
  ['string-list', '"a, b", c', ['a, b', 'c']],
  ['string-list', '""', []],

  ['word', 'pool1', 'pool1'],
  ['word', 'user@example.com', 'user@example.com'],
  ['word', '"hotmail.queue"', 'hotmail.queue'],
  ['enum', 'Relaxed', 'relaxed'],
  ['path', '/var/spool/pmta', '/var/spool/pmta'],
  ['path', '"/etc/pmta/my keys/k.pem"', '/etc/pmta/my keys/k.pem'],
  ['include', '/etc/pmta/conf.d/*.conf', '/etc/pmta/conf.d/*.conf'],

  ['email', 'postmaster@Example.COM', 'postmaster@example.com'],
  ['email', 'First.Last+tag@example.com', 'First.Last+tag@example.com'],
  ['email', 'bounces.example.com', 'bounces.example.com'],

  ['source-host', '192.0.2.10 mta1.example.com', { ip: '192.0.2.10', family: 4, hostname: 'mta1.example.com' }],
  ['source-host', '2001:db8::10 mta6.example.com', { ip: '2001:db8::10', family: 6, hostname: 'mta6.example.com' }],
  [
    'source-host',
    '192.119.169.123-192.119.169.124 host.example.com',
    { ip: '192.119.169.123', family: 4, hostname: 'host.example.com', range: '192.119.169.123-192.119.169.124' },
  ],
  ['source-host', '10.0.0.0/30 mta.example.com', { ip: '10.0.0.0', family: 4, hostname: 'mta.example.com', range: '10.0.0.0/30' }],

  ['domain-key', 's1,example.com,/etc/pmta/s1.pem', { selector: 's1', domain: 'example.com', keyFile: '/etc/pmta/s1.pem' }],
  ['domain-key', 'a, B.com,  /k.pem', { selector: 'a', domain: 'b.com', keyFile: '/k.pem' }],
  ['domain-key', 'key1,*,/etc/pmta/dkim.pem', { selector: 'key1', domain: '*', keyFile: '/etc/pmta/dkim.pem' }],

  ['http-access', '127.0.0.1 admin', { cidr: cidr('127.0.0.1', 32, '127.0.0.1'), level: 'admin' }],
  ['http-access', '0/0 monitor', { cidr: cidr('0.0.0.0', 0, '0/0'), level: 'monitor' }],
  ['http-access', '::1 NONE', { cidr: cidr('::1', 128, '::1', 6), level: 'none' }],
  ['cidr-rate', '10.0.0.0/24 100/h', { cidr: cidr('10.0.0.0', 24, '10.0.0.0/24'), rate: { count: 100, perMs: H } }],
  ['cidr-int', '10.1.0/24 5', { cidr: cidr('10.1.0.0', 24, '10.1.0/24'), value: 5 }],
  ['cidr-int', '0/0 unlimited', { cidr: cidr('0.0.0.0', 0, '0/0'), value: Infinity }],

  ['record-fields', 'd timeLogged,rcpt,header_X-Job,!dsnDiag', { type: 'd', fields: ['timeLogged', 'rcpt', 'header_X-Job', '!dsnDiag'] }],
  ['record-fields', 'd *,header_Subject', { type: 'd', fields: ['*', 'header_Subject'] }],
  ['record-fields', 'B type, timeLogged , bounceCat', { type: 'b', fields: ['type', 'timeLogged', 'bounceCat'] }],
  ['map-header-to-field', 'f header_X-HmXmrOriginalRecipient rcpt', { type: 'f', header: 'X-HmXmrOriginalRecipient', field: 'rcpt' }],
  ['rewrite-rule', '*@a.com *@bounces.a.com', { from: '*@a.com', to: '*@bounces.a.com' }],
  ['mx-rollup', '*.mail.protection.outlook.com outlook.rollup', { host: '*.mail.protection.outlook.com', queue: 'outlook.rollup', byIp: false }],
  ['mx-rollup', 'MX.Example.com ex.rollup rollup-by-ip', { host: 'mx.example.com', queue: 'ex.rollup', byIp: true }],
  ['pickup', '/var/pickup', { dir: '/var/pickup' }],
  ['pickup', '/var/pickup /var/pickup/bad', { dir: '/var/pickup', badDir: '/var/pickup/bad' }],
  ['domain-macro', 'ISPs gmail.com, Yahoo.com,aol.com', { name: 'isps', domains: ['gmail.com', 'yahoo.com', 'aol.com'] }],
  ['free', '  anything at all  ', 'anything at all'],
];

describe('value parsers: accepted forms', () => {
  for (const [type, raw, value] of VALID) {
    it(`${type} ${JSON.stringify(raw)}`, () => {
      const result = parse(type, raw, type === 'enum' ? ['simple', 'relaxed'] : undefined);
      assert.ok(result.ok, result.ok ? '' : `${result.message} at ${result.offset}`);
      assert.deepEqual(result.value, value);
    });
  }
});

/** [type, raw, offset, message must match, offending text] */
const INVALID: ReadonlyArray<readonly [ValueTypeName, string, number, RegExp, string]> = [
  ['bool', 'on', 0, /'on' is not a PowerMTA boolean; write 'yes'/, 'on'],
  ['bool', 'off', 0, /write 'no'/, 'off'],
  ['bool', 'maybe', 0, /'maybe' is not a boolean/, 'maybe'],
  ['bool', 'yes please', 4, /unexpected 'please'/, 'please'],
  ['bool', '', 0, /missing value/, ''],

  ['duration', '10x', 2, /unknown time unit 'x' in '10x'/, 'x'],
  ['duration', '10min', 2, /unknown time unit 'min'.*write 10m/, 'min'],
  ['duration', '1h30', 2, /'30' .* has no unit/, '30'],
  ['duration', '1.5h', 0, /fractions are not allowed/, '1.5h'],
  ['duration', '-5m', 0, /negative/, '-5m'],
  ['duration', 'h', 0, /'h' is not a duration/, 'h'],
  ['duration', '$RETRY', 0, /shell variable/, '$RETRY'],
  ['duration-list', '10m,,20m', 4, /empty item/, ','],
  ['duration-list', '10m,20m,', 7, /trailing comma/, ','],
  ['duration-list', '10m, 2x', 6, /unknown time unit 'x'/, 'x'],
  ['duration-list', '10m 20m', 3, /contains a space; separate list items with commas/, '10m 20m'],

  ['rate', '100', 3, /a rate needs a period: write e\.g\. 100\/h/, '100'],
  ['rate', '100/fortnight', 4, /unknown rate period 'fortnight'/, 'fortnight'],
  ['rate', '100/', 4, /no period after '\/'/, ''],
  ['rate', '/h', 0, /no count before/, '/h'],
  ['rate', '1.5/h', 0, /'1\.5' is not a whole number/, '1.5'],
  ['rate', '100/0h', 4, /the period '0h' is zero/, '0h'],
  ['rate', '100/10', 6, /has no unit/, '10'],
  ['data-rate', '10X/h', 2, /unknown size unit 'X'/, 'X'],
  ['data-rate', '10M', 3, /needs a period/, '10M'],

  ['size', '10KB', 2, /unknown size unit 'KB'.*write 10K/, 'KB'],
  ['size', '1.5G', 0, /fractions are not allowed in sizes/, '1.5G'],
  ['size', 'big', 0, /'big' is not a size/, 'big'],

  ['int', '-1', 0, /negative numbers are not allowed/, '-1'],
  ['int', '10k', 2, /unexpected 'k' after the number 10/, 'k'],
  ['int', '2.5', 0, /not a whole number/, '2.5'],
  ['int', 'unlimited', 0, /'unlimited' is not a number/, 'unlimited'],
  ['int', '99999999999999999999', 0, /too large/, '99999999999999999999'],
  ['int-unlimited', 'lots', 0, /'lots' is not a number/, 'lots'],

  ['ip', 'QQQip', 0, /not an IP address.*template placeholder/, 'QQQip'],
  ['ip', '256.1.1.1', 0, /256 is out of range/, '256.1.1.1'],
  ['ip', '010.1.1.1', 0, /leading zero/, '010.1.1.1'],
  ['ip', '10.1.0', 0, /incomplete; short forms such as 10\.1\.0\/24 need a prefix length/, '10.1.0'],
  ['ip', 'fe80::1%eth0', 7, /zone ids/, '%eth0'],
  ['ip', '$IP', 0, /shell variable/, '$IP'],

  ['cidr', '10.1.0.0/33', 9, /prefix length \/33 is too long for IPv4/, '33'],
  ['cidr', '::/129', 3, /too long for IPv6/, '129'],
  ['cidr', '10.1.0/x', 7, /prefix length 'x' is not a number/, 'x'],
  ['cidr', '10.300/16', 3, /300 is out of range/, '300'],
  ['cidr', '{{', 0, /template placeholder/, '{{'],

  ['listener', '0/0', 3, /has no port; write e\.g\. 0\/0:25/, '0/0'],
  ['listener', '0/0:0', 4, /port 0 is out of range/, '0'],
  ['listener', '0/0:70000', 4, /port 70000 is out of range/, '70000'],
  ['listener', '0/0:smtp', 4, /port 'smtp' is not a number/, 'smtp'],
  ['listener', ':::25', 0, /in brackets/, ':::25'],
  ['listener', '[::1:25', 0, /no closing '\]'/, '[::1:25'],
  ['listener', '0/0:25 tls', 7, /key=value/, 'tls'],
  ['listener', '0/0:25 tls=implict', 11, /unknown tls mode 'implict'/, 'implict'],
  ['listener', '0/0:25 a=1 a=2', 11, /'a' is given twice/, 'a=2'],
  ['listener', 'QQQip:25', 0, /template placeholder/, 'QQQip'],

  ['host-list', 'mx.example.com,,mx2.example.com', 15, /empty item/, ','],
  ['host-list', 'mx.example.com:99999', 15, /port 99999 is out of range/, '99999'],
  ['host-list', '2001:db8::1:25', 0, /must be written in brackets/, '2001:db8::1:25'],
  ['host-list', '[mx.example.com]:25', 1, /not an IP address/, 'mx.example.com'],
  ['host-list', 'mx..example.com', 3, /empty label/, 'mx..example.com'],
  ['host-list', 'mx.example.com mx2.example.com', 14, /contains a space; separate hosts with commas/, 'mx.example.com mx2.example.com'],
  ['host-list', 'lookup-mx:[1.2.3.4]', 11, /needs a domain/, '1.2.3.4'],

  ['domain-pattern', 'exa mple.com', 4, /single word; unexpected 'mple\.com'/, 'mple.com'],
  ['domain-pattern', '{{', 0, /template placeholder \(\{\{…\}\}\)/, '{{'],
  ['domain-pattern', '__BLOCKS__', 0, /template placeholder \(__NAME__\)/, '__BLOCKS__'],
  ['domain-pattern', 'a.*.com', 2, /'\*' is only allowed as/, 'a.*.com'],
  ['domain-pattern', 'exa!mple.com', 3, /'!' is not allowed in a host name/, 'exa!mple.com'],
  ['domain-pattern', '[1.2.3.0/24', 0, /no closing '\]'/, '[1.2.3.0/24'],
  ['domain-pattern', '[1.2.3.0/40]', 9, /too long for IPv4/, '40'],
  ['domain-pattern', '$.com', 0, /'\$' is not a macro name/, '$'],
  ['domain-pattern', '{spark!post}', 0, /not a valid special name/, '{spark!post}'],

  ['string', '', 0, /missing value; write "" for an empty value/, ''],
  ['string', '"unterminated', 0, /unterminated quoted string/, '"unterminated'],
  ['string-list', 'a,,b', 2, /empty item/, ','],
  ['string-list', '"a, b', 0, /unterminated/, '"a, b'],
  ['word', 'two words', 4, /unexpected 'words'/, 'words'],
  ['word', '"two words"', 4, /contains a space/, 'two words'],
  ['word', '{{', 0, /template placeholder/, '{{'],
  ['word', '$VMTA', 0, /shell variable or a \$macro/, '$VMTA'],
  ['enum', 'loose', 0, /'loose' is not one of the allowed values/, 'loose'],
  ['path', '__PATH__', 0, /template placeholder/, '__PATH__'],

  ['email', 'postmaster@', 11, /no domain after '@'/, 'postmaster@'],
  ['email', '@example.com', 0, /no local part/, '@example.com'],
  ['email', 'a@exa mple.com', 6, /unexpected 'mple\.com'/, 'mple.com'],
  ['email', '<a@example.com>', 0, /without angle brackets/, '<a@example.com>'],
  ['email', 'a@{{domain}}', 0, /template placeholder/, 'a@{{domain}}'],

  ['source-host', 'QQQip mta.example.com', 0, /template placeholder/, 'QQQip'],
  ['source-host', '192.0.2.1', 9, /missing host name/, ''],
  ['source-host', '192.0.2.9-192.0.2.1 h.example.com', 0, /runs backwards/, '192.0.2.9-192.0.2.1'],
  ['source-host', '192.0.2.1-::1 h.example.com', 0, /mixes IPv4 and IPv6/, '192.0.2.1-::1'],
  ['source-host', '192.0.2.1 bad_host!', 18, /'!' is not allowed/, 'bad_host!'],

  ['domain-key', 'example.com,mail,*,/k.pem', 19, /found 4.*4-part form.*selector,domain,keyfile/, '/k.pem'],
  ['domain-key', 's1,example.com', 14, /missing key file/, ''],
  ['domain-key', 's1, exa mple.com, /k', 7, /contains a space/, 'exa mple.com'],
  ['domain-key', 's1/x,example.com,/k', 0, /not a valid DKIM selector/, 's1/x'],

  ['http-access', '10.0.0.0/8 root', 11, /unknown access level 'root'/, 'root'],
  ['http-access', 'admin', 5, /missing access level/, ''],
  ['http-access', 'YOUR_IP admin', 0, /'YOUR_IP' is not an IP address/, 'YOUR_IP'],
  ['cidr-rate', '10.0.0.0/24 100', 15, /needs a period/, '100'],
  ['cidr-int', '10.0.0.0/24 many', 12, /'many' is not a number/, 'many'],

  ['pattern-rule', '/spamhaus/', 10, /has no action after it/, ''],
  ['pattern-rule', 'spamhaus bounce-queue', 0, /between slashes/, 'spamhaus'],
  ['pattern-rule', '/x/ mode=', 9, /'mode=' has no value/, 'mode='],
  ['pattern-rule', '/x/ {{', 4, /not an action.*template/, '{{'],
  ['pattern-rule', '/a++/ bounce-queue', 2, /possessive quantifier/, '++'],
  ['header-pattern-rule', '/x/ virtual-mta=a', 0, /header name is missing/, '/x/'],
  ['header-pattern-rule', 'X-Job', 5, /no pattern after it/, ''],
  ['header-pattern-rule', 'X-Job /x/', 9, /no action/, ''],
  ['category-rule', '/user unknown/', 14, /no category after it/, ''],
  ['category-rule', '/user unknown/ bad-mailbox extra', 27, /unexpected 'extra'/, 'extra'],
  ['category-rule', '/^[45]\\.1\\.1;/ bad mailbox', 19, /unexpected 'mailbox'/, 'mailbox'],

  ['record-fields', 'd', 1, /no field list/, ''],
  ['record-fields', 'd timeLogged,,rcpt', 13, /empty item/, ','],
  ['record-fields', 'd rcpt,!*', 7, /'!\*' cannot exclude every field/, '!*'],
  ['record-fields', 'd rcpt,dsn diag', 7, /'dsn diag' is not a field name/, 'dsn diag'],
  ['map-header-to-field', 'f X-Orig rcpt', 2, /must be written header_NAME/, 'X-Orig'],
  ['map-header-to-field', 'f header_X', 10, /missing field name/, ''],
  ['rewrite-rule', 'a@a.com *@b.com', 8, /uses \* but the pattern 'a@a\.com' has none/, '*@b.com'],
  ['rewrite-rule', '*@a.com', 7, /missing replacement/, ''],
  ['mx-rollup', '*.outlook.com outlook.rollup by-ip', 29, /only rollup-by-ip/, 'by-ip'],
  ['mx-rollup', 'mx.*.com q', 3, /'\*' is not allowed in a host name/, 'mx.*.com'],
  ['pickup', '/a /b /c', 6, /unexpected '\/c'/, '/c'],
  ['domain-macro', 'isps', 4, /has no domains/, ''],
  ['domain-macro', 'isps gmail.com,', 14, /trailing comma/, ','],
  ['domain-macro', 'isps gmail.com, yah oo.com', 19, /contains a space/, 'yah oo.com'],
];

describe('value parsers: refused forms', () => {
  for (const [type, raw, offset, message, text] of INVALID) {
    it(`${type} ${JSON.stringify(raw)}`, () => {
      const result = parse(type, raw, type === 'enum' ? ['simple', 'relaxed'] : undefined);
      assert.equal(result.ok, false, `accepted: ${JSON.stringify(result)}`);
      if (result.ok) return;
      assert.match(result.message, message);
      assert.equal(result.offset, offset, `offset of: ${result.message}`);
      assert.equal(result.text, text);
      assert.equal(result.expected, type === 'enum' ? 'one of simple, relaxed' : EXPECTED[type]);
    });
  }
});

describe('value parsers: warnings', () => {
  const cases: ReadonlyArray<readonly [ValueTypeName, string, RegExp]> = [
    ['cidr', '10.1.2.3/24', /'10\.1\.2\.3\/24' has host bits set; read as 10\.1\.2\.0\/24/],
    ['listener', '10.0.1.22/28:25', /read as 10\.0\.1\.16\/28/],
    ['record-fields', 'x rcpt', /'x' is not a known record type/],
    ['string', 'QQQpassword', /template placeholder/],
    ['regex', '/a(?i)b/', /\(\?i\) has no effect here/],
  ];
  for (const [type, raw, warning] of cases) {
    it(`${type} ${JSON.stringify(raw)}`, () => {
      const result = parse(type, raw);
      assert.ok(result.ok);
      assert.equal(result.warnings?.length, 1);
      assert.match(result.warnings![0]!, warning);
    });
  }

  it('a masked network keeps the address it was read as', () => {
    const result = parse('cidr', '10.1.2.3/24');
    assert.ok(result.ok);
    assert.deepEqual(result.value, cidr('10.1.2.0', 24, '10.1.2.3/24'));
  });
});

describe('value parsers never throw', () => {
  const hostile = ['', ' ', '"', '""', '"""', '\\', '/', '//', '/[/', ':', '[', ']', ',', ',,', '=', '*', '{{', '$', '-', '0/0:', '[]:', 'a=b=c', '/(?/ x', '/x/ "', 'é', '\u0000'];
  for (const type of Object.keys(VALUE_PARSERS) as ValueTypeName[]) {
    it(type, () => {
      for (const raw of hostile) {
        const result = parse(type, raw, ['a']);
        if (!result.ok) {
          assert.ok(result.offset >= 0 && result.offset <= raw.length, `${type} ${JSON.stringify(raw)}: offset ${result.offset}`);
          assert.notEqual(result.message, '');
        }
      }
    });
  }
});

describe('splitWords', () => {
  it('splits on white space and reports offsets', () => {
    assert.deepEqual(
      splitWords('  a\tbc  d').map((w) => [w.text, w.offset, w.end]),
      [['a', 2, 3], ['bc', 4, 6], ['d', 8, 9]],
    );
  });
  it('honours double quotes, with "" as a literal quote', () => {
    const words = splitWords('"a ""quoted"" word" x');
    assert.deepEqual(words.map((w) => [w.text, w.quoted]), [['a "quoted" word', true], ['x', false]]);
  });
  it('opens a quote after = so key="a b" is one word', () => {
    assert.deepEqual(splitWords('k="a b" z').map((w) => w.text), ['k=a b', 'z']);
  });
  it('keeps a quote inside a word as an ordinary character', () => {
    assert.deepEqual(splitWords('pa"ss word').map((w) => w.text), ['pa"ss', 'word']);
  });
  it('marks an unterminated quote', () => {
    assert.equal(splitWords('"abc def')[0]!.unterminated, true);
  });
});

describe('unquote', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['"hotmail.queue"', 'hotmail.queue'],
    ['"a ""b"""', 'a "b"'],
    ['""', ''],
    ['  plain  ', 'plain'],
    ['"a" "b"', '"a" "b"'],
  ];
  for (const [raw, text] of cases) it(JSON.stringify(raw), () => assert.equal(unquote(raw), text));
});

describe('splitCommaList', () => {
  it('trims items and keeps offsets into the raw text', () => {
    const items = splitCommaList('a, b ,c', 10, 'x');
    assert.ok(items.ok);
    assert.deepEqual(items.value, [{ text: 'a', offset: 10 }, { text: 'b', offset: 13 }, { text: 'c', offset: 16 }]);
  });
});
