/**
 * @module config/directives.test
 *
 * Keeps the directive table honest: it covers everything powermta.md §2
 * names, lookups behave as the loader's error messages need, no two specs
 * answer to the same name in the same scope, and docs/configuration.md is
 * what the table generates. (Defaults are checked against the value parsers
 * in directives-defaults.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  AREAS,
  BLOCKS,
  DIRECTIVES,
  KNOWN_FAKE_BLOCKS,
  KNOWN_FAKE_DIRECTIVES,
  allDirectiveNames,
  directivesNamed,
  findDirective,
  suggestDirective,
} from './directives.js';
import { renderConfigurationDoc } from './config-docs.js';
import type { ScopeName } from './types.js';

/**
 * Every directive named in powermta.md §2 (2.1–2.18) and §1.2, written out by
 * hand from the reference, with a scope where it must be accepted.
 */
const REFERENCE_DIRECTIVES: ReadonlyArray<readonly [string, ScopeName]> = [
  // §2.1 global / listener / inbound limits
  ['postmaster', 'global'], ['host-name', 'global'], ['smtp-listener', 'global'], ['smtp-port', 'global'],
  ['total-max-smtp-in', 'global'], ['total-max-smtp-out', 'global'], ['total-max-file', 'global'],
  ['relay-domain', 'global'], ['relay-address', 'global'], ['domain-key', 'global'], ['domain-key', 'virtual-mta'],
  ['smtp-source-host', 'global'], ['smtp-source-host', 'virtual-mta'], ['smtp-proxy-source-host', 'virtual-mta'],
  ['run-as-root', 'global'], ['sync-msg-create', 'global'], ['sync-msg-update', 'global'], ['edns-udp-length', 'global'],
  ['pickup', 'global'], ['include', 'global'], ['include', 'domain'], ['include', 'virtual-mta'],
  ['http-mgmt-port', 'global'], ['http-access', 'global'], ['http-redirect-to-https', 'global'],
  ['log-file', 'global'], ['log-rotate', 'global'], ['domain-macro', 'global'], ['enable-signals', 'global'],
  // §2.2 <source>
  ['smtp-service', 'source'], ['always-allow-relaying', 'source'], ['require-auth', 'source'],
  ['always-allow-api-submission', 'source'], ['accept-invalid-recipients', 'source'], ['allow-starttls', 'source'],
  ['require-starttls-before-auth', 'source'], ['allow-unencrypted-plain-auth', 'source'],
  ['smtp-max-auth-failure-rate', 'source'], ['max-message-size', 'source'], ['process-x-virtual-mta', 'source'],
  ['retain-x-virtual-mta', 'source'], ['default-virtual-mta', 'source'], ['process-x-job', 'source'],
  ['jobid-header', 'source'], ['retain-x-job', 'source'], ['process-x-envid', 'source'],
  ['process-x-dkim-options', 'source'], ['add-date-header', 'source'], ['date-header-time', 'source'],
  ['add-message-id-header', 'source'], ['add-received-header', 'source'], ['remove-received-headers', 'source'],
  ['hide-message-source', 'source'], ['remove-header', 'source'], ['verp-default', 'source'],
  ['pattern-list', 'source'], ['rewrite-list', 'source'], ['suppress-local-dsn', 'source'],
  ['log-connections', 'source'], ['log-commands', 'source'], ['log-data', 'source'], ['check-dkim-inbound', 'source'],
  // §2.3 <smtp-user> and outbound AUTH
  ['password', 'smtp-user'], ['authentication-method', 'smtp-user'], ['source', 'smtp-user'],
  ['auth-username', 'domain'], ['auth-password', 'domain'], ['use-unencrypted-plain-auth', 'domain'],
  // §2.4 TLS and DANE
  ['smtp-server-tls-certificate', 'global'], ['smtp-server-tls-allow-tlsv1.1', 'global'],
  ['smtp-server-tls-allow-tlsv1.2', 'global'], ['use-starttls', 'domain'], ['require-starttls', 'domain'],
  ['use-dane', 'domain'], ['log-tls', 'domain'],
  // §2.5 delivery policy: concurrency and rates
  ['max-smtp-out', 'domain'], ['max-smtp-out-per-source-ip', 'domain'], ['source-ip-max-smtp-out', 'domain'],
  ['max-msg-per-connection', 'domain'], ['max-rcpt-per-transaction', 'domain'], ['max-rcpt-per-message', 'domain'],
  ['max-errors-per-connection', 'domain'], ['max-msg-rate', 'domain'], ['max-connect-rate', 'domain'],
  ['max-data-volume-rate', 'domain'], ['source-ip-max-msg-rate', 'domain'], ['source-ip-max-connect-rate', 'domain'],
  ['source-ip-max-data-volume-rate', 'domain'], ['smtp-out-rampup-interval', 'domain'],
  ['connection-idle-timeout', 'domain'], ['queue-priority', 'domain'], ['allow-priority-interruption', 'domain'],
  ['allow-priority-interruption-during-transfer', 'domain'], ['delivery-priority', 'domain'],
  // §2.5 retries, expiry, DNS
  ['retry-after', 'domain'], ['retry-recipients-after', 'domain'], ['retry-after-dns-error', 'domain'],
  ['retry-upon-new-mail', 'domain'], ['bounce-after', 'domain'], ['bounce-upon-no-mx', 'domain'],
  ['bounce-upon-5xx-greeting', 'domain'], ['bounce-upon-transfer-failure', 'domain'],
  ['bounce-upon-pix-transfer-failure', 'domain'], ['assume-delivery-upon-data-termination-timeout', 'domain'],
  ['mx-connection-attempts', 'domain'], ['smtp-421-means-mx-unavailable', 'domain'],
  ['smtp-553-means-invalid-mailbox', 'domain'], ['replace-smtp-421-service-response', 'domain'],
  // §2.5 timeouts and quirks
  ['connect-timeout', 'domain'], ['smtp-greeting-timeout', 'domain'], ['data-send-timeout', 'domain'],
  ['smtp-data-termination-timeout', 'domain'], ['ignore-8bitmime', 'domain'], ['ignore-chunking', 'domain'],
  ['ignore-pipelining', 'domain'], ['ignore-dsn', 'domain'], ['pix-bug-workaround', 'domain'],
  ['allow-cancel-during-transfer', 'domain'],
  // §2.5 routing
  ['route', 'domain'], ['smtp-hosts', 'domain'], ['default-smtp-port', 'domain'], ['queue-to', 'domain'],
  ['disable-mx-rollup', 'domain'], ['type', 'domain'], ['command', 'domain'], ['file-format', 'domain'],
  ['file-destination', 'domain'],
  // §2.5 backoff
  ['smtp-pattern-list', 'domain'], ['backoff-max-msg-rate', 'domain'], ['backoff-max-connect-rate', 'domain'],
  ['backoff-max-data-volume-rate', 'domain'], ['backoff-max-smtp-out', 'domain'], ['backoff-retry-after', 'domain'],
  ['backoff-to-normal-after', 'domain'], ['backoff-to-normal-after-delivery', 'domain'], ['backoff-notify', 'domain'],
  ['backoff-upon-all-sources-disabled', 'domain'], ['backoff-reroute-to-virtual-mta', 'domain'],
  ['reroute-to-virtual-mta', 'domain'], ['disabled-source-ip-notify', 'domain'], ['reenable-source-ip-after', 'domain'],
  ['log-disabled-ips', 'domain'],
  // §2.5 DSN, extras, logging, warm-up
  ['dsn-format', 'domain'], ['notify-of-delay-every', 'domain'], ['deliver-local-dsn', 'domain'],
  ['bcc-upon-delivery', 'domain'], ['track-recipient-events', 'domain'], ['max-events-recorded', 'domain'],
  ['disable-acct-records', 'domain'], ['check-spf-outbound', 'domain'], ['check-mfrom-outbound', 'domain'],
  ['check-pra-outbound', 'domain'], ['add-gm-token', 'domain'], ['dk-sign', 'domain'], ['log-resolution', 'domain'],
  ['log-transfer-failures', 'domain'], ['log-connections', 'domain'], ['log-commands', 'domain'], ['log-data', 'domain'],
  ['max-cold-virtual-mta-msg', 'domain'], ['auto-cold-virtual-mta', 'virtual-mta'], ['cold-virtual-mta', 'virtual-mta'],
  // §2.6 <smtp-pattern-list>
  ['reply', 'smtp-pattern-list'],
  // §2.7 virtual MTAs, pools, pattern lists, rollup, SparkPost, proxy
  ['virtual-mta', 'virtual-mta-pool'], ['mail-from', 'pattern-list'], ['rcpt-to', 'pattern-list'],
  ['header', 'pattern-list'], ['mx', 'mx-rollup-list'], ['sparkpost-ip-pool', 'domain'], ['use-proxy', 'virtual-mta'],
  ['mail-from', 'rewrite-list'],
  // §2.8 / §2.9 bounce and feedback-loop processors
  ['deliver-unmatched-email', 'bounce-processor'], ['deliver-matched-email', 'bounce-processor'],
  ['deliver-unmatched-email', 'feedback-loop-processor'], ['deliver-matched-email', 'feedback-loop-processor'],
  ['forward-errors-to', 'feedback-loop-processor'], ['forward-unmatched-to', 'feedback-loop-processor'],
  ['domain', 'address-list'], ['address', 'address-list'],
  // §2.10 DKIM
  ['dkim-sign', 'domain'], ['dkim-identity', 'domain'], ['dkim-identity-fallback', 'domain'],
  ['dkim-algorithm', 'domain'], ['dkim-body-canon', 'domain'], ['dkim-headers-canon', 'domain'],
  ['dkim-headers', 'domain'], ['dkim-disallow-adding-headers', 'domain'], ['dkim-add-body-limit', 'domain'],
  ['dkim-add-timestamp', 'domain'], ['dkim-expire-after', 'domain'], ['dkim-query-method', 'domain'],
  // §2.11 accounting
  ['records', 'acct-file'], ['record-fields', 'acct-file'], ['map-header-to-field', 'acct-file'],
  ['move-to', 'acct-file'], ['move-interval', 'acct-file'], ['max-size', 'acct-file'], ['delete-after', 'acct-file'],
  ['world-readable', 'acct-file'], ['sync', 'acct-file'], ['iso-times', 'acct-file'], ['retry-interval', 'acct-file'],
  // §2.13 spool
  ['spool', 'global'], ['deliver-only', 'spool'], ['delete-file-holders', 'spool'],
  // §2.18 test sink
  ['dummy-smtp-ip', 'global'], ['dummy-smtp-port', 'global'], ['dummy-smtp-has-chunking', 'global'],
  ['dummy-smtp-has-pipelining', 'global'], ['dummy-smtp-has-mailmerge', 'global'], ['dummy-smtp-blacklist', 'global'],
  ['dummy-smtp-log-blacklist', 'global'], ['dummy-smtp-blacklist-bounce-method', 'global'],
  ['dummy-smtp-blacklist-bounce-percent', 'global'],
  // §1.2 <signals> and <proxy> contents
  ['api-key', 'signals'], ['upload-url', 'signals'], ['engagement-tracking', 'signals'], ['min-free-space', 'signals'],
  ['process-x-sp-subaccount-id', 'signals'], ['privacy-policy', 'signals'], ['custom-message-id-header', 'signals'],
  ['server', 'proxy'], ['client', 'proxy'],
];

