/**
 * @module cli/commands/probe
 *
 *   petrel probe HOST [--ports 25,465,587,2525] [--implicit-tls PORTS]
 *                     [--timeout 5s] [--helo NAME] [--tls-name NAME] [--ca FILE] [--json]
 *
 * Which SMTP port should I use to reach HOST from here? Probes each port
 * (probe/probe.ts), prints one table row per port, the details of each
 * dialogue, then the advice (probe/recommend.ts). `--json` prints
 * `{ probe, recommendation }` instead. Read docs/probe.md.
 *
 * A `--ports` entry is `PORT`, or `STANDARD=PORT` for a port that plays a
 * well-known one (`587=10587`: a submission service on 10587; `465=PORT`
 * also implies implicit TLS).
 *
 * Exit codes: 0 at least one submission port (587, 465, 2525 or a custom
 * one) works; 1 none does (or HOST does not resolve); 2 usage error.
 *
 * Exports: `registerProbeCommand`, `parsePortList`, `parseTimeout`, `formatProbe`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Command } from 'commander';
import { isValidHeloName } from '../../smtp/command.js';
import { probe, type PortProbe, type PortSpec, type ProbeResult, type Step } from '../../probe/probe.js';
import { factsOf, portLabel, recommend, type Recommendation } from '../../probe/recommend.js';
import { clean, table } from './table.js';

export const DEFAULT_PORTS = '25,465,587,2525';

class ProbeUsageError extends Error {}

function portNumber(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new ProbeUsageError(`${what}: '${text}' is not a port number (1-65535)`);
  return Number(text);
}

/** `25,465,587=10587` → specs; implicit TLS for 465 (played or real) and `implicit`. */
export function parsePortList(list: string, implicit: string | undefined): PortSpec[] {
  const implicitPorts = new Set<number>();
  for (const p of (implicit ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)) implicitPorts.add(portNumber(p, '--implicit-tls'));
  const specs: PortSpec[] = [];
  const seen = new Set<number>();
  const items = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new ProbeUsageError('--ports: no port given');
  for (const item of items) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    const port = portNumber(m ? m[2]!.trim() : item, '--ports');
    const standard = m ? portNumber(m[1]!.trim(), '--ports') : [25, 465, 587, 2525].includes(port) ? port : null;
    if (m && ![25, 465, 587, 2525].includes(standard!)) throw new ProbeUsageError(`--ports: '${item}': only 25, 465, 587 or 2525 can be played by another port`);
    if (seen.has(port)) throw new ProbeUsageError(`--ports: port ${port} given twice`);
    seen.add(port);
    specs.push({ port, standard, implicitTls: standard === 465 || implicitPorts.has(port) });
  }
  return specs;
}

