/**
 * @module probe/probe
 *
 * `petrel probe HOST`: which SMTP port works from here, and how well. For
 * each port, concurrently, a read-only SMTP dialogue:
 *
 *   TCP connect ─▶ [TLS handshake, implicit-TLS ports] ─▶ banner ─▶ EHLO
 *     ─▶ STARTTLS (when offered) ─▶ TLS handshake ─▶ EHLO again ─▶ QUIT
 *
 * recording for every step whether it worked, its round-trip time and what
 * the server said: the extensions, AUTH mechanisms before and after TLS,
 * the TLS protocol and cipher, and the certificate (subject, issuer, SANs,
 * validity, and whether it verifies for the host name).
 *
 * Never sent: MAIL, RCPT, DATA, AUTH, or anything secret. The certificate is
 * not required to be valid (the handshake runs with
 * `rejectUnauthorized: false` and the verdict is computed after it), so a
 * self-signed or mismatched certificate is reported rather than fatal. The
 * client offers TLS 1.0 to 1.3 (and OpenSSL security level 0) only so that a
 * server stuck on TLS 1.0/1.1 can be *reported* as such.
 *
 * Exports: `probe(options)` → `ProbeResult` (nothing printed), the result
 * types, `STANDARD_ROLES`, `roleOf`, `describeConnect`.
 *
 * Every wait has a timer (`timeoutMs` per step): nothing can hang whatever
 * the peer does; the socket is destroyed when the port is done.
 */

import * as dns from 'node:dns';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { ReplyParser, type ParsedReply } from '../smtp/reply.js';
import { parseEhloReply } from '../smtp/ehlo.js';
import { formatCommand } from '../smtp/command.js';

/**
 * What a port is for, after the reasoning of the seed article:
 *  - `relay` (25): server-to-server relay; often blocked for clients.
 *  - `submission` (587): message submission with STARTTLS (RFC 6409), the standard.
 *  - `submissions` (465): submission over implicit TLS (RFC 8314 §3.3).
 *  - `alternative` (2525): unofficial, the common fallback when 587 is blocked.
 *  - `custom`: any other port, judged like an alternative.
 */
export type PortRole = 'relay' | 'submission' | 'submissions' | 'alternative' | 'custom';

export const STANDARD_ROLES: ReadonlyMap<number, PortRole> = new Map<number, PortRole>([
  [25, 'relay'],
  [587, 'submission'],
  [465, 'submissions'],
  [2525, 'alternative'],
]);

export function roleOf(standard: number | null): PortRole {
  return standard === null ? 'custom' : (STANDARD_ROLES.get(standard) ?? 'custom');
}

/** One port to probe. `standard` is the well-known port it plays (e.g. 587 for a submission service moved to 10587). */
export interface PortSpec {
  readonly port: number;
  readonly standard: number | null;
  /** TLS from the first byte (SMTPS) rather than STARTTLS. */
  readonly implicitTls: boolean;
}

export interface ProbeOptions {
  readonly host: string;
  readonly ports: readonly PortSpec[];
  /** Per step: connect, handshake, each reply. */
  readonly timeoutMs: number;
  /** Name sent in EHLO. */
  readonly helo: string;
  /** Name the certificate must match, also sent as SNI when it is not an IP. Default: `host`. */
  readonly tlsName?: string;
  /** Trust anchors instead of Node's root store. */
  readonly ca?: string | Buffer;
  /** Resolver (tests); default `dns.promises.lookup`. */
  readonly lookup?: (host: string) => Promise<{ address: string; family: number }>;
}

export type ConnectOutcome = 'open' | 'refused' | 'timeout' | 'unreachable' | 'error';

export interface ConnectResult {
  readonly outcome: ConnectOutcome;
  /** Time to the TCP handshake's end, or to the failure. */
  readonly ms: number;
  /** The system error code (ECONNREFUSED, EHOSTUNREACH, …) when it failed. */
  readonly errorCode?: string;
  /** In words: "refused (closed)", "timed out (filtered: …)". */
  readonly description: string;
}

