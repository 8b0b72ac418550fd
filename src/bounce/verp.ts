/**
 * @module bounce/verp
 *
 * VERP return paths in PowerMTA's shape (reference/powermta.md §2.16): the recipient's `@` becomes
 * `=` and is appended to the sender's local part: `news-user=gmail.com@bounce.example.com` stands for
 * `user@gmail.com`.
 *
 * Exports:
 *  - `parseVerp(address, bounceDomain?)` → `{ prefix, recipient }` or `undefined`.
 *  - `decodeVerp(address, bounceDomain?)` → the recipient (`user@gmail.com`) or `undefined`.
 *  - `encodeVerp(prefix, recipient, bounceDomain)` → the return path.
 *
 * Decoding rules (documented choices):
 *  - `<…>` around the address is allowed; the bounce domain, when given, must equal the address's
 *    domain (case-insensitive), otherwise the address is not ours and `undefined` is returned;
 *  - the recipient's domain is what follows the LAST `=` of the local part and must be a domain
 *    name with at least one dot (so SRS addresses `SRS0=hash=tt=domain=user@…` are refused);
 *  - the prefix ends at the FIRST `-` or `+` (`bounces+john-doe=x.org` → `john-doe@x.org`,
 *    `news-john+tag=x.org` → `john+tag@x.org`); without either, the whole rest is the user (empty
 *    prefix). A sender local part that itself contains `-` is therefore read wrongly; pass a VERP
 *    prefix without `-` if that matters.
 * Never throws.
 */

export interface Verp {
  readonly prefix: string;
  readonly recipient: string;
}

const DOMAIN = /^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

export function parseVerp(address: string, bounceDomain?: string): Verp | undefined {
  if (typeof address !== 'string' || address.length > 1024) return undefined;
  let text = address.trim();
  if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1).trim();
  const at = text.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (bounceDomain !== undefined && domain.toLowerCase() !== bounceDomain.trim().toLowerCase().replace(/\.$/, '')) return undefined;
  if (/^SRS[01][=+-]/i.test(local) || local.includes('@') || local.startsWith('"')) return undefined;
  const eq = local.lastIndexOf('=');
  if (eq <= 0) return undefined;
  const rcptDomain = local.slice(eq + 1);
  if (!DOMAIN.test(rcptDomain)) return undefined;
  const head = local.slice(0, eq);
  const sep = head.search(/[-+]/);
  const prefix = sep >= 0 ? head.slice(0, sep) : '';
  const user = sep >= 0 ? head.slice(sep + 1) : head;
  if (user === '' || /[\s<>]/.test(user)) return undefined;
  return { prefix, recipient: `${user}@${rcptDomain}` };
}

export function decodeVerp(address: string, bounceDomain?: string): string | undefined {
  return parseVerp(address, bounceDomain)?.recipient;
}

export function encodeVerp(prefix: string, recipient: string, bounceDomain: string): string {
  const at = recipient.lastIndexOf('@');
  const local = at >= 0 ? recipient.slice(0, at) : recipient;
  const domain = at >= 0 ? recipient.slice(at + 1) : '';
  return `${prefix}-${local}=${domain}@${bounceDomain}`;
}