/** §1.1b: seen in real configs and the v5.0 guide but missing from §2. */
const SURVEY_DIRECTIVES: ReadonlyArray<readonly [string, ScopeName]> = [
  ['reuse-ssl-session', 'domain'], ['second-dkim-sign', 'domain'], ['second-dkim-identity', 'domain'],
  ['add-x-msys-api-header', 'domain'], ['mx-connection-limit', 'domain'], ['smtp-server-tls-ciphers', 'global'],
  ['allow-mailmerge', 'source'], ['source-group', 'source'], ['max-smtp-in', 'source-group'],
  ['reserved-smtp-in', 'source-group'], ['header', 'pattern-list'], ['check-mfrom-inbound', 'source'],
  ['log-verbose', 'source'], ['retain-x-sp-subaccount-id', 'source'], ['log-messages', 'source'],
  ['421-means-mx-unavailable', 'domain'],
];

/** Petrel's own additions, each with a scope where it is accepted. */
const EXTENSIONS: ReadonlyArray<readonly [string, ScopeName]> = [
  ['password-hash', 'smtp-user'], ['min-free-space', 'global'], ['min-free-space', 'spool'],
  ['smtp-server-tls-allow-tlsv1.3', 'global'], ['smtp-server-tls-min-version', 'global'], ['use-mta-sts', 'domain'],
  ['max-rcpt-per-message', 'source'], ['max-command-line-length', 'source'], ['max-errors-per-connection', 'source'],
  ['resolver-servers', 'global'],
];

