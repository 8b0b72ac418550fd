/**
 * @module delivery/dane
 *
 * DANE for SMTP (RFC 7672) on top of TLSA records (RFC 6698): whether a
 * host must be reached over authenticated TLS (`daneState`), and whether a
 * server's certificate chain matches its TLSA records (`daneCheck`, which
 * plugs into the SMTP client's `checkCertificate` hook).
 *
 * Exports:
 *  - `daneState(resolver, host, opts?)` → `DaneState`:
 *      `secure-tlsa`   usable records, DNSSEC-validated: TLS mandatory, verify by DANE;
 *      `unusable-tlsa` validated records, none usable: TLS mandatory, no
 *                      authentication (RFC 7672 §2.2; Postfix "encrypt");
 *      `no-tlsa`       insecure or absent: the domain's normal TLS policy;
 *      `temp-fail`     the lookup failed: this host is unusable now (RFC 7672 §2.2).
 *  - `daneCheck(records, peer, opts?)` → undefined when a record matches, or
 *    the reason none did.
 *  - `usableTlsa(records)`, `tlsaMatches(record, certDer)`, `DaneState`.
 *
 * Rules (RFC 7672 §3.1):
 *  - Only DANE-TA(2) and DANE-EE(3) are usable; PKIX-TA(0) / PKIX-EE(1) are
 *    treated as unusable for SMTP (§3.1.3), as are unknown selectors or
 *    matching types and digests of the wrong length (RFC 6698 §2.1).
 *  - DANE-EE(3) matches the leaf only; its names and dates are not checked
 *    (§3.1.1).
 *  - DANE-TA(2) matches a certificate the server sent above the leaf; the
 *    chain from the leaf up to it must verify (issuer names and signatures),
 *    the leaf and intermediates must be within their validity dates, and the
 *    leaf must carry one of the reference names (§3.2.2: the MX host name,
 *    wildcards allowed per §3.2.3).
 *  - XXX a DANE-TA SPKI record for a trust anchor the server did not send
 *    (RFC 7672 §3.1.2 says servers SHOULD send it) is not supported.
 *
 * Trust: TLSA answers count only with the AD bit set by the configured
 * resolver, which Petrel trusts (RFC 7672 §2.1); see `resolver.ts`.
 */

import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import type { MxResolver, ResolvedMxHost, TlsaRecord } from './resolver.js';

export type DaneState =
  | { readonly state: 'secure-tlsa'; readonly records: readonly TlsaRecord[] }
  | { readonly state: 'unusable-tlsa'; readonly records: readonly TlsaRecord[] }
  | { readonly state: 'no-tlsa'; readonly reason: string }
  | { readonly state: 'temp-fail'; readonly detail: string };

const DIGEST_LENGTH: Record<number, number> = { 1: 32, 2: 64 };
const MAX_CHAIN = 16;

/** The records DANE for SMTP may use (RFC 7672 §3.1, RFC 6698 §2.1). */
export function usableTlsa(records: readonly TlsaRecord[]): TlsaRecord[] {
  return records.filter((r) => {
    if (r.usage !== 2 && r.usage !== 3) return false;
    if (r.selector !== 0 && r.selector !== 1) return false;
    if (r.matchingType === 0) return r.data.length > 0;
    return DIGEST_LENGTH[r.matchingType] === r.data.length;
  });
}

/**
 * Decide how DANE applies to `host` (RFC 7672 §2.2). Pass the
 * `ResolvedMxHost` from `MxResolver.route` so an insecure MX or address
 * lookup short-circuits to `no-tlsa` without asking for TLSA (§2.2.1-2).
 */
export async function daneState(
  resolver: Pick<MxResolver, 'tlsa'>,
  host: string | ResolvedMxHost,
  opts: { port?: number } = {},
): Promise<DaneState> {
  if (typeof host !== 'string' && !host.authenticated) {
    return { state: 'no-tlsa', reason: `the DNS records naming ${host.host} are not DNSSEC-validated` };
  }
  const name = typeof host === 'string' ? host : host.host;
  const answer = await resolver.tlsa(opts.port ?? 25, name);
  switch (answer.kind) {
    case 'temp-fail':
      return { state: 'temp-fail', detail: answer.detail };
    case 'none':
      return { state: 'no-tlsa', reason: answer.authenticated ? `no TLSA records for ${name}` : `no validated TLSA records for ${name}` };
    case 'records': {
      if (!answer.authenticated) return { state: 'no-tlsa', reason: `TLSA records for ${name} are not DNSSEC-validated (AD bit clear)` };
      const usable = usableTlsa(answer.records);
      return usable.length > 0 ? { state: 'secure-tlsa', records: usable } : { state: 'unusable-tlsa', records: answer.records };
    }
  }
}