export interface ReplyInfo {
  readonly code: number;
  readonly lines: readonly string[];
  readonly ms: number;
}

export interface EhloInfo extends ReplyInfo {
  /** The keyword lines as sent (after the greeting line), e.g. `SIZE 52428800`. */
  readonly extensions: readonly string[];
  readonly startTls: boolean;
  /** SASL mechanisms offered, upper-case; empty when no AUTH. */
  readonly auth: readonly string[];
  /** True when EHLO was refused and HELO answered instead (no extensions then). */
  readonly helo: boolean;
}

export interface CertificateInfo {
  /** `CN=mail.example.test, O=…` */
  readonly subject: string;
  readonly commonName: string | null;
  readonly issuer: string;
  /** As OpenSSL prints them: `DNS:mail.example.test`, `IP Address:127.0.0.1`. */
  readonly subjectAltNames: readonly string[];
  /** ISO 8601. */
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
  /** Subject and issuer are the same name (self-issued, usually self-signed). */
  readonly selfIssued: boolean;
}

export interface TlsInfo {
  readonly via: 'implicit' | 'starttls';
  /** Handshake time. */
  readonly ms: number;
  /** `TLSv1.3`, `TLSv1.2`, … */
  readonly protocol: string;
  readonly cipher: string;
  readonly certificate: CertificateInfo | null;
  /** The name checked against the certificate. */
  readonly checkedName: string;
  /** The chain leads to a trusted root (Node's store, or `--ca`). */
  readonly trusted: boolean;
  readonly trustError?: string;
  /** RFC 6125 name check against `checkedName`. */
  readonly nameMatches: boolean;
  readonly nameError?: string;
  /** Now is inside [validFrom, validTo]. */
  readonly timeValid: boolean;
  /** trusted && nameMatches && timeValid. */
  readonly verified: boolean;
}

export type StepName = 'connect' | 'tls' | 'banner' | 'ehlo' | 'helo' | 'starttls' | 'ehlo-tls' | 'quit';

export interface Step {
  readonly name: StepName;
  readonly ok: boolean;
  readonly ms: number;
  /** What happened, one line: the reply, or why it failed. */
  readonly detail: string;
}

/**
 * - `blocked`: no TCP connection (refused, timed out, unreachable).
 * - `failed`: connected, but the SMTP or TLS dialogue did not complete.
 * - `plain`: SMTP works, but without TLS (STARTTLS not offered or refused).
 * - `tls`: SMTP works over TLS.
 */
export type PortStatus = 'blocked' | 'failed' | 'plain' | 'tls';

export interface PortProbe {
  readonly port: number;
  readonly standard: number | null;
  readonly role: PortRole;
  readonly implicitTls: boolean;
  readonly status: PortStatus;
  readonly connect: ConnectResult;
  readonly banner?: ReplyInfo;
  /** The EHLO reply in clear (absent on implicit-TLS ports). */
  readonly ehlo?: EhloInfo;
  readonly starttls?: { readonly offered: boolean; readonly done: boolean; readonly reply?: ReplyInfo };
  readonly tls?: TlsInfo;
  /** The EHLO reply under TLS (after STARTTLS, or on an implicit-TLS port). */
  readonly ehloTls?: EhloInfo;
  /** Mechanisms offered; null when that state was never reached (e.g. no TLS, or implicit TLS has no "before"). */
  readonly auth: { readonly beforeTls: readonly string[] | null; readonly afterTls: readonly string[] | null };
  readonly quit?: ReplyInfo;
  readonly steps: readonly Step[];
  /** Why the dialogue stopped early (status `failed`, or a refused STARTTLS). */
  readonly error?: string;
}

export interface ProbeResult {
  readonly host: string;
  /** The address every port was probed at (resolved once). */
  readonly address: string | null;
  /** DNS failure: no port was probed. */
  readonly resolveError?: string;
  readonly tlsName: string;
  readonly helo: string;
  readonly timeoutMs: number;
  readonly startedAt: string;
  readonly ports: readonly PortProbe[];
}

const BLOCKED_BY_PROVIDER = 'likely blocked by your ISP or cloud provider';