test('every directive powermta.md §2 names is accepted in its scope', () => {
  const missing = REFERENCE_DIRECTIVES.filter(([name, scope]) => findDirective(name, scope) === undefined);
  assert.deepEqual(missing, [], 'directives from the reference that the table does not accept');
});

test('directives from the config survey (§1.1b) are accepted, old names included', () => {
  const missing = SURVEY_DIRECTIVES.filter(([name, scope]) => findDirective(name, scope) === undefined);
  assert.deepEqual(missing, []);
});

test('Petrel extensions are accepted and marked as extensions; PowerMTA directives are not', () => {
  for (const [name, scope] of EXTENSIONS) {
    assert.equal(findDirective(name, scope)?.extension, true, `${name} in ${scope} should be marked extension`);
  }
  for (const [name, scope] of REFERENCE_DIRECTIVES) {
    assert.notEqual(findDirective(name, scope)?.extension, true, `${name} in ${scope} is PowerMTA's own`);
  }
});

test('a name or alias identifies at most one spec per scope', () => {
  const seen = new Map<string, string>();
  for (const spec of DIRECTIVES) {
    for (const key of [spec.name, ...(spec.aliases ?? [])]) {
      for (const scope of spec.scopes) {
        const k = `${key} in ${scope}`;
        assert.ok(!seen.has(k), `${k} is defined twice`);
        seen.set(k, spec.name);
      }
    }
  }
});

