/**
 * @module server/tls
 *
 * Inbound TLS, built once from the configuration: the contexts for implicit
 * TLS listeners (port 465) and for STARTTLS upgrades, SNI, protocol versions,
 * ciphers, and client certificates.
 *
 * Exports:
 * - `buildServerTls(config, opts?)` → `ServerTls | undefined` (undefined when
 *   no `smtp-server-tls-certificate` is configured). Throws `TlsConfigError`
 *   when a certificate or CA file cannot be used, or the settings leave no
 *   protocol version.
 * - `ServerTls`:
 *   - `secureContextOptions` — options of the default (first) certificate, for
 *     `tls.createSecureContext`;
 *   - `tlsServerOptions()` — options for `tls.createServer` (implicit TLS);
 *   - `upgrade(socket)` — STARTTLS: wraps a plain socket, resolves with the
 *     TLS socket once the handshake is done, rejects with `TlsHandshakeError`;
 *   - `describe(socket)` — `{ protocol, cipher, peerCertificate? }`.
 *   - `versions`, `certificates` — what was configured, for `petrel show`.
 * - `peerCertificateInfo(socket)` — the client certificate's names and
 *   fingerprint (also used by `credentials.ts`).
 * - `certificateNameMatches(pattern, host)` — one-label wildcard matching.
 * - `TlsConfigError`, `TlsHandshakeError` (codes: `handshake-failed`,
 *   `handshake-timeout`, `closed`).
 *
 * Configuration read (all global):
 * - `smtp-server-tls-certificate PEM` (repeatable): certificate, chain and
 *   key in one file. With several, the SNI name picks the certificate whose
 *   subject CN or subjectAltName DNS names (wildcards `*.x` cover one label)
 *   match, exact names before wildcards; no match (or no SNI) → the first.
 * - Versions: TLS 1.2 and 1.3 by default. `smtp-server-tls-allow-tlsv1.1 yes`
 *   adds 1.1; `…-allow-tlsv1.2 no` / `…-allow-tlsv1.3 no` remove those;
 *   `smtp-server-tls-min-version` (extension) sets the floor outright (it
 *   wins over allow-tlsv1.1; the `no` switches still remove versions). A gap
 *   (1.1 and 1.3 without 1.2) is expressed with OpenSSL's `SSL_OP_NO_*`.
 * - TLS 1.0/1.1 and OpenSSL 3: those versions cannot complete a handshake at
 *   OpenSSL's default security level 1 (their signatures use SHA-1/MD5), so
 *   when a version below 1.2 is enabled we append `:@SECLEVEL=0` to the
 *   cipher list (the configured one, or Node's default) unless it already
 *   names a security level. This lowers the level for every version; it is
 *   the price of TLS 1.1 and the reason it is off by default.
 * - `smtp-server-tls-ciphers`: an OpenSSL cipher string, passed through
 *   (TLS 1.3 suite names in it are honoured by Node too).
 * - `smtp-server-tls-client-ca PEM` (extension): when set, the server asks
 *   for a client certificate (`requestCert`) but lets clients without one in
 *   (`rejectUnauthorized: false`); `socket.authorized` tells AUTH whether
 *   the certificate chains to this CA.
 *
 * Contracts:
 * - A broken or hostile handshake never throws out of this module: `upgrade`
 *   rejects with `TlsHandshakeError` and destroys the socket.
 * - STARTTLS injection (CVE-2011-0411): the caller must discard any bytes it
 *   read after the STARTTLS command and remove its own `data` listeners
 *   before calling `upgrade`; this module starts with a clean TLS stream.
 * - After `upgrade` resolves, this module no longer listens for `error` on
 *   the returned socket: the caller must.
 */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { lastSetting, values, type PetrelConfig } from '../config/model.js';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
const ALL_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const NO_VERSION_FLAG: Readonly<Record<TlsVersion, number>> = {
  TLSv1: cryptoConstants.SSL_OP_NO_TLSv1,
  'TLSv1.1': cryptoConstants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': cryptoConstants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': cryptoConstants.SSL_OP_NO_TLSv1_3,
};