export function describeConnect(outcome: ConnectOutcome, errorCode?: string): string {
  switch (outcome) {
    case 'open':
      return 'open';
    case 'refused':
      return 'refused (closed)';
    case 'timeout':
      return `timed out (filtered: ${BLOCKED_BY_PROVIDER})`;
    case 'unreachable':
      return `unreachable (${errorCode ?? 'no route'})`;
    case 'error':
      return `connection failed (${errorCode ?? 'error'})`;
    default: {
      const never: never = outcome;
      return String(never);
    }
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Probes every port concurrently; never throws for what the network or the server does. */
export async function probe(opts: ProbeOptions): Promise<ProbeResult> {
  const startedAt = new Date().toISOString();
  const tlsName = opts.tlsName ?? opts.host;
  const base = { host: opts.host, tlsName, helo: opts.helo, timeoutMs: opts.timeoutMs, startedAt };
  let address: string;
  try {
    const lookup = opts.lookup ?? ((h: string) => dns.promises.lookup(h));
    address = net.isIP(opts.host) !== 0 ? opts.host : (await lookup(opts.host)).address;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ...base, address: null, resolveError: `cannot resolve ${opts.host}: ${code ?? (e as Error).message}`, ports: [] };
  }
  const ports = await Promise.all(opts.ports.map((spec) => probePort(spec, address, tlsName, opts)));
  return { ...base, address, ports };
}

/** A failure of one step: ends the dialogue, the port's status becomes `failed`. */
class StepError extends Error {}

/** Replies from one socket (plain, then TLS), each wait bounded by a timer. */
class Dialogue {
  #socket: net.Socket;
  #parser = new ReplyParser();
  #queue: ParsedReply[] = [];
  #failure: string | undefined;
  #waiter: { resolve: (r: ParsedReply) => void; reject: (e: Error) => void } | undefined;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onError = (e: Error): void => this.#fail(`connection error: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
  readonly #onClose = (): void => {
    for (const ev of this.#parser.end()) if (ev.type === 'error') this.#fail('connection closed in the middle of a reply');
    this.#fail('connection closed by the server');
  };

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  #attach(s: net.Socket): void {
    s.on('data', this.#onData);
    s.on('error', this.#onError);
    s.on('close', this.#onClose);
  }

  #detach(s: net.Socket): void {
    s.off('data', this.#onData);
    s.off('close', this.#onClose);
    // The error listener stays: an unlistened 'error' would crash the process.
  }

  #data(chunk: Buffer): void {
    for (const ev of this.#parser.push(chunk)) {
      if (ev.type === 'error') {
        this.#fail(`unparsable reply (${ev.error.kind})`);
        return;
      }
      this.#queue.push(ev.reply);
    }
    this.#wake();
  }

  #fail(why: string): void {
    if (this.#failure === undefined) this.#failure = why;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    const r = this.#queue.shift();
    if (r !== undefined) {
      this.#waiter = undefined;
      w.resolve(r);
    } else if (this.#failure !== undefined) {
      this.#waiter = undefined;
      w.reject(new StepError(this.#failure));
    }
  }

  /** The next reply, within `timeoutMs`. */
  read(timeoutMs: number, what: string): Promise<ParsedReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new StepError(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#wake();
    });
  }

  send(line: string): void {
    if (this.#failure !== undefined) throw new StepError(this.#failure);
    this.#socket.write(line);
  }

  /** True when the server sent bytes nobody asked for (before a TLS upgrade: RFC 3207 §4.2 injection). */
  get pending(): boolean {
    return this.#queue.length > 0 || this.#parser.inProgress;
  }

  /** TLS handshake on the current socket (implicit TLS, or after `220` to STARTTLS). */
  async upgrade(options: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
    const raw = this.#socket;
    this.#detach(raw);
    const sock = tls.connect({ ...options, socket: raw });
    sock.on('error', () => undefined); // reported through the handshake promise or the dialogue
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new StepError(`TLS handshake did not complete within ${timeoutMs} ms`));
      }, timeoutMs);
      const onOk = (): void => {
        cleanup();
        resolve();
      };
      const onErr = (e: Error): void => {
        cleanup();
        reject(new StepError(`TLS handshake failed: ${tlsErrorText(e)}`));
      };
      const onClose = (): void => {
        cleanup();
        reject(new StepError('TLS handshake failed: connection closed by the server'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        sock.off('secureConnect', onOk);
        sock.off('error', onErr);
        sock.off('close', onClose);
      };
      sock.once('secureConnect', onOk);
      sock.once('error', onErr);
      sock.once('close', onClose);
    });
    this.#socket = sock;
    this.#parser = new ReplyParser();
    this.#queue = [];
    this.#attach(sock);
    return sock;
  }

  close(): void {
    this.#socket.destroy();
  }
}

function tlsErrorText(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = e.message.replace(/^.*?:error:[0-9A-F]+:[^:]*:[^:]*:/, '').replace(/:.*$/, '');
  return code !== undefined && !msg.includes(code) ? `${msg} (${code})` : msg;
}

function connectTcp(address: string, port: number, timeoutMs: number): Promise<{ socket?: net.Socket; result: ConnectResult }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect({ host: address, port });
    let settled = false;
    const done = (outcome: ConnectOutcome, errorCode?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ms = round(performance.now() - t0);
      const result: ConnectResult = { outcome, ms, ...(errorCode !== undefined ? { errorCode } : {}), description: describeConnect(outcome, errorCode) };
      if (outcome === 'open') {
        socket.off('error', onError);
        resolve({ socket, result });
      } else {
        socket.destroy();
        resolve({ result });
      }
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      const code = e.code ?? 'error';
      if (code === 'ECONNREFUSED') done('refused', code);
      else if (code === 'ETIMEDOUT') done('timeout', code);
      else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN') done('unreachable', code);
      else done('error', code);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('open'));
    socket.on('error', onError);
  });
}

