/**
 * @module probe/recommend
 *
 * Which port to configure, from what `probe()` found. A pure function of
 * the facts (no I/O, no clock), so every branch of the reasoning is tested
 * with tables of made-up ports, including the ones loopback cannot produce
 * (a port that times out because a provider filters it).
 *
 * The reasoning (docs/probe.md):
 *  1. 587 with STARTTLS is the submission standard (RFC 6409): prefer it.
 *  2. 465 with implicit TLS (RFC 8314 made it the recommendation again):
 *     next, and "also works" beside 587.
 *  3. 2525 is not official but is the common fallback when 587 is blocked
 *     (cloud providers such as Google Compute Engine block outbound 587/25).
 *     Other ports the user named rank after it.
 *  4. 25 is for server-to-server relay: never recommended for submission;
 *     often blocked for clients by ISPs and cloud providers, which matters
 *     only if this machine must relay directly to MX hosts.
 *  5. A port with TLS beats one without, whatever its number: a port that
 *     answers only in clear is reported, not recommended, unless nothing else
 *     works.
 * Warnings: AUTH PLAIN/LOGIN offered before TLS (credentials in clear), no
 * STARTTLS on a submission port, a certificate that does not match the host,
 * is not trusted or is out of its validity dates, TLS 1.0/1.1 only.
 *
 * Exports: `PortFacts`, `factsOf(port)`, `Recommendation`, `recommend(facts)`,
 * `portLabel`, `isSubmissionRole`, `CLEAR_TEXT_MECHANISMS`.
 */

import type { ConnectOutcome, PortProbe, PortRole, PortStatus } from './probe.js';

/** What the recommendation needs to know about one port. */
export interface PortFacts {
  readonly port: number;
  /** The well-known port this one plays (587 for a submission service on 10587), or null. */
  readonly standard: number | null;
  readonly role: PortRole;
  readonly status: PortStatus;
  /** When blocked: how. */
  readonly connect?: ConnectOutcome;
  readonly connectErrorCode?: string;
  /** How TLS was obtained, when it was. */
  readonly via?: 'starttls' | 'implicit';
  readonly implicitTls: boolean;
  /** STARTTLS appeared in the clear EHLO (false for implicit-TLS ports). */
  readonly starttlsOffered: boolean;
  readonly authBeforeTls: readonly string[] | null;
  readonly authAfterTls: readonly string[] | null;
  readonly tlsProtocol?: string;
  readonly certificate?: {
    readonly checkedName: string;
    readonly names: readonly string[];
    readonly trusted: boolean;
    readonly trustError?: string;
    readonly nameMatches: boolean;
    readonly timeValid: boolean;
    readonly validFrom?: string;
    readonly validTo?: string;
  };
  /** Why the dialogue stopped, or why STARTTLS was refused. */
  readonly error?: string;
}

export interface Recommendation {
  /** At least one submission port (587, 465, 2525 or a custom one) works: the exit code is 0. */
  readonly ok: boolean;
  /** The port to configure, or null. */
  readonly use: { readonly port: number; readonly standard: number | null; readonly security: 'starttls' | 'implicit' | 'none' } | null;
  /** The advice in one line: `parts` joined by "; ". */
  readonly summary: string;
  readonly parts: readonly string[];
  readonly warnings: readonly string[];
}

/** Mechanisms that put the secret itself on the wire (base64 is not encryption). */
export const CLEAR_TEXT_MECHANISMS: ReadonlySet<string> = new Set(['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER']);

export function isSubmissionRole(role: PortRole): boolean {
  return role !== 'relay';
}

/** `587`, or `10587 (as 587)` when a port plays a well-known one. */
export function portLabel(p: { readonly port: number; readonly standard: number | null }): string {
  return p.standard === null || p.standard === p.port ? String(p.port) : `${p.port} (as ${p.standard})`;
}