test('every alias is unique and differs from every canonical name', () => {
  const names = new Set(DIRECTIVES.map((s) => s.name));
  const aliases = DIRECTIVES.flatMap((s) => (s.aliases ?? []).map((a) => [a, s] as const));
  assert.equal(new Set(aliases.map(([a]) => a)).size, aliases.length, 'an alias is listed twice');
  for (const [alias, spec] of aliases) {
    assert.notEqual(alias, spec.name);
    if (names.has(alias)) {
      // Allowed only in disjoint scopes (max-rcpt-per-message: alias in <domain>, own directive in <source>).
      for (const other of DIRECTIVES.filter((s) => s.name === alias)) {
        assert.ok(!other.scopes.some((sc) => spec.scopes.includes(sc)), `alias ${alias} clashes with a directive in a shared scope`);
      }
    }
  }
});

test('the table is well formed: lower-case names, known areas and scopes, enums with values, one-line docs', () => {
  for (const spec of DIRECTIVES) {
    assert.equal(spec.name, spec.name.toLowerCase(), spec.name);
    assert.ok(spec.area in AREAS, `${spec.name}: unknown area ${spec.area}`);
    assert.ok(spec.scopes.length > 0, `${spec.name}: no scope`);
    for (const s of spec.scopes) assert.ok(s in BLOCKS, `${spec.name}: unknown scope ${s}`);
    assert.equal(spec.type === 'enum', spec.enumValues !== undefined && spec.enumValues.length > 0, `${spec.name}: enum needs enumValues`);
    assert.ok(spec.doc.length > 10 && !spec.doc.includes('\n'), `${spec.name}: doc should be one informative line`);
    assert.ok(spec.scopes.every((s) => s !== 'bounce-category-patterns'), 'bounce category lines have no directive name');
  }
});