function nameString(n: tls.Certificate | undefined): string {
  if (n === undefined || n === null) return '';
  return Object.entries(n as unknown as Record<string, string | string[]>)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .join(', ');
}

function isoOf(openssl: string | undefined): string {
  const t = openssl === undefined ? NaN : Date.parse(openssl);
  return Number.isNaN(t) ? String(openssl ?? '') : new Date(t).toISOString();
}

function certificateOf(sock: tls.TLSSocket): CertificateInfo | null {
  const c = sock.getPeerCertificate(false);
  if (c === null || c === undefined || Object.keys(c).length === 0) return null;
  const subject = nameString(c.subject);
  const issuer = nameString(c.issuer);
  const cn = (c.subject as unknown as Record<string, string | string[]> | undefined)?.['CN'];
  return {
    subject,
    commonName: cn === undefined ? null : Array.isArray(cn) ? (cn[0] ?? null) : cn,
    issuer,
    subjectAltNames: (c.subjectaltname ?? '').split(/,\s*/).filter((s) => s.length > 0),
    validFrom: isoOf(c.valid_from),
    validTo: isoOf(c.valid_to),
    fingerprint256: c.fingerprint256 ?? '',
    selfIssued: subject !== '' && subject === issuer,
  };
}

/** OpenSSL's verification codes, in words (the code kept for searching). */
const TRUST_WORDS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  UNABLE_TO_GET_ISSUER_CERT: 'issuer unknown',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer unknown (private CA, or the server omits an intermediate certificate)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'cannot verify the certificate (the server omits an intermediate certificate?)',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  CERT_REVOKED: 'certificate revoked',
};

function trustText(code: string): string {
  const words = TRUST_WORDS[code];
  return words === undefined ? code : `${words} (${code})`;
}