/** Does `record` match the certificate `der` (RFC 6698 §2.1.2-3)? */
export function tlsaMatches(record: TlsaRecord, der: Buffer): boolean {
  let data: Buffer;
  if (record.selector === 0) {
    data = der;
  } else if (record.selector === 1) {
    data = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  } else {
    return false;
  }
  switch (record.matchingType) {
    case 0:
      return data.equals(record.data);
    case 1:
      return createHash('sha256').update(data).digest().equals(record.data);
    case 2:
      return createHash('sha512').update(data).digest().equals(record.data);
    default:
      return false;
  }
}

/** The certificates the server sent, leaf first, from `getPeerCertificate(true)`. */
function chainOf(peer: PeerCertificate | DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  let cur: PeerCertificate | undefined = peer;
  const seen = new Set<PeerCertificate>();
  while (cur && cur.raw && !seen.has(cur) && out.length < MAX_CHAIN) {
    seen.add(cur);
    out.push(new X509Certificate(cur.raw));
    const next: PeerCertificate | undefined = (cur as Partial<DetailedPeerCertificate>).issuerCertificate;
    if (!next || next === cur || next.fingerprint256 === cur.fingerprint256) break;
    cur = next;
  }
  return out;
}

function inValidity(cert: X509Certificate, nowMs: number): boolean {
  return Date.parse(cert.validFrom) <= nowMs && nowMs <= Date.parse(cert.validTo);
}

/**
 * Judge the server's certificate chain against TLSA records (RFC 7672 §3).
 * `peer` is `socket.getPeerCertificate(true)` (with `issuerCertificate`
 * links). `hostnames` are the reference identifiers for DANE-TA (the MX
 * host name, optionally the next-hop domain). Returns undefined on a match,
 * or why nothing matched.
 */
export function daneCheck(
  records: readonly TlsaRecord[],
  peer: PeerCertificate | DetailedPeerCertificate,
  opts: { hostnames?: readonly string[]; clock?: Clock } = {},
): string | undefined {
  const usable = usableTlsa(records);
  if (usable.length === 0) return 'no usable TLSA records (only DANE-TA(2)/DANE-EE(3) count, RFC 7672 §3.1.3)';
  let chain: X509Certificate[];
  try {
    chain = chainOf(peer);
  } catch (err) {
    return `unreadable server certificate: ${(err as Error).message}`;
  }
  const leaf = chain[0];
  if (!leaf) return 'the server presented no certificate';

  // DANE-EE(3): the leaf itself; no name or date checks (RFC 7672 §3.1.1).
  for (const r of usable) if (r.usage === 3 && tlsaMatches(r, leaf.raw)) return undefined;

  // DANE-TA(2): a certificate above the leaf, with a verified path down to the leaf (§3.1.2).
  const nowMs = (opts.clock ?? systemClock).now();
  const reasons: string[] = [];
  for (let i = 1; i < chain.length; i++) {
    const ta = chain[i] as X509Certificate;
    if (!usable.some((r) => r.usage === 2 && tlsaMatches(r, ta.raw))) continue;
    const problem = pathProblem(chain.slice(0, i + 1), nowMs) ?? nameProblem(leaf, opts.hostnames ?? []);
    if (problem === undefined) return undefined;
    reasons.push(problem);
  }
  if (reasons.length > 0) return `DANE-TA record matched but ${reasons.join('; ')}`;
  return `no TLSA record matches the certificate chain (leaf ${leaf.subject.replace(/\n/g, ', ')})`;
}

/** Each certificate below the trust anchor is issued and signed by the next, and within its dates. */
function pathProblem(path: readonly X509Certificate[], nowMs: number): string | undefined {
  for (let j = 0; j < path.length - 1; j++) {
    const cert = path[j] as X509Certificate;
    const issuer = path[j + 1] as X509Certificate;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) return `certificate ${j} is not signed by the next in the chain`;
    if (!inValidity(cert, nowMs)) return `certificate ${j} is outside its validity period`;
  }
  return undefined;
}

/** RFC 7672 §3.2.2: the leaf must name one of the reference identifiers. */
function nameProblem(leaf: X509Certificate, hostnames: readonly string[]): string | undefined {
  if (hostnames.length === 0) return 'no reference host name was given to check the certificate against';
  for (const h of hostnames) if (leaf.checkHost(h.replace(/\.$/, '')) !== undefined) return undefined;
  return `the certificate does not name ${hostnames.join(' or ')}`;
}
