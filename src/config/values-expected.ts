/**
 * @module config/values-expected
 *
 * `EXPECTED`: for every value type, the phrase error messages use to say what would have been
 * accepted ("a duration such as 30s, 10m, 4d12h, 2w or never"). Kept apart from the parsers so
 * that each parser file can import it without import cycles.
 */
import type { ValueTypeName } from './types.js';

export const EXPECTED: Readonly<Record<ValueTypeName, string>> = {
  bool: 'yes, no, true or false',
  duration: 'a duration such as 30s, 10m, 4d12h, 2w, 0 or never (a bare number is seconds)',
  'duration-list': 'a comma-separated list of durations such as 10m,20m,1h',
  rate: 'a rate such as 100/h, 100/10m, 2000/hour, 500/day, 10/min, 1/5s, 0 or unlimited',
  'data-rate': 'a data rate such as 10M/h, 500k/10m, 1G/day or unlimited',
  size: 'a size such as 100K, 50M, 1G, 2T, a number of bytes, or unlimited',
  int: 'a whole number such as 0 or 20',
  'int-unlimited': 'a whole number such as 20, or unlimited',
  ip: 'an IPv4 or IPv6 address such as 192.0.2.1 or ::1',
  cidr: 'an address or network such as 192.0.2.1, 10.1.0.0/24, 10.1.0/24, 0/0, ::1 or 2001:db8::/32',
  listener: 'an address and port such as 0/0:25, 10.0.1.22:587, [::]:587 or 10.0.1.16/28:25, then optional key=value options',
  'host-list':
    'a comma-separated list of hosts such as mx.example.com, mx.example.com:587, [192.0.2.1]:2525, [::1]:25 or lookup-mx:example.com',
  'domain-pattern': 'a domain pattern such as *, example.com, [*.]example.com, *.example.com, $macro, $a.$b, {name} or [192.0.2.0/24]',
  regex: 'a Perl-style regular expression between slashes such as /user unknown/ or /^5\\.1\\.1/',
  string: 'text, in double quotes if it contains spaces ("" for an empty value)',
  'string-list': 'a comma-separated list such as a, b, c',
  word: 'a single word without spaces',
  enum: 'one of the allowed words',
  path: 'a file or directory path',
  'address-pattern': 'an address such as abuse@fbl.example.com, or a /regex/ matched against the whole address',
  email: 'an address such as postmaster@example.com',
  'source-host': 'an IP address and a host name such as 192.0.2.10 mta1.example.com',
  'domain-key': 'selector,domain,keyfile such as s1,example.com,/etc/pmta/dkim/s1.pem',
  'http-access': 'an address or network and a level (none, monitor or admin) such as 127.0.0.1 admin or 10.0.0.0/8 monitor',
  'cidr-rate': 'a network and a rate such as 10.0.0.0/24 100/h',
  'cidr-int': 'a network and a number such as 10.0.0.0/24 5',
  'pattern-rule': 'a /regex/ followed by actions such as virtual-mta=pool1, mode=backoff or bounce-queue',
  'header-pattern-rule': 'a header name, a /regex/ and actions such as X-Job /^42$/ virtual-mta=pool1',
  'category-rule': 'a /regex/ followed by a bounce category such as /user unknown/ bad-mailbox',
  'record-fields': 'a record type and a comma-separated field list such as d timeLogged,rcpt,header_X-Job or d *,!dsnDiag',
  'map-header-to-field': 'a record type, header_NAME and a field name such as f header_X-HmXmrOriginalRecipient rcpt',
  'rewrite-rule': 'a pattern and its replacement such as *@a.com *@bounces.a.com',
  'mx-rollup': 'a host pattern, a queue name and optionally rollup-by-ip, such as *.mail.protection.outlook.com outlook.rollup',
  pickup: 'a pickup directory, optionally followed by a directory for files that cannot be processed',
  'domain-macro': 'a macro name and a comma-separated list of domains such as isps gmail.com, yahoo.com',
  include: 'a file path, a glob such as /etc/pmta/conf.d/*.conf, or a URL',
  free: 'any text',
};