function tlsInfo(sock: tls.TLSSocket, via: TlsInfo['via'], ms: number, checkedName: string): TlsInfo {
  const certificate = certificateOf(sock);
  const trustErr = sock.authorizationError as unknown as Error | string | null | undefined;
  const trustError = sock.authorized ? undefined : trustText(trustErr === null || trustErr === undefined ? 'not verified' : typeof trustErr === 'string' ? trustErr : trustErr.message);
  let nameError: string | undefined;
  if (certificate === null) nameError = 'the server sent no certificate';
  else {
    const peer = sock.getPeerCertificate(false);
    nameError = tls.checkServerIdentity(checkedName, peer)?.message.replace(/[:\s]+$/, '');
  }
  let timeValid = false;
  if (certificate !== null) {
    const now = Date.now();
    const from = Date.parse(certificate.validFrom);
    const to = Date.parse(certificate.validTo);
    timeValid = !Number.isNaN(from) && !Number.isNaN(to) && from <= now && now <= to;
  }
  const trusted = sock.authorized;
  const nameMatches = nameError === undefined;
  return {
    via,
    ms,
    protocol: sock.getProtocol() ?? 'unknown',
    cipher: sock.getCipher()?.name ?? 'unknown',
    certificate,
    checkedName,
    trusted,
    ...(trustError !== undefined ? { trustError } : {}),
    nameMatches,
    ...(nameError !== undefined ? { nameError } : {}),
    timeValid,
    verified: trusted && nameMatches && timeValid,
  };
}

function ehloInfo(r: ParsedReply, ms: number, viaHelo: boolean): EhloInfo {
  const caps = parseEhloReply(r);
  return {
    code: r.code,
    lines: r.rawLines,
    ms,
    extensions: viaHelo ? [] : r.lines.slice(1).map((l) => l.trim()).filter((l) => l.length > 0),
    startTls: !viaHelo && caps.has('STARTTLS'),
    auth: viaHelo ? [] : [...caps.authMechanisms],
    helo: viaHelo,
  };
}

const oneLine = (r: ParsedReply): string => `${r.code} ${r.rawLines.join(' / ')}`.slice(0, 300);

