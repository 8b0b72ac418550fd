/**
 * @module config/loader
 *
 * `loadConfig(path)` / `loadConfigText(text, path)`: parse, validate every
 * directive against THE directive table, parse every value with its typed
 * parser, check cross-references, and build the frozen `PetrelConfig`.
 *
 * Contract: all problems of all files are returned in one run, each with
 * file:line:column, the offending text and what was expected; if any of
 * them is an error, no configuration is returned (nothing half-applied).
 * Never throws for bad input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { directivesNamed, findDirective, KNOWN_FAKE_DIRECTIVES, suggestDirective } from './directives.js';
import { positionAt } from './lexer.js';
import type { ConfigBlock, DomainEntry, PetrelConfig, PoolEntry, SettingValue, SourceEntry, VmtaEntry } from './model.js';
import { parseConfigFile, parseConfigText, type BlockNode, type DirectiveNode, type ParseResult } from './parser.js';
import { checkReferences } from './references.js';
import type { Diagnostic, DirectiveSpec, DomainPattern, ScopeName, SourcePos } from './types.js';
import { EXPECTED, VALUE_PARSERS } from './values.js';
import { validatePasswordHash } from '../auth/password-hash.js';

/** Checks beyond the value type, by directive: a message when the value cannot be used. */
const SEMANTIC_CHECKS: Readonly<Record<string, (value: unknown) => string | undefined>> = {
  'password-hash': (v) => validatePasswordHash(String(v)),
};

export interface LoadResult {
  /** Present only when there was no error. */
  readonly config?: PetrelConfig;
  readonly diagnostics: readonly Diagnostic[];
  readonly files: readonly string[];
}

export function loadConfig(file: string): LoadResult {
  return build(parseConfigFile(file));
}

