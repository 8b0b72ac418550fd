/**
 * @module policy/relay
 *
 * May this session relay to this recipient? (DESIGN invariant 4.)
 * A recipient is accepted only when one of these holds:
 *   - the session is authenticated;
 *   - the session's `<source>` has `always-allow-relaying yes`;
 *   - the recipient is a local relay target: `relay-domain` (exact or
 *     `[*.]`) or `relay-address` (exact or `/regex/`).
 * Otherwise: `550 5.7.1 Relaying denied`.
 *
 * The decision uses the parsed routing domain of the address
 * (`smtp/address.ts`: source routes dropped, `%` and `!` kept in the local
 * part, quoted local parts unquoted, case folded, trailing dot removed), so
 * no routing trick in the local part can open a relay. `<postmaster>`
 * (RFC 5321 §4.5.1) is always accepted: it is this host's own mailbox.
 *
 * Exports: `Verdict`, `relayVerdict`, `mailFromVerdict`.
 */
import type { PetrelConfig } from '../config/model.js';
import type { ForwardPath } from '../smtp/address.js';
import { reply } from '../smtp/enhanced-codes.js';
import type { Reply } from '../smtp/reply.js';
import { matchRelayTarget } from './relay-target.js';
import type { SessionPolicy } from './session-policy.js';

/** A refusal: the reply to send, and whether to close the connection after it. */
export interface Verdict {
  readonly reply: Reply;
  readonly disconnect?: boolean;
}

export type RelayReason = 'authenticated' | 'always-allow-relaying' | 'relay-domain' | 'relay-address' | 'postmaster';

export function relayVerdict(
  config: PetrelConfig,
  policy: SessionPolicy,
  authenticated: boolean,
  path: ForwardPath,
): { readonly ok: true; readonly reason: RelayReason } | { readonly ok: false; readonly verdict: Verdict } {
  if (path.kind === 'postmaster') return { ok: true, reason: 'postmaster' };
  if (authenticated) return { ok: true, reason: 'authenticated' };
  if (policy.bool('always-allow-relaying', false)) return { ok: true, reason: 'always-allow-relaying' };
  const m = path.mailbox;
  const target = matchRelayTarget(config, m.localValue, m.domainKind === 'name' ? m.asciiDomain : `[${m.domain}]`);
  if (target) return { ok: true, reason: target.rule };
  return { ok: false, verdict: { reply: reply('RELAY_DENIED', `Relaying denied for <${m.text}>`) } };
}

/** Checks at MAIL FROM: `require-auth` refuses unauthenticated mail from the source entirely. */
export function mailFromVerdict(policy: SessionPolicy, authenticated: boolean): Verdict | undefined {
  if (!authenticated && policy.bool('require-auth', false)) return { reply: reply('AUTH_REQUIRED', 'Authentication required') };
  return undefined;
}
