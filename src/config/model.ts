/**
 * @module config/model
 *
 * The validated, frozen configuration (`PetrelConfig`) that the rest of
 * Petrel reads. Produced only by `loader.ts`, and only when the whole file
 * set had no error: a configuration is accepted or refused as a whole.
 *
 * Merge rules (documented in docs/configuration.md):
 *   - blocks with the same kind and argument at the same level merge into the
 *     first one (real configs repeat `<domain *>` up to six times);
 *   - a non-repeatable directive set twice in one (merged) block: the later
 *     line wins, and a warning names the line it overrides;
 *   - repeatable directives (`smtp-listener`, `relay-domain`, `reply`, …)
 *     accumulate in file order.
 */
import type { Cidr, DirectiveSpec, DomainPattern, ScopeName, SourcePos } from './types.js';

/** One occurrence of a directive, parsed. */
export interface SettingValue<T = unknown> {
  /** Canonical directive name (aliases resolved). */
  readonly name: string;
  readonly value: T;
  /** The value as written (after comment removal). */
  readonly raw: string;
  readonly pos: SourcePos;
  /** Where the value starts. */
  readonly valuePos: SourcePos;
  /** Written as `""`: clears the inherited value. */
  readonly cleared: boolean;
  readonly spec: DirectiveSpec;
}

export interface ConfigBlock {
  readonly scope: ScopeName;
  readonly arg: string;
  readonly pos: SourcePos;
  readonly argPos: SourcePos;
  /** Directive name → its occurrences in file order (merged blocks included). */
  readonly settings: Map<string, SettingValue[]>;
  /** Nested blocks (`<domain>` in a VMTA, `<address-list>` in a processor). */
  readonly children: ConfigBlock[];
}

export type SourceMatch = { readonly kind: 'cidr'; readonly cidr: Cidr } | { readonly kind: 'name'; readonly name: string };

export interface SourceEntry {
  readonly key: string;
  readonly match: SourceMatch;
  readonly block: ConfigBlock;
}

export interface DomainEntry {
  readonly key: string;
  readonly pattern: DomainPattern;
  /** For macro patterns: the domains the macro expands to. */
  readonly expanded?: ReadonlySet<string>;
  readonly block: ConfigBlock;
}

export interface VmtaEntry {
  readonly name: string;
  readonly block: ConfigBlock;
  readonly domains: DomainEntry[];
}

export interface PoolEntry {
  readonly name: string;
  readonly block: ConfigBlock;
  readonly members: string[];
  readonly domains: DomainEntry[];
}

export interface PetrelConfig {
  /** The main file, then every included file, in reading order. */
  readonly files: readonly string[];
  readonly global: ConfigBlock;
  readonly sources: readonly SourceEntry[];
  readonly smtpUsers: ReadonlyMap<string, ConfigBlock>;
  readonly domains: readonly DomainEntry[];
  readonly vmtas: ReadonlyMap<string, VmtaEntry>;
  readonly pools: ReadonlyMap<string, PoolEntry>;
  readonly patternLists: ReadonlyMap<string, ConfigBlock>;
  readonly smtpPatternLists: ReadonlyMap<string, ConfigBlock>;
  readonly rewriteLists: ReadonlyMap<string, ConfigBlock>;
  /** `<bounce-category-patterns>` rules in order (the nameless `/re/ category` lines, stored under ''). */
  readonly bounceCategoryPatterns?: ConfigBlock;
  readonly acctFiles: readonly ConfigBlock[];
  readonly spool?: ConfigBlock;
  readonly bounceProcessor?: ConfigBlock;
  readonly feedbackLoopProcessor?: ConfigBlock;
  readonly mxRollupList?: ConfigBlock;
  /** `<signals>`, `<proxy>`, `<source-group>`: parsed and validated, not acted on. */
  readonly otherBlocks: readonly ConfigBlock[];
  readonly domainMacros: ReadonlyMap<string, readonly string[]>;
}

/** All values of a directive in a block (for repeatable directives), or the last one. */
export function values<T>(block: ConfigBlock | undefined, name: string): T[] {
  return (block?.settings.get(name) ?? []).filter((s) => !s.cleared).map((s) => s.value as T);
}

export function lastSetting<T>(block: ConfigBlock | undefined, name: string): SettingValue<T> | undefined {
  const list = block?.settings.get(name);
  return list && list.length > 0 ? (list[list.length - 1] as SettingValue<T>) : undefined;
}

/** What an `<acct-file ARG>` names: a file, or `|command` (records piped to a program). `""` is a literal quote. */
export function acctFileTarget(arg: string): { readonly kind: 'file'; readonly path: string } | { readonly kind: 'pipe'; readonly command: string } {
  let a = arg.trim();
  if (a.length >= 2 && a.startsWith('"') && a.endsWith('"')) a = a.slice(1, -1);
  a = a.replace(/""/g, '"');
  return a.startsWith('|') ? { kind: 'pipe', command: a.slice(1).trim() } : { kind: 'file', path: a };
}