test('only what Petrel acts on is marked implemented', () => {
  const implemented = DIRECTIVES.filter((s) => s.status === 'implemented').map((s) => `${s.name}@${s.scopes.join('+')}`);
  // Pinned: a directive is flipped to implemented in the same change that makes Petrel act on it.
  assert.deepEqual(implemented.sort(), [
    'add-date-header@source',
    'add-message-id-header@source',
    'add-received-header@source',
    'address@address-list',
    'allow-starttls@source',
    'allow-unencrypted-plain-auth@source',
    'always-allow-relaying@source',
    'auth-password@domain',
    'auth-username@domain',
    'authentication-method@smtp-user',
    'backoff-max-connect-rate@domain',
    'backoff-max-data-volume-rate@domain',
    'backoff-max-msg-rate@domain',
    'backoff-max-smtp-out@domain',
    'backoff-notify@domain',
    'backoff-retry-after@domain',
    'backoff-to-normal-after-delivery@domain',
    'backoff-to-normal-after@domain',
    'bcc-upon-delivery@domain',
    'bounce-after@domain',
    'bounce-upon-5xx-greeting@domain',
    'certificate-fingerprint@smtp-user',
    'command@domain',
    'connect-timeout@domain',
    'connection-idle-timeout@domain',
    'data-send-timeout@domain',
    'default-smtp-port@domain',
    'default-virtual-mta@source',
    'delete-after@acct-file',
    'deliver-matched-email@bounce-processor+feedback-loop-processor',
    'deliver-unmatched-email@bounce-processor+feedback-loop-processor',
    'disable-acct-records@domain',
    'dkim-add-body-limit@domain',
    'dkim-add-timestamp@domain',
    'dkim-algorithm@domain',
    'dkim-body-canon@domain',
    'dkim-disallow-adding-headers@domain',
    'dkim-expire-after@domain',
    'dkim-headers-canon@domain',
    'dkim-headers@domain',
    'dkim-identity-fallback@domain',
    'dkim-identity@domain',
    'dkim-sign@domain',
    'domain-key@global+virtual-mta',
    'domain-macro@global',
    'domain@address-list',
    'dsn-format@domain',
    'file-destination@domain',
    'header@pattern-list',
    'hide-message-source@source',
    'host-name@global',
    'http-access@global',
    'http-api-token@global',
    'http-mgmt-port@global',
    'http-mgmt-tls-certificate@global',
    'ignore-8bitmime@domain',
    'ignore-chunking@domain',
    'ignore-dsn@domain',
    'ignore-pipelining@domain',
    'include@global+domain+virtual-mta',
    'iso-times@acct-file',
    'jobid-header@source',
    'log-commands@source+domain',
    'log-connections@source+domain',
    'log-data@source+domain',
    'log-file@global',
    'log-resolution@domain',
    'log-rotate@global',
    'log-tls@domain',
    'mail-from@pattern-list',
    'map-header-to-field@acct-file',
    'max-command-line-length@source',
    'max-connect-rate@domain',
    'max-data-volume-rate@domain',
    'max-errors-per-connection@domain',
    'max-errors-per-connection@source',
    'max-message-size@source',
    'max-msg-per-connection@domain',
    'max-msg-rate@domain',
    'max-rcpt-per-message@source',
    'max-rcpt-per-transaction@domain',
    'max-size@acct-file',
    'max-smtp-in@source+source-group',
    'max-smtp-out@domain',
    'min-free-space@global+spool',
    'move-interval@acct-file',
    'move-to@acct-file',
    'mx-connection-attempts@domain',
    'notify-of-delay-every@domain',
    'password-hash@smtp-user',
    'password@smtp-user',
    'pattern-list@source',
    'postmaster@global',
    'process-x-envid@source',
    'process-x-job@source',
    'process-x-virtual-mta@source',
    'queue-priority@domain',
    'queue-to@domain',
    'rcpt-to@pattern-list',
    'record-fields@acct-file',
    'records@acct-file',
    'relay-address@global',
    'relay-domain@global',
    'remove-header@source',
    'remove-received-headers@source',
    'reply@smtp-pattern-list',
    'require-auth@source',
    'require-starttls-before-auth@source',
    'require-starttls@domain',
    'resolver-servers@global',
    'retain-x-job@source',
    'retain-x-virtual-mta@source',
    'retry-after-dns-error@domain',
    'retry-after@domain',
    'retry-interval@acct-file',
    'retry-recipients-after@domain',
    'retry-upon-new-mail@domain',
    'route@domain',
    'smtp-421-means-mx-unavailable@domain',
    'smtp-data-termination-timeout@domain',
    'smtp-greeting-timeout@domain',
    'smtp-hosts@domain',
    'smtp-listener@global',
    'smtp-max-auth-failure-rate@source',
    'smtp-out-rampup-interval@domain',
    'smtp-pattern-list@domain',
    'smtp-server-tls-allow-tlsv1.1@global',
    'smtp-server-tls-allow-tlsv1.2@global',
    'smtp-server-tls-allow-tlsv1.3@global',
    'smtp-server-tls-certificate@global',
    'smtp-server-tls-ciphers@global',
    'smtp-server-tls-client-ca@global',
    'smtp-server-tls-min-version@global',
    'smtp-service@source',
    'smtp-source-host@global+virtual-mta',
    'source@smtp-user',
    'spool@global',
    'suppress-local-dsn@source',
    'suppress-upon-bounce-categories@global',
    'suppress-upon-complaint@global',
    'sync@acct-file',
    'tls-verify-certificate@domain',
    'total-max-smtp-in@global',
    'total-max-smtp-out@global',
    'type@domain',
    'use-dane@domain',
    'use-mta-sts@domain',
    'use-starttls@domain',
    'use-suppression-list@source',
    'use-unencrypted-plain-auth@domain',
    'virtual-mta@virtual-mta-pool',
    'world-readable@acct-file',
  ]);
});

