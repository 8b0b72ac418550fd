/**
 * @module config/resolve
 *
 * "Which value applies here, and where did it come from?" — resolution as
 * PowerMTA does it, per directive (not per block):
 *
 * Queues (`domain/vmta`), for directives of the `domain` scope:
 *   1. `<domain>` blocks inside the queue's `<virtual-mta>`,
 *   2. `<domain>` blocks inside the `<virtual-mta-pool>` the mail came through (if any),
 *   3. global `<domain>` blocks,
 *   4. the built-in default.
 *   Within each level: exact domain (and `$macro` expansions) first, then
 *   `[*.]` / `*.` suffix patterns from the longest suffix to the shortest,
 *   then `<domain *>`. The first block that sets the directive wins.
 *
 * Sources (inbound sessions), for directives of the `source` scope:
 *   the named sources the caller passes, in its order (the session passes the
 *   user's `source NAME` or `{auth}` after AUTH, then the listener's
 *   `source=NAME`; see policy/session-policy.ts), then `<source CIDR>` blocks that
 *   contain the client IP from the longest prefix to `0/0`, then the default.
 *
 * VMTA-level directives (`smtp-source-host`, `domain-key`, …): the
 * `<virtual-mta>` block, then the top level, then the default.
 *
 * A directive written as `""` stops the search: its value is the built-in
 * default (usually "none"), and `from` points at the line that cleared it.
 *
 * Lookups are cheap after the first: the ordered block chain of each queue
 * and source is cached (a chain is a few blocks, so resolving a directive
 * is a few map lookups); a reload builds a new resolver, which is how the
 * cache is invalidated.
 */
import * as net from 'node:net';
import { DIRECTIVES } from './directives.js';
import type { ConfigBlock, DomainEntry, PetrelConfig, SettingValue } from './model.js';
import type { Cidr, DirectiveSpec, ScopeName, SourcePos } from './types.js';
import { VALUE_PARSERS } from './values.js';
import { cidrContains } from './ip.js';

export interface Resolved<T = unknown> {
  readonly name: string;
  /** The value in force; for a repeatable directive, all values of the winning block. */
  readonly value: T | undefined;
  /** The value as written, or the default's text. */
  readonly raw: string | undefined;
  /** Where it came from: a position in a file, or 'default'. */
  readonly from: SourcePos | 'default';
  readonly cleared?: boolean;
  readonly spec: DirectiveSpec;
}

const defaultCache = new Map<DirectiveSpec, unknown>();

/** The parsed built-in default of a directive (undefined when it has none). */
export function defaultValue(spec: DirectiveSpec): unknown {
  if (spec.default === undefined) return undefined;
  if (defaultCache.has(spec)) return defaultCache.get(spec);
  const res = VALUE_PARSERS[spec.type]({ raw: spec.default, directive: spec.name, ...(spec.enumValues ? { enumValues: spec.enumValues } : {}) });
  const v = res.ok ? res.value : spec.default;
  defaultCache.set(spec, v);
  return v;
}

function specsFor(scope: ScopeName): DirectiveSpec[] {
  return DIRECTIVES.filter((d) => d.scopes.includes(scope));
}

export class ConfigResolver {
  private readonly queueChains = new Map<string, ConfigBlock[]>();
  private readonly sourceChains = new Map<string, ConfigBlock[]>();
  private readonly indexes = new Map<readonly DomainEntry[], DomainIndex>();
  private readonly specByName = new Map<string, DirectiveSpec>();
  private readonly specByScope = new Map<string, DirectiveSpec>();

  constructor(readonly config: PetrelConfig) {
    for (const d of DIRECTIVES) if (!this.specByName.has(d.name) || d.scopes.includes('domain') || d.scopes.includes('source')) this.specByName.set(d.name, d);
  }

  /** The value of a `<domain>` directive for the queue `domain/vmta` (vmta optional: `{default}`). */
  domain<T = unknown>(name: string, domain: string, vmta?: string, pool?: string): Resolved<T> {
    return this.firstIn(this.queueChain(domain, vmta, pool), this.spec(name, 'domain')) as Resolved<T>;
  }