/** `5s`, `500ms`, `1m`, `2.5s`, or a bare number of seconds → milliseconds. */
export function parseTimeout(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new ProbeUsageError(`--timeout: '${text}' is not a duration (e.g. 5s, 500ms, 1m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (!(ms >= 1) || ms > 600_000) throw new ProbeUsageError(`--timeout: '${text}' must be between 1ms and 10m`);
  return Math.round(ms);
}

function defaultHelo(): string {
  const h = os.hostname();
  return h.includes('.') && isValidHeloName(h) ? h : 'localhost.localdomain';
}

interface ProbeCliOptions {
  ports: string;
  implicitTls?: string;
  timeout: string;
  helo?: string;
  tlsName?: string;
  ca?: string;
  json?: boolean;
}

export function registerProbeCommand(program: Command, out: (s: string) => void, errOut: (s: string) => void): void {
  program
    .command('probe')
    // Commander errors (a missing HOST, an unknown option) reach main(), which exits 2.
    .exitOverride()
    .description('which SMTP port works from here? probe 25, 465, 587 and 2525 of HOST (connect, banner, EHLO, STARTTLS, certificate, AUTH) and recommend one')
    .argument('<host>', 'SMTP server: host name or IP address')
    .option('--ports <list>', 'ports to probe, comma-separated; STANDARD=PORT for a port playing 25, 465, 587 or 2525', DEFAULT_PORTS)
    .option('--implicit-tls <list>', 'more ports that speak TLS from the first byte (465 always does)')
    .option('--timeout <duration>', 'limit for each step (connect, handshake, each reply)', '5s')
    .option('--helo <name>', 'name to send in EHLO (default: this host name)')
    .option('--tls-name <name>', 'name the certificate must match, also sent as SNI (default: HOST)')
    .option('--ca <file>', 'trust the CA certificates in this PEM file instead of the system store')
    .option('--json', 'machine-readable output')
    .action(async (host: string, opts: ProbeCliOptions) => {
      let specs: PortSpec[];
      let timeoutMs: number;
      let ca: Buffer | undefined;
      const helo = opts.helo ?? defaultHelo();
      try {
        if (host.trim() === '' || /[\s/]/.test(host)) throw new ProbeUsageError(`'${host}' is not a host name or IP address`);
        specs = parsePortList(opts.ports, opts.implicitTls);
        timeoutMs = parseTimeout(opts.timeout);
        if (!isValidHeloName(helo)) throw new ProbeUsageError(`--helo: '${helo}' is not a domain name or address literal`);
        if (opts.ca !== undefined) {
          try {
            ca = fs.readFileSync(opts.ca);
          } catch (e) {
            throw new ProbeUsageError(`--ca: cannot read ${opts.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
        }
      } catch (e) {
        if (!(e instanceof ProbeUsageError)) throw e;
        if (opts.json) out(JSON.stringify({ error: { code: 'USAGE', message: e.message } }, null, 2) + '\n');
        else errOut(`petrel probe: ${clean(e.message)}\n`);
        process.exitCode = 2;
        return;
      }
      const host0 = host.replace(/^\[(.*)\]$/, '$1');
      const result = await probe({
        host: host0,
        ports: specs,
        timeoutMs,
        helo,
        ...(opts.tlsName !== undefined ? { tlsName: opts.tlsName } : {}),
        ...(ca !== undefined ? { ca } : {}),
      });
      const rec = recommend(result.ports.map(factsOf));
      if (opts.json) out(JSON.stringify({ probe: result, recommendation: rec }, null, 2) + '\n');
      else out(formatProbe(result, rec));
      process.exitCode = result.resolveError === undefined && rec.ok ? 0 : 1;
    });
}

const ms = (v: number): string => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

const ROLE_TEXT: Record<PortProbe['role'], string> = {
  relay: 'relay (server-to-server)',
  submission: 'submission (STARTTLS)',
  submissions: 'submissions (implicit TLS)',
  alternative: 'alternative submission',
  custom: 'custom',
};

function tlsCell(p: PortProbe): string {
  if (p.tls !== undefined) return `${p.tls.via === 'implicit' ? 'implicit' : 'STARTTLS'} ${p.tls.protocol}`;
  if (p.status === 'blocked') return '';
  if (p.implicitTls) return 'handshake failed';
  if (p.starttls === undefined) return p.ehlo === undefined ? '' : '-';
  if (!p.starttls.offered) return 'not offered';
  return p.starttls.done ? 'handshake failed' : `refused (${p.starttls.reply?.code ?? '?'})`;
}

function certCell(p: PortProbe): string {
  const t = p.tls;
  if (t === undefined) return '';
  const name = t.certificate?.commonName ?? t.certificate?.subjectAltNames[0] ?? '(none)';
  if (t.verified) return `${name}, verified`;
  const why = [!t.trusted ? 'untrusted' : '', !t.nameMatches ? 'name mismatch' : '', !t.timeValid ? 'expired/not yet valid' : ''].filter((s) => s !== '');
  return `${name}, ${why.join(', ')}`;
}

function authCell(mechs: readonly string[] | null): string {
  if (mechs === null) return '';
  return mechs.length === 0 ? 'none' : mechs.join(' ');
}

function resultCell(p: PortProbe): string {
  switch (p.status) {
    case 'blocked':
      return `blocked: ${p.connect.description}`;
    case 'failed':
      return `failed: ${p.error ?? 'SMTP dialogue failed'}`;
    case 'plain':
      return 'works, without TLS';
    case 'tls':
      return 'works, with TLS';
  }
}