test('PowerMTA defaults are carried as PowerMTA writes them', () => {
  const def = (name: string) => findDirective(name, 'domain')?.default;
  assert.equal(def('max-smtp-out'), '20');
  assert.equal(def('bounce-after'), '4d12h');
  assert.equal(def('retry-after'), '10m');
  assert.equal(def('max-rcpt-per-transaction'), '1000');
  assert.equal(def('max-msg-rate'), 'unlimited');
  assert.equal(def('backoff-to-normal-after'), 'never');
  assert.equal(def('dkim-algorithm'), 'rsa-sha256');
  assert.equal(def('max-cold-virtual-mta-msg'), '0/d');
  // "falls back to max-msg-rate" is not a literal: no invented default.
  assert.equal(def('backoff-max-msg-rate'), undefined);
});

test('findDirective is case-insensitive, honours aliases and respects scope', () => {
  assert.equal(findDirective('Pickup', 'global')?.name, 'pickup');
  assert.equal(findDirective('MAX-SMTP-OUT', 'domain')?.name, 'max-smtp-out');
  assert.equal(findDirective('421-means-mx-unavailable', 'domain')?.name, 'smtp-421-means-mx-unavailable');
  assert.equal(findDirective('max-rcpt-per-message', 'domain')?.name, 'max-rcpt-per-transaction');
  assert.equal(findDirective('max-rcpt-per-message', 'source')?.name, 'max-rcpt-per-message');
  assert.equal(findDirective('max-smtp-out', 'source'), undefined);
  assert.equal(findDirective('no-such-directive', 'global'), undefined);
});

test('a name used by two block kinds resolves to the right type in each', () => {
  assert.equal(findDirective('mail-from', 'pattern-list')?.type, 'pattern-rule');
  assert.equal(findDirective('mail-from', 'rewrite-list')?.type, 'rewrite-rule');
  assert.equal(findDirective('rcpt-to', 'rewrite-list')?.type, 'rewrite-rule');
  assert.equal(findDirective('min-free-space', 'signals')?.extension, undefined);
  assert.deepEqual(
    directivesNamed('mail-from').flatMap((s) => s.scopes).sort(),
    ['pattern-list', 'rewrite-list'],
    'the loader lists these in "allowed in …" messages',
  );
  assert.deepEqual(directivesNamed('nonsense'), []);
});

test('allDirectiveNames lists each canonical name once, sorted', () => {
  const names = allDirectiveNames();
  assert.deepEqual([...names], [...new Set(names)].sort());
  assert.ok(names.includes('mail-from') && names.includes('smtp-listener'));
  assert.ok(!names.includes('421-means-mx-unavailable'), 'aliases are not canonical names');
});

test('suggestDirective offers the intended name for typos and truncations', () => {
  assert.equal(suggestDirective('max-smtp-ot', 'domain'), 'max-smtp-out');
  assert.equal(suggestDirective('smtp-listner', 'global'), 'smtp-listener');
  assert.equal(suggestDirective('mxa-msg-rate', 'domain'), 'max-msg-rate');
  assert.equal(suggestDirective('max-cold-virtual-mta', 'domain'), 'max-cold-virtual-mta-msg');
  assert.equal(suggestDirective('log-connection', 'source'), 'log-connections');
  // An old name's typo suggests the current name.
  assert.equal(suggestDirective('421-means-mx-unavailabl', 'domain'), 'smtp-421-means-mx-unavailable');
  assert.equal(suggestDirective('completely-unrelated-words'), undefined);
  assert.equal(suggestDirective('zz'), undefined);
});

