/**
 * Golden tests: every `test/fixtures/config/{realistic,seed,lexical,invalid}/*.conf`
 * is loaded and compared with its `.expect.json` (format: test/fixtures/config/README.md):
 * the complete list of errors with positions, required warnings, the blocks
 * found, and "which value applies here, and from which line" checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/loader.js';
import { acctFileTarget, type ConfigBlock, type PetrelConfig, type SettingValue } from '../../src/config/model.js';
import { ConfigResolver, type Resolved } from '../../src/config/resolve.js';
import { listenerText } from '../../src/config/summary.js';
import type { Diagnostic, DomainKey, Listener, MxRollup } from '../../src/config/types.js';
import { matchRelayTarget } from '../../src/policy/relay-target.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');

interface ExpectedDiag {
  file?: string;
  line: number;
  column: number;
  contains: string | string[];
}
interface Check {
  directive: string;
  value: unknown;
  fromLine: number | null;
  fromFile?: string;
  cleared?: boolean;
  domain?: string;
  vmta?: string;
  source?: string;
  smtpUser?: string;
  global?: boolean;
  acctFile?: string;
  recordType?: string;
  block?: string;
}
type Expect = Record<string, unknown> & { errors: ExpectedDiag[]; warnings?: ExpectedDiag[]; checks?: Check[] };

function haystack(d: Diagnostic): string {
  return [d.message, d.text ?? '', d.expected ?? '', d.hint ?? ''].join(' ').toLowerCase();
}

function diagMatches(d: Diagnostic, e: ExpectedDiag, dir: string, main: string): boolean {
  const file = e.file ? path.resolve(dir, e.file) : main;
  if (fs.realpathSync(d.pos.file) !== fs.realpathSync(file) || d.pos.line !== e.line) return false;
  const words = Array.isArray(e.contains) ? e.contains : [e.contains];
  if (!words.every((w) => haystack(d).includes(w.toLowerCase()))) return false;
  // A bad value may be pinpointed inside the value (the bad unit, the bad construct): at or after where it starts.
  return d.pos.column === e.column || (d.pos.column > e.column && /invalid value/.test(d.message));
}

/** Compares a parsed value with the fixture's JSON form (see the README's table). */
function same(actual: unknown, expected: unknown): boolean {
  if (actual === Infinity) return expected === 'never' || expected === 'unlimited';
  if (expected === null) return actual === undefined || actual === null;
  if (actual instanceof RegExp) return typeof expected === 'string' && (expected === `/${actual.source}/` || expected === actual.source);
  if (Array.isArray(expected)) {
    const list = Array.isArray(actual) ? actual : [actual];
    return list.length === expected.length && list.every((a, i) => same(a, expected[i]));
  }
  if (typeof expected === 'object' && expected !== null) {
    // A repeatable directive set once is a one-element list; the fixtures write the element.
    if (Array.isArray(actual) && actual.length === 1) return same(actual[0], expected);
    if (typeof actual !== 'object' || actual === null) return false;
    return Object.entries(expected).every(([k, v]) => same((actual as Record<string, unknown>)[k], v));
  }
  if (typeof expected === 'string' && typeof actual === 'object' && actual !== null && 'text' in actual) {
    return (actual as { text: string }).text === expected || listenerText(actual as Listener) === expected;
  }
  return actual === expected;
}

function blockResolved(spec: SettingValue[] | undefined, name: string): Resolved | undefined {
  if (!spec || spec.length === 0) return undefined;
  const last = spec[spec.length - 1]!;
  return {
    name,
    value: last.spec.repeatable ? spec.filter((s) => !s.cleared).map((s) => s.value) : last.cleared ? undefined : last.value,
    raw: last.raw,
    from: last.pos,
    ...(last.cleared ? { cleared: true } : {}),
    spec: last.spec,
  };
}

function runCheck(cfg: PetrelConfig, r: ConfigResolver, c: Check): Resolved | undefined {
  if (c.acctFile !== undefined) {
    const block = cfg.acctFiles.find((b) => {
      const t = acctFileTarget(b.arg);
      return (t.kind === 'file' ? t.path : `|${t.command}`) === c.acctFile;
    });
    assert.ok(block, `no <acct-file ${c.acctFile}>`);
    let list = block.settings.get(c.directive);
    if (c.recordType !== undefined) list = list?.filter((s) => (s.value as { type: string }).type === c.recordType);
    const res = blockResolved(list, c.directive);
    if (res && c.recordType !== undefined) return { ...res, value: (res.value as Array<{ fields: string[] }>).at(-1)!.fields };
    return res;
  }
  if (c.block !== undefined) {
    const blocks: Record<string, ConfigBlock | undefined> = {
      'bounce-processor': cfg.bounceProcessor,
      'feedback-loop-processor': cfg.feedbackLoopProcessor,
      spool: cfg.spool,
      'mx-rollup-list': cfg.mxRollupList,
    };
    return blockResolved(blocks[c.block]?.settings.get(c.directive), c.directive);
  }
  if (c.smtpUser !== undefined) return blockResolved(cfg.smtpUsers.get(c.smtpUser)?.settings.get(c.directive), c.directive);
  if (c.domain !== undefined) return r.domain(c.directive, c.domain, c.vmta);
  if (c.source !== undefined) {
    const isName = !/^[0-9a-f:.]+$/i.test(c.source);
    return isName ? r.source(c.directive, '', [c.source]) : r.source(c.directive, c.source);
  }
  if (c.vmta !== undefined) return r.vmta(c.directive, c.vmta);
  return r.global(c.directive);
}

