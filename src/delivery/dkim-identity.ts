/**
 * @module delivery/dkim-identity
 *
 * The signing identity of `dkim-identity` / `dkim-identity-fallback`: which
 * domain's key signs a message.
 *
 *   sender-or-from   the domain of the `Sender:` header when the message has
 *                    one, else of `From:` (the default, as in PowerMTA);
 *   @domain          that domain, whatever the headers say;
 *   user@domain      that domain, and the address becomes the signature's
 *                    `i=` (agent or user identifier, RFC 6376 §3.5);
 *   domain           a bare domain, read as `@domain`;
 *   mail-from        (Petrel extension) the domain of the envelope sender.
 *
 * Header addresses are read leniently: quoted strings and comments are
 * skipped, the first `<addr-spec>` wins, else the first address of the list;
 * group syntax (`team: a@b.example;`) is understood. Only the domain is used
 * for `sender-or-from`, so an odd local part does not matter.
 *
 * Exports: `DkimIdentity`, `parseDkimIdentity`, `headerValue`,
 * `addressDomain`, `resolveIdentityDomain`.
 */
import type { ParsedHeaderLine } from 'mailauth/lib/dkim/header/index.js';
import { normaliseDomain } from './dkim-keys.js';

export type DkimIdentity =
  | { readonly kind: 'sender-or-from' }
  | { readonly kind: 'mail-from' }
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'address'; readonly address: string; readonly domain: string };

const DOMAIN_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

/** Reads a `dkim-identity` value; undefined when it is none of the documented forms. */
export function parseDkimIdentity(word: string): DkimIdentity | undefined {
  const w = word.trim();
  const lower = w.toLowerCase();
  if (lower === 'sender-or-from') return { kind: 'sender-or-from' };
  if (lower === 'mail-from') return { kind: 'mail-from' };
  const at = w.lastIndexOf('@');
  if (at === 0) {
    const domain = normaliseDomain(w.slice(1));
    return DOMAIN_RE.test(domain) ? { kind: 'domain', domain } : undefined;
  }
  if (at > 0) {
    const domain = normaliseDomain(w.slice(at + 1));
    return DOMAIN_RE.test(domain) ? { kind: 'address', address: `${w.slice(0, at)}@${domain}`, domain } : undefined;
  }
  const domain = normaliseDomain(w);
  return DOMAIN_RE.test(domain) ? { kind: 'domain', domain } : undefined;
}

/** The unfolded value of the last field named `name` (header names are case-insensitive), or undefined. */
export function headerValue(headers: readonly ParsedHeaderLine[], name: string): string | undefined {
  const key = name.toLowerCase();
  for (let i = headers.length - 1; i >= 0; i--) {
    const h = headers[i]!;
    if (h.key !== key) continue;
    const line = h.line.toString('latin1');
    const colon = line.indexOf(':');
    return line.slice(colon + 1).replace(/\r?\n/g, '').trim();
  }
  return undefined;
}

/** The domain of the first address in an address header value (`"Name" <a@b.example>` → `b.example`). */
export function addressDomain(value: string): string | undefined {
  let v = value.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // comments nest (RFC 5322 §3.2.2): strip innermost first
  for (let prev = ''; prev !== v; ) {
    prev = v;
    v = v.replace(/\([^()]*\)/g, ' ');
  }
  const angle = /<([^<>]*)>/.exec(v);
  let addr = angle ? angle[1]! : (v.split(',')[0] ?? '');
  if (!angle && addr.includes(':')) addr = addr.slice(addr.lastIndexOf(':') + 1);
  addr = addr.replace(/;$/, '').trim();
  // a source route (<@relay:a@b>) keeps only the mailbox
  if (addr.includes(':')) addr = addr.slice(addr.lastIndexOf(':') + 1);
  const at = addr.lastIndexOf('@');
  if (at < 0) return undefined;
  const domain = normaliseDomain(addr.slice(at + 1));
  return DOMAIN_RE.test(domain) ? domain : undefined;
}

/**
 * The domain an identity designates for this message, and the `i=` value it
 * implies (only an explicit address has one); or why there is none.
 */
export function resolveIdentityDomain(
  identity: DkimIdentity,
  headers: readonly ParsedHeaderLine[],
  mailFrom: string,
): { readonly domain: string; readonly auid?: string } | { readonly reason: string } {
  switch (identity.kind) {
    case 'domain':
      return { domain: identity.domain };
    case 'address':
      return { domain: identity.domain, auid: identity.address };
    case 'mail-from': {
      const d = addressDomain(`<${mailFrom.replace(/^<|>$/g, '')}>`);
      return d ? { domain: d } : { reason: mailFrom === '' || mailFrom === '<>' ? 'the envelope sender is empty' : `no domain in the envelope sender '${mailFrom}'` };
    }
    case 'sender-or-from': {
      const sender = headerValue(headers, 'sender');
      if (sender !== undefined) {
        const d = addressDomain(sender);
        return d ? { domain: d } : { reason: `no address domain in the Sender: header` };
      }
      const from = headerValue(headers, 'from');
      if (from === undefined) return { reason: 'the message has no From: header' };
      const d = addressDomain(from);
      return d ? { domain: d } : { reason: 'no address domain in the From: header' };
    }
  }
}
