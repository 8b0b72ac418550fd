/**
 * @module policy/relay-target
 *
 * Is a recipient one that this server accepts mail FOR, whoever sends it?
 * (`relay-domain` and `relay-address`: bounce, feedback-loop and
 * unsubscribe domains.) The session's other ways to relay — an
 * authenticated user, `always-allow-relaying` on its `<source>` — are
 * decided by the relay policy that calls this.
 *
 * Invariant: the decision uses the parsed routing domain of the address
 * (what `smtp/address.ts` returns), never text inside the local part, so
 * `user%evil.com@good.com` and `"a@evil.com"@good.com` are judged by
 * `good.com` only.
 */
import type { PetrelConfig } from '../config/model.js';
import { values } from '../config/model.js';
import type { AddressPattern, DomainPattern } from '../config/types.js';
import { matchDomainPattern } from '../config/values.js';

export interface RelayTargetMatch {
  readonly rule: 'relay-domain' | 'relay-address';
  readonly text: string;
}

/** The rule that makes `local@domain` a local relay target, or undefined. */
export function matchRelayTarget(config: PetrelConfig, local: string, domain: string): RelayTargetMatch | undefined {
  const d = domain.toLowerCase().replace(/\.$/, '');
  for (const p of values<DomainPattern>(config.global, 'relay-domain')) {
    if (matchDomainPattern(p, d, config.domainMacros)) return { rule: 'relay-domain', text: p.text };
  }
  const address = `${local}@${d}`;
  const lower = address.toLowerCase();
  for (const p of values<AddressPattern>(config.global, 'relay-address')) {
    if (p.kind === 'exact' ? p.address === lower : p.regex.test(address)) return { rule: 'relay-address', text: p.text };
  }
  return undefined;
}