const STEP_TITLE: Record<Step['name'], string> = {
  connect: 'connect',
  tls: 'TLS',
  banner: 'banner',
  ehlo: 'EHLO',
  helo: 'HELO',
  starttls: 'STARTTLS',
  'ehlo-tls': 'EHLO (TLS)',
  quit: 'QUIT',
};

function details(p: PortProbe): string {
  const lines: string[] = [`${portLabel(p)} — ${ROLE_TEXT[p.role]}`];
  for (const s of p.steps) {
    lines.push(`  ${STEP_TITLE[s.name].padEnd(10)} ${(s.ok ? '' : 'FAILED ') + ms(s.ms).padStart(8)}  ${clean(s.detail)}`);
    if (s.name === 'tls' && s.ok && p.tls !== undefined) {
      const c = p.tls.certificate;
      if (c === null) lines.push('             certificate: none sent');
      else {
        lines.push(`             subject:  ${clean(c.subject)}`);
        lines.push(`             issuer:   ${clean(c.issuer)}${c.selfIssued ? ' (self-issued)' : ''}`);
        lines.push(`             SANs:     ${clean(c.subjectAltNames.join(', ') || '(none)')}`);
        lines.push(`             valid:    ${c.validFrom} to ${c.validTo}${p.tls.timeValid ? '' : '  (NOT valid now)'}`);
        const verdict = p.tls.verified
          ? 'yes'
          : `no (${[p.tls.trusted ? '' : `untrusted: ${p.tls.trustError ?? '?'}`, p.tls.nameMatches ? '' : (p.tls.nameError ?? 'name mismatch'), p.tls.timeValid ? '' : 'outside its validity dates'].filter((x) => x !== '').join('; ')})`;
        lines.push(`             verifies for ${clean(p.tls.checkedName)}: ${clean(verdict)}`);
      }
    }
  }
  const ext = (p.ehloTls ?? p.ehlo)?.extensions;
  if (ext !== undefined) lines.push(`  extensions${p.ehloTls ? ' (TLS)' : ''}: ${clean(ext.join(', ') || '(none)')}`);
  if (p.ehlo !== undefined && p.ehloTls !== undefined) lines.push(`  extensions (clear): ${clean(p.ehlo.extensions.join(', ') || '(none)')}`);
  return lines.join('\n');
}

/** The human report: table, details, recommendation and warnings. */
export function formatProbe(r: ProbeResult, rec: Recommendation): string {
  const head = `petrel probe ${clean(r.host)}${r.address !== null && r.address !== r.host ? ` (${r.address})` : ''}: EHLO ${clean(r.helo)}, timeout ${r.timeoutMs} ms per step, certificate checked for ${clean(r.tlsName)}\n\n`;
  if (r.resolveError !== undefined) return `${head}${clean(r.resolveError)}\n`;
  const rows = r.ports.map((p) => [
    portLabel(p),
    ROLE_TEXT[p.role],
    p.connect.outcome === 'open' ? ms(p.connect.ms) : p.connect.outcome === 'timeout' ? 'timed out' : p.connect.outcome,
    p.banner !== undefined ? `${p.banner.code} ${ms(p.banner.ms)}` : '',
    tlsCell(p),
    certCell(p),
    authCell(p.auth.beforeTls),
    authCell(p.auth.afterTls),
    resultCell(p),
  ]);
  const t = table(
    [{ title: 'PORT' }, { title: 'ROLE' }, { title: 'TCP' }, { title: 'BANNER' }, { title: 'TLS' }, { title: 'CERTIFICATE' }, { title: 'AUTH BEFORE TLS' }, { title: 'AUTH AFTER TLS' }, { title: 'RESULT' }],
    rows,
  );
  const det = r.ports.filter((p) => p.status !== 'blocked').map(details);
  let text = head + t;
  if (det.length > 0) text += '\n' + det.join('\n\n') + '\n';
  text += `\nRecommendation: ${clean(rec.summary)}\n`;
  if (rec.warnings.length > 0) text += 'Warnings:\n' + rec.warnings.map((w) => `  - ${clean(w)}\n`).join('');
  return text;
}