/** The facts of a probed port. */
export function factsOf(p: PortProbe): PortFacts {
  const cert = p.tls?.certificate;
  return {
    port: p.port,
    standard: p.standard,
    role: p.role,
    status: p.status,
    connect: p.connect.outcome,
    ...(p.connect.errorCode !== undefined ? { connectErrorCode: p.connect.errorCode } : {}),
    ...(p.tls !== undefined ? { via: p.tls.via, tlsProtocol: p.tls.protocol } : {}),
    implicitTls: p.implicitTls,
    starttlsOffered: p.starttls?.offered === true,
    authBeforeTls: p.auth.beforeTls,
    authAfterTls: p.auth.afterTls,
    ...(p.tls !== undefined
      ? {
          certificate: {
            checkedName: p.tls.checkedName,
            names: cert ? [...new Set([...(cert.commonName !== null ? [cert.commonName] : []), ...cert.subjectAltNames.map((s) => s.replace(/^[^:]*:/, ''))])] : [],
            trusted: p.tls.trusted,
            ...(p.tls.trustError !== undefined ? { trustError: p.tls.trustError } : {}),
            nameMatches: p.tls.nameMatches,
            timeValid: p.tls.timeValid,
            ...(cert ? { validFrom: cert.validFrom, validTo: cert.validTo } : {}),
          },
        }
      : {}),
    ...(p.error !== undefined ? { error: p.error } : {}),
  };
}

/** Lower ranks first: the article's order of preference. */
const ROLE_RANK: Record<PortRole, number> = { submission: 0, submissions: 1, alternative: 2, custom: 3, relay: 9 };

const works = (f: PortFacts): boolean => f.status === 'tls' || f.status === 'plain';

function rank(a: PortFacts, b: PortFacts): number {
  const tls = (f: PortFacts): number => (f.status === 'tls' ? 0 : 1);
  return tls(a) - tls(b) || ROLE_RANK[a.role] - ROLE_RANK[b.role] || a.port - b.port;
}

/** "with STARTTLS", "with implicit TLS", "without TLS". */
function how(f: PortFacts): string {
  if (f.status !== 'tls') return 'without TLS';
  return f.via === 'implicit' ? 'with implicit TLS' : 'with STARTTLS';
}

/** How a blocked port failed, without nested parentheses: "refused", "timed out: filtered, likely …". */
function blockedHow(f: PortFacts): string {
  switch (f.connect) {
    case 'refused':
      return 'refused';
    case 'timeout':
      return 'timed out: filtered, likely by your ISP or cloud provider';
    case 'unreachable':
      return `unreachable: ${f.connectErrorCode ?? 'no route'}`;
    default:
      return `connection failed: ${f.connectErrorCode ?? 'error'}`;
  }
}

function authNote(f: PortFacts): string {
  const after = f.authAfterTls ?? [];
  const before = f.authBeforeTls ?? [];
  if (f.status === 'tls') {
    if (after.length === 0 && before.length === 0) return ' (no AUTH offered: the server must recognise you by your IP address)';
    if (f.via === 'starttls' && before.length === 0) return ` (AUTH ${after.join(' ')} offered only after TLS)`;
    return ` (AUTH ${(after.length > 0 ? after : before).join(' ')} offered)`;
  }
  return before.length > 0 ? ` (AUTH ${before.join(' ')} offered in clear)` : '';
}

function whyBlocked(f: PortFacts): string {
  if (f.status === 'blocked') return `is blocked (${blockedHow(f)})`;
  if (f.status === 'failed') return `does not work: ${f.error ?? 'the SMTP dialogue failed'}`;
  if (f.status === 'plain') return f.starttlsOffered ? `answers, but STARTTLS failed${f.error ? ` (${f.error})` : ''}` : 'answers, but offers no TLS';
  return 'works';
}