export function loadConfigText(text: string, file: string): LoadResult {
  return build(parseConfigText(text, file));
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Mutable shapes used while building; frozen into PetrelConfig at the end. */
interface Builder {
  diagnostics: Diagnostic[];
  unsupported: Map<string, { pos: SourcePos; count: number }>;
}

function build(parsed: ParseResult): LoadResult {
  const b: Builder = { diagnostics: [...parsed.diagnostics], unsupported: new Map() };
  const global = convertBlock(b, parsed.root);

  const sources: SourceEntry[] = [];
  const smtpUsers = new Map<string, ConfigBlock>();
  const domains: DomainEntry[] = [];
  const vmtas = new Map<string, VmtaEntry>();
  const pools = new Map<string, PoolEntry>();
  const patternLists = new Map<string, ConfigBlock>();
  const smtpPatternLists = new Map<string, ConfigBlock>();
  const rewriteLists = new Map<string, ConfigBlock>();
  const acctFiles: ConfigBlock[] = [];
  const otherBlocks: ConfigBlock[] = [];
  let bounceCategoryPatterns: ConfigBlock | undefined;
  let spool: ConfigBlock | undefined;
  let bounceProcessor: ConfigBlock | undefined;
  let feedbackLoopProcessor: ConfigBlock | undefined;
  let mxRollupList: ConfigBlock | undefined;

  const domainMacros = new Map<string, string[]>();
  for (const s of global.settings.get('domain-macro') ?? []) {
    const m = s.value as { name: string; domains: string[] };
    if (domainMacros.has(m.name.toLowerCase())) warn(b, s.pos, `domain-macro ${m.name} is defined again; the later definition wins`);
    domainMacros.set(m.name.toLowerCase(), m.domains.map((d) => d.toLowerCase()));
  }

  const merged = <T extends ConfigBlock>(map: Map<string, T>, key: string, block: ConfigBlock, make: () => T): T => {
    const existing = map.get(key);
    if (existing) {
      mergeInto(b, existing, block);
      return existing;
    }
    const entry = make();
    map.set(key, entry);
    return entry;
  };

  for (const child of global.children) {
    switch (child.scope) {
      case 'source': {
        const match = sourceMatch(b, child);
        if (!match) break;
        const key = match.kind === 'cidr' ? `${match.cidr.address}/${match.cidr.prefix}` : match.name;
        const existing = sources.find((s) => s.key === key);
        if (existing) mergeInto(b, existing.block, child);
        else sources.push({ key, match, block: child });
        break;
      }
      case 'smtp-user': {
        const prev = smtpUsers.get(child.arg);
        if (prev) {
          err(b, child.argPos, `duplicate <smtp-user ${child.arg}>; it is already defined at line ${prev.pos.line}${prev.pos.file === child.pos.file ? '' : ` of ${path.basename(prev.pos.file)}`}`, { text: child.arg, expected: 'one <smtp-user> block per user name' });
        } else smtpUsers.set(child.arg, child);
        break;
      }
      case 'domain': {
        addDomain(b, domains, child, domainMacros);
        break;
      }
      case 'virtual-mta': {
        const name = blockName(b, child);
        if (!name) break;
        const entry = vmtas.get(name);
        if (entry) {
          mergeInto(b, entry.block, child);
          for (const d of child.children) if (d.scope === 'domain') addDomain(b, entry.domains, d, domainMacros);
        } else {
          const ds: DomainEntry[] = [];
          for (const d of child.children) if (d.scope === 'domain') addDomain(b, ds, d, domainMacros);
          vmtas.set(name, { name, block: child, domains: ds });
        }
        break;
      }
      case 'virtual-mta-pool': {
        const name = blockName(b, child);
        if (!name) break;
        const ds: DomainEntry[] = [];
        for (const d of child.children) if (d.scope === 'domain') addDomain(b, ds, d, domainMacros);
        const members = (child.settings.get('virtual-mta') ?? []).map((s) => String(s.value));
        const prev = pools.get(name);
        if (prev) {
          mergeInto(b, prev.block, child);
          prev.members.push(...members);
          prev.domains.push(...ds);
        } else pools.set(name, { name, block: child, members, domains: ds });
        break;
      }
      case 'pattern-list':
        merged(patternLists, child.arg, child, () => child);
        break;
      case 'smtp-pattern-list':
        merged(smtpPatternLists, child.arg, child, () => child);
        break;
      case 'rewrite-list':
        merged(rewriteLists, child.arg, child, () => child);
        break;
      case 'bounce-category-patterns':
        if (bounceCategoryPatterns) mergeInto(b, bounceCategoryPatterns, child);
        else bounceCategoryPatterns = child;
        break;
      case 'acct-file':
        acctFiles.push(child);
        break;
      case 'spool':
        if (spool) err(b, child.pos, `a second <spool> block; the first is at ${where(spool.pos)}`, { expected: 'one <spool> block' });
        else spool = child;
        break;
      case 'bounce-processor':
        if (bounceProcessor) mergeInto(b, bounceProcessor, child);
        else bounceProcessor = child;
        break;
      case 'feedback-loop-processor':
        if (feedbackLoopProcessor) mergeInto(b, feedbackLoopProcessor, child);
        else feedbackLoopProcessor = child;
        break;
      case 'mx-rollup-list':
        if (mxRollupList) mergeInto(b, mxRollupList, child);
        else mxRollupList = child;
        break;
      default:
        otherBlocks.push(child);
    }
  }

  const config: PetrelConfig = {
    files: parsed.files,
    global,
    sources,
    smtpUsers,
    domains,
    vmtas,
    pools,
    patternLists,
    smtpPatternLists,
    rewriteLists,
    ...(bounceCategoryPatterns ? { bounceCategoryPatterns } : {}),
    acctFiles,
    ...(spool ? { spool } : {}),
    ...(bounceProcessor ? { bounceProcessor } : {}),
    ...(feedbackLoopProcessor ? { feedbackLoopProcessor } : {}),
    ...(mxRollupList ? { mxRollupList } : {}),
    otherBlocks,
    domainMacros,
  };
  b.diagnostics.push(...checkReferences(config));
  for (const [name, u] of b.unsupported) {
    b.diagnostics.push({
      severity: 'warning',
      pos: u.pos,
      message: `'${name}' is recognised but not yet acted on by Petrel${u.count > 1 ? ` (${u.count} places)` : ''}`,
      text: name,
    });
  }
  const diagnostics = sortDiagnostics(b.diagnostics, parsed.files);
  return hasErrors(diagnostics) ? { diagnostics, files: parsed.files } : { config, diagnostics, files: parsed.files };
}

function sortDiagnostics(diags: Diagnostic[], files: readonly string[]): Diagnostic[] {
  const order = (f: string): number => {
    const i = files.indexOf(f);
    return i < 0 ? files.length : i;
  };
  return [...diags].sort((a, b) => order(a.pos.file) - order(b.pos.file) || a.pos.line - b.pos.line || a.pos.column - b.pos.column);
}

// ---- block conversion -------------------------------------------------------

function convertBlock(b: Builder, node: BlockNode): ConfigBlock {
  const block: ConfigBlock = { scope: node.scope, arg: node.arg, pos: node.pos, argPos: node.argPos, settings: new Map(), children: [] };
  for (const child of node.children) {
    if (child.kind === 'block') block.children.push(convertBlock(b, child));
    else {
      const s = convertDirective(b, child, node.scope, node.rawName);
      if (s) addSetting(b, block, s);
    }
  }
  return block;
}

function addSetting(b: Builder, block: ConfigBlock, s: SettingValue): void {
  const list = block.settings.get(s.name);
  if (!list) {
    block.settings.set(s.name, [s]);
    return;
  }
  if (!s.spec.repeatable) {
    const prev = list[list.length - 1]!;
    const other = prev.pos.file === s.pos.file ? '' : ` of ${path.basename(prev.pos.file)}`;
    warn(b, s.pos, `'${s.name}' is set again for the same block; this line overrides line ${prev.pos.line}${other}`, s.raw);
  }
  list.push(s);
}

function mergeInto(b: Builder, target: ConfigBlock, extra: ConfigBlock): void {
  for (const list of extra.settings.values()) for (const s of list) addSetting(b, target, s);
  target.children.push(...extra.children);
}

const RULE_SPEC: DirectiveSpec = {
  name: '',
  scopes: ['bounce-category-patterns'],
  type: 'category-rule',
  doc: 'an ordered /regex/ category rule',
  status: 'recognised',
  repeatable: true,
  area: 'bounces',
};

function convertDirective(b: Builder, d: DirectiveNode, scope: ScopeName, blockName: string): SettingValue | undefined {
  const valuePos = (offset: number): SourcePos => positionAt(d.valueLoc, d.valueOffset + offset);
  let spec: DirectiveSpec | undefined;
  if (d.name === '') {
    if (scope !== 'bounce-category-patterns') {
      err(b, d.pos, 'a line starting with / is only valid inside <bounce-category-patterns>', { text: d.value, expected: 'a directive name' });
      return undefined;
    }
    spec = RULE_SPEC;
  } else {
    spec = findDirective(d.name, scope);
    if (!spec) {
      reportUnknown(b, d, scope, blockName);
      return undefined;
    }
  }
  if (d.value === '') {
    const at = d.commentColumn !== undefined ? { ...d.pos, column: d.commentColumn } : valuePos(0);
    err(b, at, `missing value for '${d.rawName}'${d.commentColumn !== undefined ? ' (a # starts a comment, so the rest of the line is not part of the value)' : ''}`, { text: d.rawName, expected: EXPECTED[spec.type] ?? 'a value' });
    return undefined;
  }
  if (spec.status === 'recognised') noteUnsupported(b, spec.name, d.pos);
  if (d.value === '""') return { name: spec.name, value: undefined, raw: d.value, pos: d.pos, valuePos: valuePos(0), cleared: true, spec };
  const parser = VALUE_PARSERS[spec.type];
  const input = spec.enumValues ? { raw: d.value, directive: spec.name, enumValues: spec.enumValues } : { raw: d.value, directive: spec.name };
  const res = parser(input);
  if (!res.ok) {
    err(b, valuePos(res.offset), `invalid value for '${spec.name || 'bounce category rule'}': ${res.message}`, { text: res.text || d.value, expected: res.expected });
    return undefined;
  }
  for (const w of res.warnings ?? []) warn(b, valuePos(0), `${spec.name}: ${w}`, d.value);
  let value = res.value;
  const semantic = SEMANTIC_CHECKS[spec.name]?.(value);
  if (semantic) {
    err(b, valuePos(0), `invalid value for '${spec.name}': ${semantic}`, { text: d.value });
    return undefined;
  }
  if (spec.checkFile) value = checkFileValue(b, spec, value, d.pos.file, valuePos(0));
  return { name: spec.name, value, raw: d.value, pos: d.pos, valuePos: valuePos(0), cleared: false, spec };
}

function reportUnknown(b: Builder, d: DirectiveNode, scope: ScopeName, blockName: string): void {
  const template = /\{\{|\}\}|^__[A-Za-z0-9_]+__$|^<%|^\$\{/.test(d.rawName);
  if (template) {
    err(b, d.pos, `unrendered template text '${d.rawName}': this file was published from a template that was never filled in`, {
      text: d.rawName,
      expected: 'a directive; render the template before using the file',
    });
    return;
  }
  const fake = lookupFake(d.name);
  if (fake) {
    err(b, d.pos, `unknown directive '${d.rawName}': it is not a PowerMTA directive (${fake})`, { text: d.rawName });
    return;
  }
  const elsewhere = directivesNamed(d.name);
  if (elsewhere.length > 0) {
    const scopes = [...new Set(elsewhere.flatMap((s) => s.scopes))];
    const here = scope === 'global' ? 'at the top level' : `inside <${blockName || scope}>`;
    err(b, d.pos, `'${d.rawName}' is not allowed ${here}`, {
      text: d.rawName,
      expected: `'${d.name}' belongs ${scopes.map((s) => (s === 'global' ? 'at the top level' : `in <${s}>`)).join(' or ')}`,
    });
    return;
  }
  const hint = suggestDirective(d.name, scope);
  err(b, d.pos, `unknown directive '${d.rawName}'`, {
    text: d.rawName,
    ...(hint ? { hint: `did you mean '${hint}'?`, expected: `a known directive, such as '${hint}'` } : { expected: 'a directive listed in docs/configuration.md' }),
  });
}

function lookupFake(name: string): string | undefined {
  const fakes = KNOWN_FAKE_DIRECTIVES as unknown;
  if (fakes instanceof Map) return fakes.get(name) as string | undefined;
  if (Array.isArray(fakes)) {
    const hit = fakes.find((f: { name: string; why?: string; explanation?: string }) => f.name === name);
    return hit ? (hit.why ?? hit.explanation ?? 'it appears only in invented web guides') : undefined;
  }
  const rec = fakes as Record<string, string>;
  return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
}

function noteUnsupported(b: Builder, name: string, pos: SourcePos): void {
  const u = b.unsupported.get(name);
  if (u) u.count++;
  else b.unsupported.set(name, { pos, count: 1 });
}

/** Resolves a file named in a value relative to the config file, and checks it can be read. */
function checkFileValue(b: Builder, spec: DirectiveSpec, value: unknown, configFile: string, pos: SourcePos): unknown {
  const base = path.dirname(configFile);
  const check = (p: string): string => {
    const abs = path.resolve(base, p);
    let text: string | undefined;
    try {
      if (!fs.statSync(abs).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      text = fs.readFileSync(abs, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'not a regular file' : String(code ?? e);
      err(b, pos, `${spec.name}: cannot read ${abs}: ${why}`, { text: p, expected: 'a readable file (relative paths are relative to the config file)' });
      return abs;
    }
    const pem = spec.type === 'domain-key' || /certificate|key-file|-key$/.test(spec.name);
    if (!pem) return abs;
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
      err(b, pos, `${spec.name}: ${abs} is not a PEM file`, { text: p, expected: 'a PEM file (-----BEGIN ...-----)' });
    } else if (spec.name.endsWith('tls-certificate') && (!/-----BEGIN CERTIFICATE-----/.test(text) || !/PRIVATE KEY-----/.test(text))) {
      err(b, pos, `${spec.name}: ${abs} must hold the certificate (and chain) and its private key`, { text: p, expected: 'one PEM file with CERTIFICATE and PRIVATE KEY sections' });
    }
    return abs;
  };
  if (typeof value === 'string') return check(value);
  if (value && typeof value === 'object' && 'keyFile' in value) {
    const v = value as { keyFile: string };
    return { ...v, keyFile: check(v.keyFile) };
  }
  return value;
}

// ---- block arguments --------------------------------------------------------

function sourceMatch(b: Builder, block: ConfigBlock): SourceEntry['match'] | undefined {
  const arg = block.arg;
  if (/^[0-9]/.test(arg) || arg.includes(':')) {
    const res = VALUE_PARSERS.cidr({ raw: arg, directive: '<source>' });
    if (!res.ok) {
      err(b, block.pos, `invalid <source> address: ${res.message}`, { text: arg, expected: 'an IP address, a CIDR (10.1.0/24, 0/0) or a name such as {auth}' });
      return undefined;
    }
    return { kind: 'cidr', cidr: res.value as never };
  }
  if (!/^(\{[A-Za-z0-9_.@-]+\}|[A-Za-z0-9_.@-]+)$/.test(arg)) {
    err(b, block.pos, `invalid <source> name '${arg}'`, { text: arg, expected: 'an IP address, a CIDR, {auth}, {pickup} or a name of letters, digits, _ . @ -' });
    return undefined;
  }
  return { kind: 'name', name: arg };
}

function blockName(b: Builder, block: ConfigBlock): string | undefined {
  if (!/^[A-Za-z0-9_.@{}-]+$/.test(block.arg)) {
    err(b, block.pos, `invalid <${block.scope}> name '${block.arg}'`, { text: block.arg, expected: 'a name of letters, digits, _ . @ - (no spaces)' });
    return undefined;
  }
  return block.arg;
}

function addDomain(b: Builder, list: DomainEntry[], block: ConfigBlock, macros: Map<string, string[]>): void {
  const res = VALUE_PARSERS['domain-pattern']({ raw: block.arg, directive: '<domain>' });
  if (!res.ok) {
    err(b, block.pos, `invalid <domain> pattern: ${res.message}`, { text: block.arg, expected: res.expected });
    return;
  }
  const pattern = res.value as DomainPattern;
  const key = pattern.text.toLowerCase();
  let expanded: Set<string> | undefined;
  if (pattern.kind === 'macro') {
    expanded = expandMacro(b, pattern.parts, macros, block.pos);
    if (!expanded) return;
  }
  const existing = list.find((e) => e.key === key);
  if (existing) {
    mergeInto(b, existing.block, block);
    return;
  }
  list.push({ key, pattern, ...(expanded ? { expanded } : {}), block });
}

/** `$a.$b` → every a-value '.' b-value; `$sub.rr.com` → every sub-value + '.rr.com'. */
function expandMacro(b: Builder, parts: readonly string[], macros: Map<string, string[]>, pos: SourcePos): Set<string> | undefined {
  let acc: string[] = [''];
  for (const part of parts) {
    let options: string[];
    if (part.startsWith('$')) {
      const m = macros.get(part.slice(1).toLowerCase());
      if (!m) {
        err(b, pos, `undefined domain-macro '${part}'`, { text: part, expected: `a 'domain-macro ${part.slice(1)} a.com,b.com' line before use` });
        return undefined;
      }
      options = m;
    } else options = [part.toLowerCase()];
    acc = acc.flatMap((prefix) => options.map((o) => (prefix === '' ? o : `${prefix}.${o}`)));
  }
  return new Set(acc);
}

// ---- diagnostics helpers ----------------------------------------------------

function err(b: Builder, pos: SourcePos, message: string, extra: Partial<Diagnostic> = {}): void {
  b.diagnostics.push({ severity: 'error', pos, message, ...extra });
}

function warn(b: Builder, pos: SourcePos, message: string, text?: string): void {
  b.diagnostics.push({ severity: 'warning', pos, message, ...(text !== undefined ? { text } : {}) });
}

export function where(pos: SourcePos): string {
  return `${path.basename(pos.file)}:${pos.line}`;
}
