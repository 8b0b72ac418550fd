/**
 * @module config/directives
 *
 * THE directive table: every directive Petrel reads, with its scopes, value
 * type, PowerMTA default, status and one-line doc. Parsing, validation,
 * `docs/configuration.md` and `petrel show settings` all come from here
 * (STYLE.md habit 10). The rows live in `directives/*.ts`, one file per
 * area; this module joins them and answers lookups.
 *
 * Exports:
 *  - `DIRECTIVES`: the table (frozen).
 *  - `findDirective(name, scope)`: the spec for a name (case-insensitive,
 *    aliases honoured) valid in that scope, or undefined.
 *  - `directivesNamed(name)`: every spec of that name, any scope (for
 *    "`mail-from` is allowed in <pattern-list>, <rewrite-list>").
 *  - `allDirectiveNames()`: the sorted canonical names.
 *  - `suggestDirective(name, scope?)`: a "did you mean" candidate.
 *  - `BLOCKS`, `AREAS`, `KNOWN_FAKE_DIRECTIVES`, `KNOWN_FAKE_BLOCKS`.
 *
 * Invariants (tested): a (name-or-alias, scope) pair identifies at most one
 * spec, so a name may repeat only with disjoint scopes (`mail-from` in
 * `<pattern-list>` and `<rewrite-list>`); every `default` parses with its
 * type; `status: 'implemented'` only where code acts on the directive.
 */
import type { DirectiveSpec, ScopeName } from './types.js';
import { ACCOUNTING_DIRECTIVES } from './directives/accounting.js';
import { BLOCK_DIRECTIVES } from './directives/blocks.js';
import { DKIM_DIRECTIVES } from './directives/dkim.js';
import { DOMAIN_DIRECTIVES } from './directives/domain.js';
import { DOMAIN_ROUTING_DIRECTIVES } from './directives/domain-routing.js';
import { GLOBAL_DIRECTIVES } from './directives/global.js';
import { LOGGING_DIRECTIVES } from './directives/logging.js';
import { SOURCE_DIRECTIVES } from './directives/source.js';
import { TLS_DIRECTIVES } from './directives/tls.js';

export { AREAS } from './directives/areas.js';
export type { AreaInfo, AreaName } from './directives/areas.js';
export { BLOCKS } from './directives/scopes.js';
export type { BlockInfo } from './directives/scopes.js';
export { KNOWN_FAKE_BLOCKS, KNOWN_FAKE_DIRECTIVES } from './directives/fake.js';

export const DIRECTIVES: readonly DirectiveSpec[] = Object.freeze([
  ...GLOBAL_DIRECTIVES,
  ...SOURCE_DIRECTIVES,
  ...TLS_DIRECTIVES,
  ...DOMAIN_DIRECTIVES,
  ...DOMAIN_ROUTING_DIRECTIVES,
  ...DKIM_DIRECTIVES,
  ...LOGGING_DIRECTIVES,
  ...BLOCK_DIRECTIVES,
  ...ACCOUNTING_DIRECTIVES,
]);

/** Lower-cased name or alias → specs answering to it. Built once; the table is static. */
const BY_NAME: ReadonlyMap<string, readonly DirectiveSpec[]> = (() => {
  const map = new Map<string, DirectiveSpec[]>();
  for (const spec of DIRECTIVES) {
    for (const key of [spec.name, ...(spec.aliases ?? [])]) {
      const k = key.toLowerCase();
      const list = map.get(k);
      if (list) list.push(spec);
      else map.set(k, [spec]);
    }
  }
  return map;
})();

/**
 * The spec for `name` valid in `scope`. Names are case-insensitive because
 * real configs write `Pickup`; aliases (old names) resolve to the current spec.
 */
export function findDirective(name: string, scope: ScopeName): DirectiveSpec | undefined {
  return BY_NAME.get(name.toLowerCase())?.find((spec) => spec.scopes.includes(scope));
}

/** Every spec answering to `name` (or an alias of it), in any scope; empty when the name is unknown. */
export function directivesNamed(name: string): readonly DirectiveSpec[] {
  return BY_NAME.get(name.toLowerCase()) ?? [];
}

/** Canonical directive names, sorted, each once (aliases excluded). */
export function allDirectiveNames(): readonly string[] {
  return [...new Set(DIRECTIVES.map((spec) => spec.name))].sort();
}

/** Optimal string alignment distance: Levenshtein plus adjacent transposition (`mxa-smtp-out`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * A "did you mean" for an unknown `name`: the closest directive name (or
 * alias) within edit distance 2 (1 for names of five letters or fewer, where
 * 2 edits match almost anything), or one the name is a truncation or
 * extension of (`max-smtp` → `max-smtp-out`). Names valid in `scope` are
 * preferred, then the smaller distance, then the shorter name. Returns the
 * canonical name; undefined when nothing is close.
 */
export function suggestDirective(name: string, scope?: ScopeName): string | undefined {
  const wanted = name.toLowerCase();
  const limit = wanted.length <= 5 ? 1 : 2;
  let best: { name: string; inScope: boolean; score: number } | undefined;
  for (const [key, specs] of BY_NAME) {
    if (key === wanted) continue;
    let score = editDistance(wanted, key);
    if (score > limit) {
      // Prefix matches rank after every real typo match.
      const prefix =
        (wanted.length >= 6 && key.startsWith(wanted)) || (key.length >= 6 && wanted.startsWith(`${key}-`));
      if (!prefix) continue;
      score = limit + 1;
    }
    for (const spec of specs) {
      const inScope = scope === undefined || spec.scopes.includes(scope);
      const better =
        best === undefined ||
        (inScope && !best.inScope) ||
        (inScope === best.inScope &&
          (score < best.score ||
            (score === best.score &&
              (spec.name.length < best.name.length ||
                (spec.name.length === best.name.length && spec.name < best.name)))));
      if (better) best = { name: spec.name, inScope, score };
    }
  }
  return best?.name;
}
