/**
 * @module policy/vmta
 *
 * Which virtual MTA a message goes out through, decided once its headers
 * are in (PowerMTA's order):
 *   1. the `X-Virtual-MTA:` header, when the source has `process-x-virtual-mta yes`;
 *   2. the source's `<pattern-list>`: the first `mail-from`, `header` or
 *      `rcpt-to` rule whose regex matches (`rcpt-to` rules look at the first
 *      recipient; a message is queued under one VMTA) and has `virtual-mta=`;
 *   3. the source's (or authenticated user's) `default-virtual-mta`;
 *   4. none: the queue is `domain/{default}`.
 * A name that is neither a `<virtual-mta>` nor a `<virtual-mta-pool>` goes
 * to `{default}` with a warning, never a crash. A pool picks one member per
 * message, round robin.
 *
 * Exports: `VmtaChoice`, `VmtaSelector`.
 */
import type { PetrelConfig } from '../config/model.js';
import type { PatternRule, HeaderPatternRule } from '../config/types.js';
import type { SessionPolicy } from './session-policy.js';

export interface VmtaChoice {
  /** The VMTA to queue under; undefined means `{default}`. */
  readonly vmta?: string;
  /** The pool it was picked from, if any. */
  readonly pool?: string;
  /** How it was chosen: 'header', 'pattern-list', 'default-virtual-mta', or 'none'. */
  readonly how: 'header' | 'pattern-list' | 'default-virtual-mta' | 'none';
  /** Set when a name was asked for that does not exist. */
  readonly warning?: string;
}

export interface MessageFacts {
  readonly mailFrom: string;
  readonly firstRecipient: string;
  readonly header: (lowerName: string) => string | undefined;
}

export class VmtaSelector {
  #rr = new Map<string, number>();

  constructor(private readonly config: PetrelConfig) {}

  select(policy: SessionPolicy, facts: MessageFacts): VmtaChoice {
    if (policy.bool('process-x-virtual-mta', false)) {
      const h = facts.header('x-virtual-mta');
      if (h) return this.#resolve(h.trim(), 'header');
    }
    const listName = policy.get<string>('pattern-list');
    const list = listName ? this.config.patternLists.get(listName) : undefined;
    if (list) {
      const rules: Array<{ kind: string; rule: PatternRule | HeaderPatternRule; line: number }> = [];
      for (const kind of ['mail-from', 'rcpt-to', 'header']) {
        for (const s of list.settings.get(kind) ?? []) rules.push({ kind, rule: s.value as PatternRule, line: s.pos.line });
      }
      rules.sort((a, b) => a.line - b.line);
      for (const { kind, rule } of rules) {
        const target = rule.actions.find((a) => a.key === 'virtual-mta')?.value;
        if (!target) continue;
        let subject: string | undefined;
        if (kind === 'mail-from') subject = `<${facts.mailFrom}>`;
        else if (kind === 'rcpt-to') subject = `<${facts.firstRecipient}>`;
        else subject = facts.header((rule as HeaderPatternRule).header.toLowerCase());
        if (subject !== undefined && rule.regex.test(subject)) return this.#resolve(target, 'pattern-list');
      }
    }
    const dflt = policy.get<string>('default-virtual-mta');
    if (dflt) return this.#resolve(dflt, 'default-virtual-mta');
    return { how: 'none' };
  }

  #resolve(name: string, how: VmtaChoice['how']): VmtaChoice {
    if (name === '{default}') return { how };
    if (this.config.vmtas.has(name)) return { vmta: name, how };
    const pool = this.config.pools.get(name);
    if (pool && pool.members.length > 0) {
      const i = this.#rr.get(name) ?? 0;
      this.#rr.set(name, (i + 1) % pool.members.length);
      return { vmta: pool.members[i % pool.members.length]!, pool: name, how };
    }
    return { how, warning: `virtual-mta '${name}' is not defined; the message goes to {default}` };
  }
}
