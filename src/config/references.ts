/**
 * @module config/references
 *
 * Cross-reference checks run once every block is known: names used in one
 * place must be defined in another. `checkReferences(config)` returns the
 * diagnostics; it changes nothing.
 *
 *   error:   a pool member that is not a <virtual-mta>; an smtp-user's
 *            `source NAME` with no <source NAME>; `pattern-list`,
 *            `smtp-pattern-list`, `rewrite-list` naming an undefined list;
 *            a listener's `source=NAME` with no <source NAME>;
 *   warning: `default-virtual-mta` / `virtual-mta=` naming an undefined VMTA
 *            or pool (mail goes to {default}, as PowerMTA does).
 */
import type { ConfigBlock, PetrelConfig, SettingValue } from './model.js';
import type { Diagnostic, Listener, PatternRule } from './types.js';

export function checkReferences(cfg: PetrelConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  const namedSources = new Set(cfg.sources.filter((s) => s.match.kind === 'name').map((s) => (s.match as { name: string }).name));
  const isVmtaOrPool = (n: string): boolean => cfg.vmtas.has(n) || cfg.pools.has(n) || n === '{default}';

  for (const pool of cfg.pools.values()) {
    for (const s of pool.block.settings.get('virtual-mta') ?? []) {
      const name = String(s.value);
      if (!cfg.vmtas.has(name)) {
        out.push({
          severity: 'error',
          pos: s.valuePos,
          message: `<virtual-mta-pool ${pool.name}> names undefined virtual-mta '${name}'`,
          text: name,
          expected: `one of: ${[...cfg.vmtas.keys()].join(', ') || '(no <virtual-mta> is defined)'}`,
        });
      }
    }
  }

  for (const [user, block] of cfg.smtpUsers) {
    for (const s of block.settings.get('source') ?? []) {
      const name = String(s.value);
      if (!namedSources.has(name)) {
        out.push({ severity: 'error', pos: s.valuePos, message: `<smtp-user ${user}> names undefined source '${name}'`, text: name, expected: `a <source ${name}> block` });
      }
    }
  }

  for (const s of cfg.global.settings.get('smtp-listener') ?? []) {
    const l = s.value as Listener;
    const src = l.options['source'];
    if (src !== undefined && !namedSources.has(src)) {
      out.push({ severity: 'error', pos: s.valuePos, message: `smtp-listener ${l.text} names undefined source '${src}'`, text: src, expected: `a <source ${src}> block` });
    }
  }

  const everyBlock = allBlocks(cfg);
  // Merged blocks share SettingValue objects with the blocks they came from: report each line once.
  const seen = new Set<SettingValue>();
  const once = (list: readonly SettingValue[] | undefined): SettingValue[] => (list ?? []).filter((s) => (seen.has(s) ? false : (seen.add(s), true)));
  const listRefs: Array<[string, ReadonlyMap<string, ConfigBlock>, string]> = [
    ['pattern-list', cfg.patternLists, 'pattern-list'],
    ['smtp-pattern-list', cfg.smtpPatternLists, 'smtp-pattern-list'],
    ['rewrite-list', cfg.rewriteLists, 'rewrite-list'],
  ];
  for (const block of everyBlock) {
    for (const [directive, map, kind] of listRefs) {
      if (block.scope === kind) continue; // inside the list itself (nested pattern lists are checked below)
      for (const s of once(block.settings.get(directive))) {
        if (s.cleared) continue;
        const name = String(s.value);
        if (!map.has(name)) out.push({ severity: 'error', pos: s.valuePos, message: `${directive} '${name}' is not defined`, text: name, expected: `a <${kind} ${name}> block` });
      }
    }
    for (const s of once(block.settings.get('default-virtual-mta'))) warnVmta(s, String(s.value));
    if (block.scope === 'pattern-list') {
      for (const name of ['mail-from', 'rcpt-to', 'header']) {
        for (const s of once(block.settings.get(name))) {
          for (const a of (s.value as PatternRule).actions) if (a.key === 'virtual-mta' && a.value) warnVmta(s, a.value);
        }
      }
    }
  }
  return out;

  function warnVmta(s: SettingValue, name: string): void {
    if (s.cleared || isVmtaOrPool(name)) return;
    out.push({ severity: 'warning', pos: s.valuePos, message: `virtual-mta '${name}' is not defined; such mail goes to {default}`, text: name });
  }
}

function allBlocks(cfg: PetrelConfig): ConfigBlock[] {
  const out: ConfigBlock[] = [];
  const walk = (b: ConfigBlock): void => {
    out.push(b);
    b.children.forEach(walk);
  };
  walk(cfg.global);
  return out;
}