  /** Every `<domain>`-scope directive for a queue, in table order. */
  domainAll(domain: string, vmta?: string, pool?: string): Resolved[] {
    return specsFor('domain').map((s) => this.domain(s.name, domain, vmta, pool));
  }

  /** The value of a `<source>` directive for a client IP and optional named sources. */
  source<T = unknown>(name: string, ip: string, named: readonly string[] = []): Resolved<T> {
    return this.firstIn(this.sourceChain(ip, named), this.spec(name, 'source')) as Resolved<T>;
  }

  sourceAll(ip: string, named: readonly string[] = []): Resolved[] {
    const chain = this.sourceChain(ip, named);
    return specsFor('source').map((s) => this.firstIn(chain, s));
  }

  /** A directive of a `<virtual-mta>` (falling back to the top level). */
  vmta<T = unknown>(name: string, vmta: string | undefined): Resolved<T> {
    const v = vmta ? this.config.vmtas.get(vmta) : undefined;
    return this.firstIn(v ? [v.block, this.config.global] : [this.config.global], this.spec(name, 'virtual-mta')) as Resolved<T>;
  }

  vmtaAll(vmta: string | undefined): Resolved[] {
    return specsFor('virtual-mta').map((s) => this.vmta(s.name, vmta));
  }

  /** A top-level directive. */
  global<T = unknown>(name: string): Resolved<T> {
    return this.firstIn([this.config.global], this.spec(name, 'global')) as Resolved<T>;
  }

  globalAll(): Resolved[] {
    return specsFor('global').map((s) => this.firstIn([this.config.global], s));
  }

  /** The blocks consulted for a queue, most specific first. */
  queueChain(domain: string, vmta?: string, pool?: string): ConfigBlock[] {
    const d = domain.toLowerCase().replace(/\.$/, '');
    const key = `${d}/${vmta ?? '{default}'}/${pool ?? ''}`;
    const cached = this.queueChains.get(key);
    if (cached) return cached;
    const chain: ConfigBlock[] = [];
    const v = vmta ? this.config.vmtas.get(vmta) : undefined;
    if (v) chain.push(...this.index(v.domains).match(d).map((e) => e.block));
    const p = pool ? this.config.pools.get(pool) : undefined;
    if (p) chain.push(...this.index(p.domains).match(d).map((e) => e.block));
    chain.push(...this.index(this.config.domains).match(d).map((e) => e.block));
    remember(this.queueChains, key, chain);
    return chain;
  }

  sourceChain(ip: string, named: readonly string[]): ConfigBlock[] {
    const key = `${ip}|${named.join(',')}`;
    const cached = this.sourceChains.get(key);
    if (cached) return cached;
    const out: ConfigBlock[] = [];
    for (const n of named) {
      const e = this.config.sources.find((s) => s.match.kind === 'name' && s.match.name === n);
      if (e) out.push(e.block);
    }
    const matches = this.config.sources
      .map((s, index) => ({ s, index }))
      .filter(({ s }) => s.match.kind === 'cidr' && cidrHas(s.match.cidr, ip))
      .sort((a, b) => (b.s.match as { cidr: Cidr }).cidr.prefix - (a.s.match as { cidr: Cidr }).cidr.prefix || a.index - b.index);
    out.push(...matches.map(({ s }) => s.block));
    remember(this.sourceChains, key, out);
    return out;
  }

  private index(entries: readonly DomainEntry[]): DomainIndex {
    let idx = this.indexes.get(entries);
    if (!idx) {
      idx = new DomainIndex(entries);
      this.indexes.set(entries, idx);
    }
    return idx;
  }

  private spec(name: string, scope: ScopeName): DirectiveSpec {
    const key = `${scope}:${name}`;
    let s = this.specByScope.get(key);
    if (!s) {
      s = DIRECTIVES.find((d) => d.name === name && d.scopes.includes(scope)) ?? this.specByName.get(name);
      if (!s) throw new Error(`internal: no directive '${name}' in the table`);
      this.specByScope.set(key, s);
    }
    return s;
  }

