import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig, loadConfigText } from './loader.js';
import { ConfigResolver } from './resolve.js';
import type { Diagnostic } from './types.js';

const F = '/virtual/pmta.conf';

function errors(diags: readonly Diagnostic[]): Diagnostic[] {
  return diags.filter((d) => d.severity === 'error');
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-config-'));
}

test('comments, CRLF, tabs, trailing-comma continuation and case-insensitive names load', () => {
  const text = [
    '# a comment',
    'Host-Name\tmx.example.test   # trailing comment',
    'domain-macro isp a.example, b.example,',
    '    c.example',
    '<domain $isp>   # comment after a tag',
    '  MAX-SMTP-OUT 3',
    '</domain>',
    '<mx-rollup-list >',
    '</mx-rollup-list>',
  ].join('\r\n');
  const res = loadConfigText(text, F);
  assert.deepEqual(errors(res.diagnostics), []);
  const r = new ConfigResolver(res.config!);
  assert.equal(r.domain('max-smtp-out', 'c.example').value, 3);
  assert.equal(r.domain('max-smtp-out', 'b.example').value, 3);
  assert.deepEqual(r.global('host-name').value, 'mx.example.test');
});

test('every mistake in a file is reported in one run, with line and column', () => {
  const text = [
    'max-smtp-ot 20', // 1 unknown, suggestion
    '<domain *>', // 2
    '    max-smtp-out twenty', // 3 bad value at column 18
    '    always-allow-relaying yes', // 4 wrong scope
    '</domain>', // 5
    '</source>', // 6 stray close
    '<source 0/0>', // 7
    '    bounce-after 4x', // 8 wrong scope (domain directive in source)
    '</source>',
    'log-level 7', // 10 fake directive from invented guides
    '<domain example.com>', // 11 never closed
  ].join('\n');
  const res = loadConfigText(text, F);
  assert.equal(res.config, undefined, 'a config with errors is refused as a whole');
  const errs = errors(res.diagnostics);
  const at = (line: number) => errs.filter((e) => e.pos.line === line);
  assert.equal(at(1).length, 1);
  assert.match(at(1)[0]!.message, /unknown directive 'max-smtp-ot'/);
  assert.equal(at(1)[0]!.hint, "did you mean 'max-smtp-out'?");
  assert.equal(at(3)[0]!.pos.column, 18);
  assert.match(at(3)[0]!.message, /max-smtp-out/);
  assert.match(at(4)[0]!.message, /not allowed inside <domain>/);
  assert.match(at(4)[0]!.expected!, /<source>/);
  assert.match(at(6)[0]!.message, /unexpected <\/source>: no <source> is open/);
  assert.match(at(8)[0]!.message, /not allowed inside <source>/);
  assert.match(at(10)[0]!.message, /unknown directive 'log-level': it is not a PowerMTA directive/);
  assert.match(at(11)[0]!.message, /<domain example.com> is not closed/);
  assert.ok(errs.every((e) => e.pos.file === path.resolve(F)));
});

test('blocks nest only where PowerMTA allows it', () => {
  const ok = loadConfigText(
    ['<virtual-mta v1>', '  smtp-source-host 127.0.0.2 v1.example.test', '  <domain *>', '    max-smtp-out 2', '  </domain>', '</virtual-mta>'].join('\n'),
    F,
  );
  assert.deepEqual(errors(ok.diagnostics), []);
  const bad = loadConfigText(['<source 0/0>', '  <domain *>', '  </domain>', '</source>'].join('\n'), F);
  const e = errors(bad.diagnostics);
  assert.equal(e.length, 1);
  assert.equal(e[0]!.pos.line, 2);
  assert.match(e[0]!.message, /<domain> is not allowed inside <source>/);
  const mismatched = loadConfigText(['<domain *>', '</source>'].join('\n'), F);
  const me = errors(mismatched.diagnostics);
  assert.equal(me.length, 1, 'a mismatched tag closes the innermost block: no cascade');
  assert.match(me[0]!.message, /<\/source> does not match <domain \*> opened at line 1/);
});

test('repeated blocks merge; a directive set twice warns and the later line wins', () => {
  const res = loadConfigText(['<domain *>', '  max-smtp-out 5', '</domain>', '<domain *>', '  max-smtp-out 7', '  bounce-after 1d', '</domain>'].join('\n'), F);
  assert.deepEqual(errors(res.diagnostics), []);
  const warn = res.diagnostics.find((d) => d.severity === 'warning' && /overrides/.test(d.message));
  assert.ok(warn, 'an override warning');
  assert.equal(warn!.pos.line, 5);
  assert.match(warn!.message, /overrides line 2$/);
  const r = new ConfigResolver(res.config!);
  const v = r.domain('max-smtp-out', 'x.example');
  assert.equal(v.value, 7);
  assert.equal(v.from !== 'default' && v.from.line, 5);
  assert.equal(r.domain('bounce-after', 'x.example').value, 86_400_000);
});