/** The advice. `facts` in any order; ports not probed are simply not mentioned (except a hint to try 2525). */
export function recommend(facts: readonly PortFacts[]): Recommendation {
  const parts: string[] = [];
  const warnings = new Warnings();
  const submission = facts.filter((f) => isSubmissionRole(f.role));
  const working = submission.filter(works).sort(rank);
  const best = working[0];
  const p587 = submission.filter((f) => f.role === 'submission').sort(rank)[0];

  if (best !== undefined) {
    let head = `use ${portLabel(best)} ${how(best)}${authNote(best)}`;
    if (best.status === 'plain') head = `${head} only if you must: no port offers working TLS, so mail and any credentials would cross the network unencrypted`;
    // When 587 was probed and is not the pick, say why first (e.g. "587 is blocked: use 2525 with STARTTLS").
    if (p587 !== undefined && p587 !== best && best.role !== 'submission') head = `${portLabel(p587)} ${whyBlocked(p587)}: ${head}`;
    parts.push(head);
    for (const f of working.slice(1)) {
      if (f.status !== 'tls') continue; // reported by a warning instead
      if (f.role === 'alternative') parts.push(`${portLabel(f)} ${how(f)} as a fallback`);
      else parts.push(`${portLabel(f)} ${how(f)} also works`);
    }
  } else if (submission.length > 0) {
    parts.push(`no submission port works from here: ${submission.sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role] || a.port - b.port).map((f) => `${portLabel(f)} ${whyBlocked(f)}`).join(', ')}`);
    const probed = new Set(submission.map((f) => f.standard ?? f.port));
    const filtered = submission.some((f) => f.status === 'blocked' && f.connect === 'timeout');
    const untried = [587, 465, 2525].filter((p) => !probed.has(p));
    if (untried.length > 0) parts.push(`try ${untried.join(', ')} (--ports ${untried.join(',')})`);
    if (filtered) parts.push('timed-out ports are usually filtered by the network you are on: ask its provider, or probe from elsewhere to compare');
  } else {
    parts.push('no submission port was probed (587, 465, 2525): add them with --ports');
  }

  for (const f of facts.filter((x) => x.role === 'relay')) {
    if (f.status === 'blocked') parts.push(`${portLabel(f)} is blocked from here (${blockedHow(f)}) — use it only for server-to-server relay`);
    else if (works(f)) parts.push(`${portLabel(f)} answers ${f.status === 'tls' ? 'with STARTTLS' : 'without TLS'} — keep it for server-to-server relay, not for submission`);
    else parts.push(`${portLabel(f)} (server-to-server relay) ${whyBlocked(f)}`);
  }

  for (const f of facts) collectWarnings(f, warnings);
  return { ok: best !== undefined, use: best === undefined ? null : { port: best.port, standard: best.standard, security: best.status === 'tls' ? (best.via ?? 'starttls') : 'none' }, summary: parts.join('; '), parts, warnings: warnings.list() };
}

/** Warnings with the same text for several ports are merged: "on 587, 465: …". */
class Warnings {
  readonly #byText = new Map<string, string[]>();
  readonly #order: string[] = [];
  add(label: string, text: string): void {
    const ports = this.#byText.get(text);
    if (ports !== undefined) ports.push(label);
    else {
      this.#byText.set(text, [label]);
      this.#order.push(text);
    }
  }
  list(): string[] {
    return this.#order.map((t) => t.replace('{ports}', (this.#byText.get(t) ?? []).join(', ')));
  }
}

const OLD_TLS = new Set(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1']);

function collectWarnings(f: PortFacts, w: Warnings): void {
  const label = portLabel(f);
  const clearBefore = (f.authBeforeTls ?? []).filter((m) => CLEAR_TEXT_MECHANISMS.has(m));
  if (clearBefore.length > 0) w.add(label, `{ports} offers AUTH ${clearBefore.join(' ')} before TLS: credentials could cross the network in clear`);
  if (isSubmissionRole(f.role) && works(f) && f.status === 'plain') {
    if (!f.starttlsOffered && !f.implicitTls) w.add(label, '{ports} offers no STARTTLS: mail and credentials would cross the network in clear');
    else w.add(label, `{ports}: STARTTLS was offered but failed${f.error ? ` (${f.error})` : ''}`);
  }
  if (f.status === 'failed') w.add(label, `{ports}: ${f.error ?? 'the SMTP dialogue failed'}${f.implicitTls && /TLS handshake/.test(f.error ?? '') ? ' — does it expect STARTTLS rather than implicit TLS?' : ''}`);
  if (f.tlsProtocol !== undefined && OLD_TLS.has(f.tlsProtocol)) w.add(label, `{ports} negotiated ${f.tlsProtocol} although TLS 1.2 and 1.3 were offered: the server supports TLS 1.0/1.1 only (deprecated by RFC 8996)`);
  const c = f.certificate;
  if (c !== undefined) {
    if (!c.nameMatches) w.add(label, `certificate does not match ${c.checkedName} on {ports}${c.names.length > 0 ? ` (it names ${c.names.join(', ')})` : ''}`);
    if (!c.trusted) w.add(label, `certificate on {ports} is not trusted${c.trustError ? `: ${c.trustError}` : ''}`);
    if (!c.timeValid) w.add(label, `certificate on {ports} is outside its validity dates (${c.validFrom ?? '?'} to ${c.validTo ?? '?'})`);
  }
}