/** A configuration that cannot be turned into a TLS context. The message names the file, never key material. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(message: string, readonly file?: string) {
    super(message);
  }
}

export type TlsHandshakeErrorCode = 'handshake-failed' | 'handshake-timeout' | 'closed';

/** A STARTTLS handshake that did not complete. */
export class TlsHandshakeError extends Error {
  override readonly name = 'TlsHandshakeError';
  constructor(readonly code: TlsHandshakeErrorCode, message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export interface ServerCertificate {
  readonly file: string;
  /** Subject CN and subjectAltName DNS names, lower-case. */
  readonly names: readonly string[];
  readonly validTo: string;
}

export interface PeerCertificateInfo {
  readonly subjectCN?: string;
  readonly issuerCN?: string;
  readonly dnsNames: readonly string[];
  readonly emails: readonly string[];
  /** SHA-256 fingerprint, upper-case hex with colons (`AB:CD:…`), as Node prints it. */
  readonly fingerprint256: string;
  /** It chains to `smtp-server-tls-client-ca`. */
  readonly authorized: boolean;
  readonly authorizationError?: string;
}

export interface TlsDescription {
  /** `TLSv1.3`, `TLSv1.2`, … */
  readonly protocol: string;
  /** OpenSSL cipher name (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`). */
  readonly cipher: string;
  readonly peerCertificate?: PeerCertificateInfo;
}

export interface ServerTlsOptions {
  /** How long a handshake may take (default 30 s). */
  readonly handshakeTimeoutMs?: number;
}

export interface ServerTls {
  readonly certificates: readonly ServerCertificate[];
  /** Enabled versions, lowest first. */
  readonly versions: readonly TlsVersion[];
  readonly requestsClientCertificate: boolean;
  readonly secureContextOptions: tls.SecureContextOptions;
  tlsServerOptions(): tls.TlsOptions;
  upgrade(socket: net.Socket): Promise<tls.TLSSocket>;
  describe(socket: tls.TLSSocket): TlsDescription;
}

/** The inbound TLS setup of `config`, or undefined when no server certificate is configured. */
export function buildServerTls(config: PetrelConfig, opts: ServerTlsOptions = {}): ServerTls | undefined {
  const files = values<string>(config.global, 'smtp-server-tls-certificate');
  if (files.length === 0) return undefined;

  const versions = enabledVersions(config);
  const common = protocolOptions(config, versions);
  const caFile = lastSetting<string>(config.global, 'smtp-server-tls-client-ca');
  const ca = caFile && !caFile.cleared ? readPem(caFile.value, 'smtp-server-tls-client-ca') : undefined;
  if (ca !== undefined && !/-----BEGIN CERTIFICATE-----/.test(ca)) {
    throw new TlsConfigError(`smtp-server-tls-client-ca: ${caFile!.value} holds no PEM certificate`, caFile!.value);
  }

  const entries = files.map((file) => {
    const pem = readPem(file, 'smtp-server-tls-certificate');
    const options: tls.SecureContextOptions = { ...common, cert: pem, key: pem, ...(ca !== undefined ? { ca } : {}) };
    let context: tls.SecureContext;
    let cert: X509Certificate;
    try {
      context = tls.createSecureContext(options);
      cert = new X509Certificate(pem);
    } catch (e) {
      throw new TlsConfigError(`smtp-server-tls-certificate: ${file} cannot be used: ${(e as Error).message}`, file);
    }
    const info: ServerCertificate = { file, names: certificateNames(cert), validTo: cert.validTo };
    return { info, options, context };
  });

  const first = entries[0]!;
  const sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const host = servername.toLowerCase().replace(/\.$/, '');
    const exact = entries.find((e) => e.info.names.some((n) => !n.startsWith('*.') && n === host));
    const wild = exact ?? entries.find((e) => e.info.names.some((n) => certificateNameMatches(n, host)));
    cb(null, (wild ?? first).context);
  };
  const requestCert = ca !== undefined;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 30_000;
  let injector: StartTlsInjector | undefined;

  const serverOptions = (): tls.TlsOptions => ({
    ...first.options,
    SNICallback: sniCallback,
    requestCert,
    rejectUnauthorized: false,
    handshakeTimeout: handshakeTimeoutMs,
  });

  return {
    certificates: entries.map((e) => e.info),
    versions,
    requestsClientCertificate: requestCert,
    secureContextOptions: first.options,
    tlsServerOptions: serverOptions,
    upgrade(socket: net.Socket): Promise<tls.TLSSocket> {
      injector ??= new StartTlsInjector(serverOptions(), handshakeTimeoutMs);
      return injector.upgrade(socket);
    },
    describe(socket: tls.TLSSocket): TlsDescription {
      const cipher = socket.getCipher() as tls.CipherNameAndProtocol | undefined;
      const peer = peerCertificateInfo(socket);
      return { protocol: socket.getProtocol() ?? 'unknown', cipher: cipher?.name ?? 'unknown', ...(peer ? { peerCertificate: peer } : {}) };
    },
  };
}

// ---- Versions and ciphers ---------------------------------------------------------

function boolSetting(config: PetrelConfig, name: string): boolean | undefined {
  const s = lastSetting<boolean>(config.global, name);
  return s && !s.cleared ? s.value : undefined;
}

function enabledVersions(config: PetrelConfig): TlsVersion[] {
  const enabled = new Set<TlsVersion>(['TLSv1.2', 'TLSv1.3']);
  const min = lastSetting<TlsVersion>(config.global, 'smtp-server-tls-min-version');
  if (min && !min.cleared) {
    enabled.clear();
    for (const v of ALL_VERSIONS.slice(ALL_VERSIONS.indexOf(min.value))) enabled.add(v);
  } else if (boolSetting(config, 'smtp-server-tls-allow-tlsv1.1') === true) {
    enabled.add('TLSv1.1');
  }
  if (boolSetting(config, 'smtp-server-tls-allow-tlsv1.2') === false) enabled.delete('TLSv1.2');
  if (boolSetting(config, 'smtp-server-tls-allow-tlsv1.3') === false) enabled.delete('TLSv1.3');
  const list = ALL_VERSIONS.filter((v) => enabled.has(v));
  if (list.length === 0) throw new TlsConfigError('the smtp-server-tls-allow-tlsv1.x / smtp-server-tls-min-version settings leave no TLS version enabled');
  return list;
}

function protocolOptions(config: PetrelConfig, versions: readonly TlsVersion[]): tls.SecureContextOptions {
  const minVersion = versions[0]!;
  const maxVersion = versions[versions.length - 1]!;
  let secureOptions = 0;
  for (const v of ALL_VERSIONS.slice(ALL_VERSIONS.indexOf(minVersion), ALL_VERSIONS.indexOf(maxVersion) + 1)) {
    if (!versions.includes(v)) secureOptions |= NO_VERSION_FLAG[v];
  }
  const configured = lastSetting<string>(config.global, 'smtp-server-tls-ciphers');
  let ciphers = configured && !configured.cleared && configured.value !== '' ? configured.value : undefined;
  if ((minVersion === 'TLSv1' || minVersion === 'TLSv1.1') && !/@SECLEVEL=/i.test(ciphers ?? '')) {
    ciphers = `${ciphers ?? tls.DEFAULT_CIPHERS}:@SECLEVEL=0`;
  }
  return {
    minVersion,
    maxVersion,
    ...(secureOptions !== 0 ? { secureOptions } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
  };
}

function readPem(file: string, directive: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TlsConfigError(`${directive}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
}

// ---- Names ----------------------------------------------------------------------

/** Subject CN and subjectAltName DNS names of a certificate, lower-case, without duplicates. */
function certificateNames(cert: X509Certificate): string[] {
  const names = new Set<string>();
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  if (cn) names.add(cn.trim().toLowerCase());
  for (const n of altNames(cert.subjectAltName, 'DNS')) names.add(n.toLowerCase());
  return [...names];
}

/** Values of one kind (`DNS`, `email`) in Node's subjectAltName text (`DNS:a, email:b`, values possibly JSON-quoted). */
function altNames(text: string | undefined, kind: string): string[] {
  if (!text) return [];
  const out: string[] = [];
  const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== kind) continue;
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v) as string;
      } catch {
        continue;
      }
    }
    out.push(v);
  }
  return out;
}

/** Does a certificate name (`mail.example.com`, `*.example.com`) cover `host`? Wildcards cover exactly one label. */
export function certificateNameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** The client certificate of a TLS socket, or undefined when the client sent none. */
export function peerCertificateInfo(socket: tls.TLSSocket): PeerCertificateInfo | undefined {
  const cert = socket.getPeerCertificate(false);
  if (!cert || Object.keys(cert).length === 0 || !cert.fingerprint256) return undefined;
  const cn = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const subjectCN = cn(cert.subject?.CN);
  const issuerCN = cn(cert.issuer?.CN);
  const authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  return {
    ...(subjectCN !== undefined ? { subjectCN } : {}),
    ...(issuerCN !== undefined ? { issuerCN } : {}),
    dnsNames: altNames(cert.subjectaltname, 'DNS'),
    emails: altNames(cert.subjectaltname, 'email'),
    fingerprint256: cert.fingerprint256,
    authorized: socket.authorized === true,
    ...(authorizationError !== undefined ? { authorizationError } : {}),
  };
}

// ---- STARTTLS ----------------------------------------------------------------------

interface Pending {
  settle(err: TlsHandshakeError | undefined, tlsSocket?: tls.TLSSocket): void;
}

function connectionKey(s: net.Socket): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = s;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${localAddress}|${localPort}|${remoteAddress}|${remotePort}`;
}

/**
 * STARTTLS upgrades go through one unlistened `tls.Server`, fed with
 * `server.emit('connection', socket)` (the documented way to hand a stream to
 * a TLS server). A bare `new tls.TLSSocket(socket, { isServer: true })` would
 * do the handshake too, but Node sets `authorized` / `authorizationError`
 * only for sockets a `tls.Server` made, and AUTH needs them. The server's
 * events carry the TLS socket, not the plain one, so a pending upgrade is
 * found by its TCP 4-tuple, unique among open connections.
 */
class StartTlsInjector {
  private readonly server: tls.Server;
  private readonly pending = new Map<string, Pending>();

  constructor(options: tls.TlsOptions, private readonly timeoutMs: number) {
    this.server = tls.createServer(options);
    this.server.on('secureConnection', (t: tls.TLSSocket) => this.take(t)?.settle(undefined, t));
    this.server.on('tlsClientError', (e: Error, t: tls.TLSSocket) => {
      const code = (e as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'handshake-timeout' : 'handshake-failed';
      this.take(t)?.settle(new TlsHandshakeError(code, `TLS handshake failed: ${e.message}`, e));
    });
  }

  private take(t: tls.TLSSocket): Pending | undefined {
    const key = connectionKey(t as net.Socket);
    const p = key === undefined ? undefined : this.pending.get(key);
    if (key !== undefined) this.pending.delete(key);
    return p;
  }

  upgrade(socket: net.Socket): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const key = connectionKey(socket);
      if (key === undefined || socket.destroyed) {
        socket.destroy();
        reject(new TlsHandshakeError('closed', 'the connection is closed; no TLS handshake possible'));
        return;
      }
      let done = false;
      const onClose = (): void => entry.settle(new TlsHandshakeError('closed', 'the client closed the connection during the TLS handshake'));
      const timer = setTimeout(() => entry.settle(new TlsHandshakeError('handshake-timeout', `no TLS handshake within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref?.();
      const entry: Pending = {
        settle: (err, t) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          socket.off('close', onClose);
          if (this.pending.get(key) === entry) this.pending.delete(key);
          if (err || !t) {
            socket.destroy();
            reject(err ?? new TlsHandshakeError('handshake-failed', 'TLS handshake failed'));
          } else {
            resolve(t);
          }
        },
      };
      // A stale entry for the same 4-tuple belongs to a connection that is gone.
      this.pending.get(key)?.settle(new TlsHandshakeError('closed', 'superseded by a new connection'));
      this.pending.set(key, entry);
      socket.once('close', onClose);
      // Swallow errors of the plain socket from here on: the TLS layer reports them.
      socket.on('error', () => {});
      try {
        this.server.emit('connection', socket);
      } catch (e) {
        entry.settle(new TlsHandshakeError('handshake-failed', `TLS setup failed: ${(e as Error).message}`, e));
      }
    });
  }
}