test('domain resolution: VMTA <domain> blocks first, then exact, [*.], *, then the default', () => {
  const res = loadConfigText(
    [
      '<virtual-mta v1>',
      '  smtp-source-host 127.0.0.2 v1.example.test',
      '  <domain *>',
      '    retry-after 45m',
      '  </domain>',
      '</virtual-mta>',
      '<domain gmail.com>',
      '  max-smtp-out 10',
      '  retry-after 5m',
      '</domain>',
      '<domain [*.]yahoo.com>',
      '  max-smtp-out 4',
      '</domain>',
      '<domain *>',
      '  max-smtp-out 20',
      '  bounce-after 2d',
      '</domain>',
    ].join('\n'),
    F,
  );
  assert.deepEqual(errors(res.diagnostics), []);
  const r = new ConfigResolver(res.config!);
  // The VMTA's own <domain *> beats the global exact <domain gmail.com> for its queues.
  assert.deepEqual(r.domain('retry-after', 'gmail.com', 'v1').value, [45 * 60_000]);
  assert.deepEqual(r.domain('retry-after', 'gmail.com').value, [5 * 60_000]);
  assert.equal(r.domain('max-smtp-out', 'gmail.com', 'v1').value, 10);
  assert.equal(r.domain('max-smtp-out', 'yahoo.com').value, 4);
  assert.equal(r.domain('max-smtp-out', 'mx.us.yahoo.com').value, 4);
  assert.equal(r.domain('max-smtp-out', 'notyahoo.com').value, 20);
  const dflt = r.domain('connect-timeout', 'gmail.com');
  assert.equal(dflt.from, 'default');
  assert.equal(dflt.value, 2 * 60_000);
  const exp = r.domain('bounce-after', 'gmail.com');
  assert.equal(exp.value, 2 * 86_400_000);
  assert.equal(exp.from !== 'default' && exp.from.line, 16);
});

test('source resolution: named source first, then longest prefix, then 0/0, per directive', () => {
  const res = loadConfigText(
    [
      '<smtp-user alice>',
      '  password secret',
      '  source {auth}',
      '</smtp-user>',
      '<source {auth}>',
      '  always-allow-relaying yes',
      '</source>',
      '<source 10.1.0/24>',
      '  max-message-size 10M',
      '</source>',
      '<source 10/8>',
      '  always-allow-relaying yes',
      '  max-message-size 20M',
      '</source>',
      '<source 0/0>',
      '  always-allow-relaying no',
      '  require-auth true',
      '</source>',
    ].join('\n'),
    F,
  );
  assert.deepEqual(errors(res.diagnostics), []);
  const r = new ConfigResolver(res.config!);
  assert.equal(r.source('max-message-size', '10.1.0.7').value, 10 * 1024 * 1024);
  assert.equal(r.source('always-allow-relaying', '10.1.0.7').value, true);
  assert.equal(r.source('require-auth', '10.1.0.7').value, true);
  assert.equal(r.source('always-allow-relaying', '192.0.2.1').value, false);
  assert.equal(r.source('always-allow-relaying', '192.0.2.1', ['{auth}']).value, true);
  assert.equal(r.source('always-allow-relaying', '::ffff:10.9.9.9').value, true, 'IPv4-mapped IPv6 matches IPv4 sources');
});

test('"" clears an inherited value', () => {
  const res = loadConfigText(['<domain example.com>', '  backoff-notify ""', '</domain>', '<domain *>', '  backoff-notify ops@example.com', '</domain>'].join('\n'), F);
  assert.deepEqual(errors(res.diagnostics), []);
  const r = new ConfigResolver(res.config!);
  const cleared = r.domain('backoff-notify', 'example.com');
  assert.equal(cleared.cleared, true);
  assert.equal(cleared.value, undefined);
  assert.ok(r.domain('backoff-notify', 'other.example').value);
});

test('a value emptied by a comment is reported as missing', () => {
  const res = loadConfigText(['<smtp-user bob>', '  password ## YOUR PASSWORD HERE ##', '</smtp-user>'].join('\n'), F);
  const e = errors(res.diagnostics);
  assert.equal(e.length, 1);
  assert.equal(e[0]!.pos.line, 2);
  assert.equal(e[0]!.pos.column, 12, 'where the comment took the value');
  assert.match(e[0]!.message, /missing value for 'password'/);
});