function checkSummary(cfg: PetrelConfig, exp: Expect, dir: string, files: readonly string[]): void {
  const text = (s: SettingValue): string => s.raw;
  if (exp['listeners']) {
    const ls = (cfg.global.settings.get('smtp-listener') ?? []).map((s) => s.value as Listener);
    assert.deepEqual(ls.map((l) => listenerText({ ...l, options: {} })), exp['listeners'], 'listeners');
  }
  if (exp['listenerOptions']) {
    const ls = (cfg.global.settings.get('smtp-listener') ?? []).map((s) => s.value as Listener);
    for (const [key, opts] of Object.entries(exp['listenerOptions'] as Record<string, Record<string, string>>)) {
      const l = ls.find((x) => listenerText({ ...x, options: {} }) === key);
      assert.ok(l, `listener ${key}`);
      assert.deepEqual(l.options, opts);
    }
  }
  if (exp['vmtas']) assert.deepEqual([...cfg.vmtas.keys()], exp['vmtas'], 'vmtas');
  if (exp['pools']) assert.deepEqual(Object.fromEntries([...cfg.pools.values()].map((p) => [p.name, p.members])), exp['pools'], 'pools');
  if (exp['sources']) assert.deepEqual(cfg.sources.map((s) => (s.match.kind === 'cidr' ? `${s.match.cidr.address}/${s.match.cidr.prefix}` : s.match.name)), exp['sources'], 'sources');
  if (exp['smtpUsers']) assert.deepEqual([...cfg.smtpUsers.keys()], exp['smtpUsers'], 'smtpUsers');
  if (exp['domains']) assert.deepEqual(cfg.domains.map((d) => d.key), (exp['domains'] as string[]).map((d) => d.toLowerCase()), 'domains');
  if (exp['vmtaDomains']) {
    for (const [v, ds] of Object.entries(exp['vmtaDomains'] as Record<string, string[]>)) {
      assert.deepEqual(cfg.vmtas.get(v)?.domains.map((d) => d.key), ds.map((d) => d.toLowerCase()), `domains of ${v}`);
    }
  }
  if (exp['macros']) {
    for (const [m, ds] of Object.entries(exp['macros'] as Record<string, string[]>)) assert.deepEqual(cfg.domainMacros.get(m.toLowerCase()), ds, `macro ${m}`);
  }
  if (exp['mxRollups']) {
    const got = (cfg.mxRollupList?.settings.get('mx') ?? []).map((s) => s.value as MxRollup);
    assert.ok(same(got, exp['mxRollups']), `mxRollups: ${JSON.stringify(got)}`);
  }
  if (exp['relayDomains']) assert.deepEqual((cfg.global.settings.get('relay-domain') ?? []).map(text), exp['relayDomains']);
  if (exp['relayAddresses']) assert.deepEqual((cfg.global.settings.get('relay-address') ?? []).map(text), exp['relayAddresses']);
  if (exp['relayAddressMatches']) {
    for (const [addr, want] of Object.entries(exp['relayAddressMatches'] as Record<string, boolean>)) {
      const at = addr.lastIndexOf('@');
      assert.equal(matchRelayTarget(cfg, addr.slice(0, at), addr.slice(at + 1)) !== undefined, want, `relay target ${addr}`);
    }
  }
  if (exp['acctFiles']) {
    assert.deepEqual(
      cfg.acctFiles.map((b) => {
        const t = acctFileTarget(b.arg);
        return t.kind === 'file' ? t.path : `|${t.command}`;
      }),
      exp['acctFiles'],
    );
  }
  if (exp['addressLists']) {
    for (const [name, items] of Object.entries(exp['addressLists'] as Record<string, Array<Record<string, string>>>)) {
      const proc = name === 'bounce-processor' ? cfg.bounceProcessor : cfg.feedbackLoopProcessor;
      const lists = proc?.children.filter((c) => c.scope === 'address-list') ?? [];
      const got = lists.flatMap((l) => [...l.settings.values()].flat().sort((a, b) => a.pos.line - b.pos.line).map((s) => ({ [s.name]: s.raw })));
      assert.deepEqual(got, items, `address-list of ${name}`);
    }
  }
  if (exp['domainKeys']) {
    const got: Array<{ vmta: string | null; key: DomainKey; file: string }> = [];
    for (const s of cfg.global.settings.get('domain-key') ?? []) got.push({ vmta: null, key: s.value as DomainKey, file: s.pos.file });
    for (const v of cfg.vmtas.values()) for (const s of v.block.settings.get('domain-key') ?? []) got.push({ vmta: v.name, key: s.value as DomainKey, file: s.pos.file });
    const want = exp['domainKeys'] as Array<{ vmta: string | null; selector: string; domain: string; keyFile: string }>;
    assert.equal(got.length, want.length, 'domain-key count');
    for (const w of want) {
      const hit = got.find((g) => g.vmta === w.vmta && g.key.selector === w.selector && g.key.domain === w.domain);
      assert.ok(hit, `domain-key ${w.selector},${w.domain} in ${w.vmta}`);
      assert.equal(hit.key.keyFile, path.resolve(path.dirname(hit.file), w.keyFile), 'key file resolved against its config file');
    }
  }
  if (exp['includes']) assert.deepEqual(files.slice(1).map((f) => path.relative(dir, f)), exp['includes']);
  if (exp['tlsCertificate']) {
    const want = exp['tlsCertificate'] as { file: string; subjectCN: string };
    const s = cfg.global.settings.get('smtp-server-tls-certificate')?.at(-1);
    assert.ok(s);
    assert.equal(s.value, path.resolve(dir, want.file));
    const cert = new X509Certificate(fs.readFileSync(s.value as string));
    assert.match(cert.subject, new RegExp(`CN=${want.subjectCN.replace(/\./g, '\\.')}`));
  }
  if (exp['bounceCategories']) {
    const rules = (cfg.bounceCategoryPatterns?.settings.get('') ?? []).map((s) => s.value as { source: string; category: string });
    assert.deepEqual(
      rules.map((r) => ({ regex: r.source.startsWith('/') ? r.source : `/${r.source}/`, category: r.category })),
      exp['bounceCategories'],
    );
  }
}