  private firstIn(chain: readonly ConfigBlock[], spec: DirectiveSpec): Resolved {
    for (const block of chain) {
      const list = block.settings.get(spec.name);
      if (!list || list.length === 0) continue;
      return fromSettings(spec, list);
    }
    return { name: spec.name, value: defaultValue(spec), raw: spec.default, from: 'default', spec };
  }
}

function fromSettings(spec: DirectiveSpec, list: readonly SettingValue[]): Resolved {
  const last = list[list.length - 1]!;
  if (last.cleared) return { name: spec.name, value: defaultValue(spec), raw: '""', from: last.pos, cleared: true, spec };
  if (spec.repeatable) {
    const live = list.filter((s) => !s.cleared);
    return { name: spec.name, value: live.map((s) => s.value), raw: live.map((s) => s.raw).join('; '), from: live[0]!.pos, spec };
  }
  return { name: spec.name, value: last.value, raw: last.raw, from: last.pos, spec };
}

/**
 * Caches are bounded: a server sees a bounded set of queues, but a caller
 * iterating over millions of random names must not grow memory without end.
 */
const CACHE_LIMIT = 200_000;
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
}

/**
 * The `<domain>` entries of one level, indexed so that matching a domain
 * costs one map lookup per label instead of a scan of every block.
 */
class DomainIndex {
  private readonly exact = new Map<string, DomainEntry[]>();
  private readonly suffix = new Map<string, DomainEntry[]>();
  private readonly ipLiterals: DomainEntry[] = [];
  private readonly any: DomainEntry[] = [];

  constructor(entries: readonly DomainEntry[]) {
    const add = (map: Map<string, DomainEntry[]>, k: string, e: DomainEntry): void => {
      const list = map.get(k);
      if (list) list.push(e);
      else map.set(k, [e]);
    };
    for (const e of entries) {
      const p = e.pattern;
      switch (p.kind) {
        case 'exact':
          add(this.exact, p.domain, e);
          break;
        case 'macro':
          for (const d of e.expanded ?? []) add(this.exact, d, e);
          break;
        case 'suffix':
          add(this.suffix, p.domain, e);
          break;
        case 'ip-literal':
          this.ipLiterals.push(e);
          break;
        case 'any':
          this.any.push(e);
          break;
      }
    }
  }

  /** Entries matching `domain`: exact (file order), then suffixes longest first, then `*`. */
  match(domain: string): DomainEntry[] {
    const out: DomainEntry[] = [...(this.exact.get(domain) ?? [])];
    if (this.ipLiterals.length > 0) {
      const m = /^\[?([^\]]+)\]?$/.exec(domain);
      const ip = m?.[1];
      if (ip && net.isIP(ip)) for (const e of this.ipLiterals) if (e.pattern.kind === 'ip-literal' && cidrHas(e.pattern.cidr, ip)) out.push(e);
    }
    if (this.suffix.size > 0) {
      for (let at = 0; at >= 0; at = domain.indexOf('.', at + 1)) {
        const self = at === 0 && !domain.startsWith('.');
        const candidate = self ? domain : domain.slice(at + 1);
        for (const e of this.suffix.get(candidate) ?? []) {
          if (e.pattern.kind === 'suffix' && (!self || e.pattern.includeSelf)) out.push(e);
        }
        if (at < 0) break;
      }
    }
    out.push(...this.any);
    return out;
  }
}

/** Domain entries that match `domain`, most specific first (unindexed; for one-off use). */
export function orderDomainMatches(entries: readonly DomainEntry[], domain: string): DomainEntry[] {
  return new DomainIndex(entries).match(domain);
}

/** Does `cidr` contain `ip`? IPv4-mapped IPv6 addresses match IPv4 networks. */
export function cidrHas(cidr: Cidr, ip: string): boolean {
  return cidrContains(cidr, ip);
}