test('suggestDirective prefers names valid in the scope being read', () => {
  // "max-smtp-o" is two edits from both max-smtp-in (<source>) and max-smtp-out (<domain>).
  assert.equal(suggestDirective('max-smtp-o', 'source'), 'max-smtp-in');
  assert.equal(suggestDirective('max-smtp-o', 'domain'), 'max-smtp-out');
});

test('blocks nest only where PowerMTA allows', () => {
  assert.deepEqual([...BLOCKS.domain.parents].sort(), ['global', 'virtual-mta', 'virtual-mta-pool']);
  assert.deepEqual([...BLOCKS['address-list'].parents].sort(), ['bounce-processor', 'feedback-loop-processor']);
  for (const [scope, info] of Object.entries(BLOCKS)) {
    if (scope === 'global' || scope === 'domain' || scope === 'address-list') continue;
    assert.deepEqual(info.parents, ['global'], `<${scope}> is top level only`);
  }
  assert.equal(BLOCKS['bounce-category-patterns'].arg, 'none');
  assert.equal(BLOCKS.signals.arg, 'none');
  assert.equal(BLOCKS['virtual-mta'].arg, 'required');
});

test('files that must exist are flagged for the loader', () => {
  assert.equal(findDirective('smtp-server-tls-certificate', 'global')?.checkFile, true);
  assert.equal(findDirective('domain-key', 'virtual-mta')?.checkFile, true);
  assert.equal(findDirective('domain-key', 'global')?.type, 'domain-key');
});

test('repeatable directives accumulate', () => {
  for (const [name, scope] of [
    ['smtp-listener', 'global'], ['relay-domain', 'global'], ['relay-address', 'global'], ['domain-key', 'global'],
    ['reply', 'smtp-pattern-list'], ['mail-from', 'pattern-list'], ['rcpt-to', 'pattern-list'], ['http-access', 'global'],
    ['include', 'global'], ['smtp-source-host', 'virtual-mta'], ['virtual-mta', 'virtual-mta-pool'],
    ['record-fields', 'acct-file'], ['map-header-to-field', 'acct-file'], ['domain', 'address-list'],
    ['address', 'address-list'], ['mx', 'mx-rollup-list'], ['source-ip-max-msg-rate', 'domain'],
    ['remove-header', 'source'], ['domain-macro', 'global'],
  ] as const) {
    assert.equal(findDirective(name, scope)?.repeatable, true, `${name} should be repeatable`);
  }
  assert.notEqual(findDirective('max-smtp-out', 'domain')?.repeatable, true);
});

test('invented directives from fake web guides are known, not real, and explained', () => {
  for (const name of ['adaptive-max-smtp-out', 'bounce-log', 'log-level', 'queue-shards', 'initial-pts', 'backoff-trigger-pattern']) {
    assert.ok(KNOWN_FAKE_DIRECTIVES[name], `${name} should be listed as fake`);
    assert.match(KNOWN_FAKE_DIRECTIVES[name]!, /invented web guides/);
    assert.deepEqual(directivesNamed(name), [], `${name} must not be in the table`);
  }
  for (const name of ['limits', 'accepted-connect', 'bounce-handling', 'source-pool']) {
    assert.ok(KNOWN_FAKE_BLOCKS[name]);
    assert.ok(!(name in BLOCKS));
  }
});

test('docs/configuration.md is in sync with the directive table', () => {
  const file = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));
  let onDisk = '';
  try {
    onDisk = readFileSync(file, 'utf8');
  } catch {
    assert.fail('docs/configuration.md is missing: run `npm run docs:config`');
  }
  assert.ok(onDisk === renderConfigurationDoc(), 'docs/configuration.md is out of date: run `npm run docs:config`');
});

test('the generated docs list every directive with its scopes and mark extensions', () => {
  const doc = renderConfigurationDoc();
  for (const name of allDirectiveNames()) assert.ok(doc.includes(`| \`${name}\``), `${name} missing from docs`);
  assert.match(doc, /\| `password-hash` ✦ \| `<smtp-user>` \|/);
  assert.match(doc, /\| `smtp-421-means-mx-unavailable`<br>alias `421-means-mx-unavailable` \|/);
  assert.match(doc, /\| `max-smtp-out` \| `<domain>` \| int \| `20` \| implemented \|/);
});