async function probePort(spec: PortSpec, address: string, tlsName: string, opts: ProbeOptions): Promise<PortProbe> {
  const role = roleOf(spec.standard);
  const steps: Step[] = [];
  const head = { port: spec.port, standard: spec.standard, role, implicitTls: spec.implicitTls };
  const { socket, result: connect } = await connectTcp(address, spec.port, opts.timeoutMs);
  steps.push({ name: 'connect', ok: connect.outcome === 'open', ms: connect.ms, detail: connect.outcome === 'open' ? `connected to ${net.isIPv6(address) ? `[${address}]` : address}:${spec.port}` : connect.description });
  if (socket === undefined) return { ...head, status: 'blocked', connect, auth: { beforeTls: null, afterTls: null }, steps };

  const d = new Dialogue(socket);
  const timeout = opts.timeoutMs;
  const servername = net.isIP(tlsName) === 0 ? tlsName : undefined;
  const tlsOptions: tls.ConnectionOptions = {
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
    ...(servername !== undefined ? { servername } : {}),
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
  };
  let banner: ReplyInfo | undefined;
  let ehlo: EhloInfo | undefined;
  let ehloTls: EhloInfo | undefined;
  let starttls: PortProbe['starttls'];
  let tlsRes: TlsInfo | undefined;
  let quit: ReplyInfo | undefined;
  let error: string | undefined;
  let completed = false;
  let current: StepName = 'banner';
  let t0 = performance.now();
  const elapsed = (): number => round(performance.now() - t0);
  const begin = (name: StepName): void => {
    current = name;
    t0 = performance.now();
  };
  const handshake = async (via: TlsInfo['via']): Promise<void> => {
    begin('tls');
    const sock = await d.upgrade(tlsOptions, timeout);
    tlsRes = tlsInfo(sock, via, elapsed(), tlsName);
    steps.push({ name: 'tls', ok: true, ms: tlsRes.ms, detail: `${tlsRes.protocol} ${tlsRes.cipher}` });
  };
  const sayHello = async (afterTls: boolean): Promise<EhloInfo> => {
    begin(afterTls ? 'ehlo-tls' : 'ehlo');
    d.send(formatCommand({ kind: 'EHLO', domain: opts.helo }));
    const r = await d.read(timeout, 'reply to EHLO');
    if (r.code === 250) {
      const info = ehloInfo(r, elapsed(), false);
      steps.push({ name: current, ok: true, ms: info.ms, detail: oneLine(r) });
      return info;
    }
    steps.push({ name: current, ok: false, ms: elapsed(), detail: oneLine(r) });
    if (r.code === 421) throw new StepError(`EHLO refused: ${oneLine(r)}`);
    // A server without ESMTP: HELO gets it through, with no extensions (so no STARTTLS, no AUTH).
    begin('helo');
    d.send(formatCommand({ kind: 'HELO', domain: opts.helo }));
    const h = await d.read(timeout, 'reply to HELO');
    steps.push({ name: 'helo', ok: h.code === 250, ms: elapsed(), detail: oneLine(h) });
    if (h.code !== 250) throw new StepError(`EHLO and HELO refused: ${oneLine(h)}`);
    return ehloInfo(h, elapsed(), true);
  };

  try {
    if (spec.implicitTls) await handshake('implicit');
    begin('banner');
    const b = await d.read(timeout, 'banner');
    banner = { code: b.code, lines: b.rawLines, ms: elapsed() };
    steps.push({ name: 'banner', ok: b.code === 220, ms: banner.ms, detail: oneLine(b) });
    if (b.code !== 220) throw new StepError(`the server refuses sessions: ${oneLine(b)}`);
    if (spec.implicitTls) {
      ehloTls = await sayHello(true);
    } else {
      ehlo = await sayHello(false);
      if (ehlo.startTls) {
        begin('starttls');
        d.send(formatCommand({ kind: 'STARTTLS' }));
        const r = await d.read(timeout, 'reply to STARTTLS');
        const reply: ReplyInfo = { code: r.code, lines: r.rawLines, ms: elapsed() };
        steps.push({ name: 'starttls', ok: r.code === 220, ms: reply.ms, detail: oneLine(r) });
        starttls = { offered: true, done: false, reply };
        if (r.code === 220) {
          if (d.pending) throw new StepError('the server sent data after its 220 to STARTTLS, before the TLS handshake (RFC 3207 §4.2)');
          await handshake('starttls');
          starttls = { offered: true, done: true, reply };
          ehloTls = await sayHello(true);
        } else {
          error = `STARTTLS refused: ${oneLine(r)}`;
        }
      } else {
        starttls = { offered: false, done: false };
      }
    }
    completed = true;
    begin('quit');
    d.send(formatCommand({ kind: 'QUIT' }));
    const q = await d.read(timeout, 'reply to QUIT');
    quit = { code: q.code, lines: q.rawLines, ms: elapsed() };
    steps.push({ name: 'quit', ok: q.code === 221, ms: quit.ms, detail: oneLine(q) });
  } catch (e) {
    const why = e instanceof StepError ? e.message : `unexpected: ${(e as Error).message}`;
    if (!completed) {
      error = why;
      if (steps[steps.length - 1]?.name !== current || steps[steps.length - 1]?.ok) steps.push({ name: current, ok: false, ms: elapsed(), detail: why });
    } else {
      steps.push({ name: 'quit', ok: false, ms: elapsed(), detail: why });
    }
  } finally {
    d.close();
  }

  const underTls = tlsRes !== undefined && ehloTls !== undefined;
  const status: PortStatus = !completed ? 'failed' : underTls ? 'tls' : 'plain';
  return {
    ...head,
    status,
    connect,
    ...(banner !== undefined ? { banner } : {}),
    ...(ehlo !== undefined ? { ehlo } : {}),
    ...(starttls !== undefined ? { starttls } : {}),
    ...(tlsRes !== undefined ? { tls: tlsRes } : {}),
    ...(ehloTls !== undefined ? { ehloTls } : {}),
    auth: {
      beforeTls: spec.implicitTls ? null : ehlo !== undefined ? ehlo.auth : null,
      afterTls: ehloTls !== undefined ? ehloTls.auth : null,
    },
    ...(quit !== undefined ? { quit } : {}),
    steps,
    ...(error !== undefined ? { error } : {}),
  };
}