for (const set of ['realistic', 'seed', 'lexical', 'invalid', 'scopes']) {
  const dir = path.join(fixtures, set);
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.conf')).sort()) {
    test(`${set}/${name}`, () => {
      const file = path.join(dir, name);
      const exp = JSON.parse(fs.readFileSync(file.replace(/\.conf$/, '.expect.json'), 'utf8')) as Expect;
      const res = loadConfig(file);
      const errs = res.diagnostics.filter((d) => d.severity === 'error');
      const show = (ds: readonly Diagnostic[]): string => ds.map((d) => `${path.basename(d.pos.file)}:${d.pos.line}:${d.pos.column} ${d.severity}: ${d.message}`).join('\n');
      for (const e of exp.errors) assert.ok(errs.some((d) => diagMatches(d, e, dir, file)), `missing error ${JSON.stringify(e)}; got:\n${show(errs)}`);
      assert.equal(errs.length, exp.errors.length, `exactly the expected errors; got:\n${show(errs)}`);
      for (const w of exp.warnings ?? []) {
        assert.ok(res.diagnostics.some((d) => d.severity === 'warning' && diagMatches(d, w, dir, file)), `missing warning ${JSON.stringify(w)}; got:\n${show(res.diagnostics)}`);
      }
      if (exp.errors.length > 0) {
        assert.equal(res.config, undefined, 'a config with errors is refused as a whole');
        return;
      }
      assert.ok(res.config);
      // Unsupported-directive warnings are fine; any other warning must be listed in the fixture.
      checkSummary(res.config, exp, dir, res.files);
      const resolver = new ConfigResolver(res.config);
      for (const c of exp.checks ?? []) {
        const got = runCheck(res.config, resolver, c);
        const label = `${JSON.stringify(c)} → got ${JSON.stringify(got && { value: got.value, from: got.from, cleared: got.cleared })}`;
        assert.ok(got, label);
        if (c.cleared) assert.equal(got.cleared, true, label);
        assert.ok(same(got.value, c.value), label);
        if (c.fromLine === null) assert.equal(got.from, 'default', label);
        else {
          assert.notEqual(got.from, 'default', label);
          const from = got.from as { file: string; line: number };
          assert.equal(from.line, c.fromLine, label);
          assert.equal(from.file, c.fromFile ? path.resolve(dir, c.fromFile) : file, label);
        }
      }
    });
  }
}
