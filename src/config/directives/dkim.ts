/**
 * @module config/directives/dkim
 *
 * DKIM (RFC 6376): key registration with `domain-key` (global or per
 * virtual MTA) and the signing options of `<domain>`. Exports
 * `DKIM_DIRECTIVES`.
 *
 * `domain-key` has `checkFile`: its key file is the `keyFile` field of the
 * parsed value, and the loader checks that one.
 */
import type { Spec } from './spec.js';

const SIGN_VALUES = ['yes', 'no', 'true', 'false', 'if-x-dkim-options-present'] as const;

export const DKIM_DIRECTIVES: readonly Spec[] = [
  {
    name: 'domain-key',
    scopes: ['global', 'virtual-mta'],
    type: 'domain-key',
    repeatable: true,
    checkFile: true,
    area: 'dkim',
    status: 'implemented',
    doc: 'Registers a signing key: `SELECTOR,DOMAIN,KEYFILE` (DOMAIN may be `*`).',
  },
  {
    name: 'dkim-sign',
    scopes: ['domain'],
    type: 'enum',
    enumValues: SIGN_VALUES,
    area: 'dkim',
    status: 'implemented',
    doc: 'Signs outgoing mail with the registered key for the signing identity\'s domain.',
  },
  {
    name: 'dkim-identity',
    scopes: ['domain'],
    type: 'word',
    area: 'dkim',
    status: 'implemented',
    doc: 'Signing identity: `sender-or-from`, `@domain` or an address; picks which domain-key is used.',
  },
  {
    name: 'dkim-identity-fallback',
    scopes: ['domain'],
    type: 'word',
    area: 'dkim',
    status: 'implemented',
    doc: 'Identity to sign with when no key matches `dkim-identity`.',
  },
  {
    name: 'dkim-algorithm',
    scopes: ['domain'],
    type: 'enum',
    enumValues: ['rsa-sha1', 'rsa-sha256', 'ed25519-sha256'],
    default: 'rsa-sha256',
    area: 'dkim',
    status: 'implemented',
    doc: 'Signature algorithm; `ed25519-sha256` (RFC 8463) is a Petrel extension.',
  },
  {
    name: 'dkim-body-canon',
    scopes: ['domain'],
    type: 'enum',
    enumValues: ['simple', 'relaxed'],
    area: 'dkim',
    status: 'implemented',
    doc: 'Body canonicalization (RFC 6376 §3.4).',
  },
  {
    name: 'dkim-headers-canon',
    scopes: ['domain'],
    type: 'enum',
    enumValues: ['simple', 'relaxed'],
    area: 'dkim',
    status: 'implemented',
    doc: 'Header canonicalization (RFC 6376 §3.4).',
  },
  {
    name: 'dkim-headers',
    scopes: ['domain'],
    type: 'string-list',
    area: 'dkim',
    status: 'implemented',
    doc: 'Extra headers to sign (`List-Unsubscribe, Feedback-ID`).',
  },
  {
    name: 'dkim-disallow-adding-headers',
    // Value syntax not published (flag or header list); kept as text until verified.
    scopes: ['domain'],
    type: 'free',
    area: 'dkim',
    status: 'implemented',
    doc: 'Over-signs headers so that adding another copy later breaks the signature (anti-replay).',
  },
  {
    name: 'dkim-add-body-limit',
    scopes: ['domain'],
    type: 'bool',
    area: 'dkim',
    status: 'implemented',
    doc: 'Adds the `l=` body length tag.',
  },
  {
    name: 'dkim-add-timestamp',
    scopes: ['domain'],
    type: 'bool',
    area: 'dkim',
    status: 'implemented',
    doc: 'Adds the `t=` signing time tag.',
  },
  {
    name: 'dkim-expire-after',
    scopes: ['domain'],
    type: 'duration',
    area: 'dkim',
    status: 'implemented',
    doc: 'Adds an `x=` expiry this long after signing.',
  },
  {
    name: 'dkim-query-method',
    scopes: ['domain'],
    type: 'word',
    area: 'dkim',
    status: 'recognised',
    doc: 'Value of the `q=` tag (`dns/txt`).',
  },
  {
    name: 'second-dkim-sign',
    scopes: ['domain'],
    type: 'enum',
    enumValues: SIGN_VALUES,
    area: 'dkim',
    status: 'recognised',
    doc: 'Adds a second DKIM signature (4.5+), e.g. one for the ESP domain besides the author\'s.',
  },
  {
    name: 'second-dkim-identity',
    scopes: ['domain'],
    type: 'word',
    area: 'dkim',
    status: 'recognised',
    doc: 'Signing identity of the second signature.',
  },
  {
    name: 'dk-sign',
    scopes: ['domain'],
    type: 'bool',
    area: 'dkim',
    status: 'recognised',
    doc: 'Legacy DomainKeys signing (RFC 4870, historic).',
  },
];