test('include: globs relative to the including file, inside blocks, missing files and cycles reported', () => {
  const dir = tmpDir();
  try {
    fs.mkdirSync(path.join(dir, 'conf.d'));
    fs.writeFileSync(path.join(dir, 'conf.d', 'b.conf'), '<domain b.example>\n  max-smtp-out 2\n</domain>\n');
    fs.writeFileSync(path.join(dir, 'conf.d', 'a.conf'), '<domain a.example>\n  max-smtp-out 1\n</domain>\n');
    fs.writeFileSync(path.join(dir, 'vmta.inc'), 'smtp-source-host 127.0.0.3 v.example.test\n');
    fs.writeFileSync(path.join(dir, 'main.conf'), 'include conf.d/*.conf\n<virtual-mta v>\n  include vmta.inc\n</virtual-mta>\n');
    const res = loadConfig(path.join(dir, 'main.conf'));
    assert.deepEqual(errors(res.diagnostics), []);
    assert.deepEqual(res.files.map((f) => path.basename(f)), ['main.conf', 'a.conf', 'b.conf', 'vmta.inc']);
    const r = new ConfigResolver(res.config!);
    assert.equal(r.domain('max-smtp-out', 'b.example').value, 2);
    assert.equal((r.vmta<Array<{ ip: string }>>('smtp-source-host', 'v').value ?? [])[0]?.ip, '127.0.0.3');

    fs.writeFileSync(path.join(dir, 'x.conf'), 'include y.conf\n');
    fs.writeFileSync(path.join(dir, 'y.conf'), 'include x.conf\n');
    fs.writeFileSync(path.join(dir, 'top.conf'), 'include x.conf\ninclude missing.conf\n');
    const bad = loadConfig(path.join(dir, 'top.conf'));
    const e = errors(bad.diagnostics);
    assert.ok(e.some((d) => /include cycle: x\.conf -> y\.conf -> x\.conf/.test(d.message)), JSON.stringify(e));
    const missing = e.find((d) => /missing\.conf/.test(d.message));
    assert.ok(missing);
    assert.equal(missing!.pos.line, 2);
    assert.equal(missing!.pos.column, 9);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cross references: pool members, smtp-user sources, pattern lists', () => {
  const res = loadConfigText(
    [
      '<virtual-mta v1>',
      '  smtp-source-host 127.0.0.2 v1.example.test',
      '</virtual-mta>',
      '<virtual-mta-pool p>',
      '  virtual-mta v1',
      '  virtual-mta v9',
      '</virtual-mta-pool>',
      '<smtp-user u>',
      '  password x',
      '  source nosuch',
      '</smtp-user>',
      '<smtp-user u>',
      '  password y',
      '</smtp-user>',
      '<domain *>',
      '  smtp-pattern-list missing-list',
      '</domain>',
    ].join('\n'),
    F,
  );
  const e = errors(res.diagnostics);
  assert.ok(e.some((d) => d.pos.line === 6 && /undefined virtual-mta 'v9'/.test(d.message)));
  assert.ok(e.some((d) => d.pos.line === 10 && /undefined source 'nosuch'/.test(d.message)));
  assert.ok(e.some((d) => d.pos.line === 12 && /duplicate <smtp-user u>/.test(d.message)));
  assert.ok(e.some((d) => d.pos.line === 16 && /smtp-pattern-list 'missing-list' is not defined/.test(d.message)));
});

test('recognised-but-unsupported directives warn once per name, naming it', () => {
  const res = loadConfigText(['<domain a.example>', '  track-recipient-events yes', '</domain>', '<domain *>', '  track-recipient-events no', '</domain>'].join('\n'), F);
  assert.deepEqual(errors(res.diagnostics), []);
  const w = res.diagnostics.filter((d) => d.severity === 'warning' && d.text === 'track-recipient-events');
  assert.equal(w.length, 1);
  assert.match(w[0]!.message, /'track-recipient-events' is recognised but not yet acted on by Petrel \(2 places\)/);
});

test('bounce-category-patterns: ordered rules, split lines joined', () => {
  const res = loadConfigText(
    ['<bounce-category-patterns>', '  /^[45]\\.1\\.[1346];/ bad-mailbox', '  /spam|blocked/', '      spam-related', '  // other', '</bounce-category-patterns>'].join('\n'),
    F,
  );
  assert.deepEqual(errors(res.diagnostics), []);
  const rules = (res.config!.bounceCategoryPatterns!.settings.get('') ?? []).map((s) => s.value as { category: string; regex: RegExp });
  assert.deepEqual(
    rules.map((r) => r.category),
    ['bad-mailbox', 'spam-related', 'other'],
  );
  assert.ok(rules[1]!.regex.test('5.7.1;Message BLOCKED'), 'regexes are case-insensitive by default');
});
