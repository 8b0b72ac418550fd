/**
 * @module delivery/smtp-client
 *
 * Petrel's outbound SMTP client: one connection to one MX address, carrying
 * one message after another (STYLE habit 18: the connection layer; pools,
 * MX choice and retries wrap it, they are not inside it). Built on the pure
 * protocol engine of `smtp/`.
 *
 * Exports:
 *  - `ClientOptions`, `ClientTimeouts`, `DEFAULT_TIMEOUTS` (PowerMTA's:
 *    connect 2m, greeting 5m, command 5m, data-send 3m, data-termination 10m).
 *  - `SmtpClient`:
 *     - `SmtpClient.connect(opts, clock?)` → a session ready for MAIL:
 *       connect (bound to `localAddress`), greeting, EHLO (HELO when EHLO
 *       gets 5xx), STARTTLS per `opts.tls` and EHLO again, AUTH when
 *       configured. Rejects with `SmtpClientError` only (see
 *       `client-errors.ts`; `failureOutcomes()` turns it into outcomes).
 *     - `send(tx)` → `TransactionResult` (see `client-transaction.ts`):
 *       never rejects for what the server or network does.
 *     - `reset()` (RSET), `quit()` (QUIT then close; never rejects),
 *       `close()` (abrupt).
 *     - `usable`, `capabilities`, `extensions`, `tls`, `esmtpKeywords`,
 *       `localAddress`, `remoteAddress`, `mta`, `facts`, `connectedAt`,
 *       `lastUsedAt`, `transactions`.
 *  - Re-exports the transaction and error types.
 *
 * Session states, which never go backwards:
 *     connecting → ready ⇄ busy (one transaction or RSET at a time)
 *                  ready → closed (QUIT, close(), or any failure)
 *  A session that saw a timeout, a reset, garbage or a 421 is closed at
 *  once and never carries another message (`usable` is false).
 *
 * Time: `connectedAt` / `lastUsedAt` come from the injected `Clock` (pools
 * use them for `connection-idle-timeout`); protocol timeouts are timers on
 * the socket's operations (`client-connection.ts`).
 */

import { parseEhloReply, type EhloCapabilities } from '../smtp/ehlo.js';
import { systemClock, type Clock } from '../util/clock.js';
import { authenticate, type ClientAuthOptions } from './client-auth.js';
import { ClientConnection, toRemoteReply } from './client-connection.js';
import { SmtpClientError, failureOutcomes, localReply } from './client-errors.js';
import { negotiateTls, type ClientTlsOptions } from './client-tls.js';
import { runTransaction, type SessionExtensions, type Transaction, type TransactionResult, type TransactionSession } from './client-transaction.js';
import type { DeliveryFacts, TlsResult } from './types.js';

export type { Transaction, TransactionRecipient, TransactionResult, SessionExtensions } from './client-transaction.js';
export type { ClientTlsOptions } from './client-tls.js';
export type { ClientAuthOptions } from './client-auth.js';
export { SmtpClientError, isSmtpClientError, failureOutcomes, CLIENT_ERROR_CODES, type ClientErrorCode } from './client-errors.js';

/** Milliseconds per phase. */
export interface ClientTimeouts {
  /** TCP connect (PowerMTA `connect-timeout`). */
  readonly connect: number;
  /** The 220 greeting (`smtp-greeting-timeout`). */
  readonly greeting: number;
  /** Each reply to EHLO, STARTTLS (and its handshake), AUTH, MAIL, RCPT, DATA, RSET, QUIT. */
  readonly command: number;
  /** Sending the data: each MiB must drain within it (`data-send-timeout`). */
  readonly dataSend: number;
  /** The reply to the final dot or BDAT LAST (`smtp-data-termination-timeout`). */
  readonly dataTermination: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = Object.freeze({
  connect: 120_000,
  greeting: 300_000,
  command: 300_000,
  dataSend: 180_000,
  dataTermination: 600_000,
});

export interface ClientOptions {
  /** IP address to connect to. */
  readonly host: string;
  readonly port: number;
  /** The MX host name: SNI, certificate name check, `mta` in replies. */
  readonly hostname?: string;
  /** Local IP to bind (the VMTA's `smtp-source-host`). */
  readonly localAddress?: string;
  /** EHLO/HELO name (the VMTA's host name). */
  readonly heloName: string;
  readonly timeouts: ClientTimeouts;
  readonly tls: ClientTlsOptions;
  readonly auth?: ClientAuthOptions;
  /** PowerMTA `ignore-pipelining`, `ignore-chunking`, `ignore-dsn`, `ignore-8bitmime`. */
  readonly ignore?: { readonly pipelining?: boolean; readonly chunking?: boolean; readonly dsn?: boolean; readonly eightBitMime?: boolean };
  /** Largest reply accepted from the server, in octets (default 65536). */
  readonly maxReplyBytes?: number;
}

export class SmtpClient {
  readonly #conn: ClientConnection;
  readonly #clock: Clock;
  readonly #session: TransactionSession;
  readonly capabilities: EhloCapabilities;
  readonly extensions: SessionExtensions;
  readonly tls: TlsResult | undefined;
  readonly esmtpKeywords: string;
  readonly facts: DeliveryFacts;
  readonly connectedAt: number;
  #lastUsedAt: number;
  #busy = false;
  #closed = false;
  #transactions = 0;

  private constructor(conn: ClientConnection, opts: ClientOptions, caps: EhloCapabilities, tls: TlsResult | undefined, clock: Clock) {
    this.#conn = conn;
    this.#clock = clock;
    this.capabilities = caps;
    this.tls = tls;
    const ig = opts.ignore ?? {};
    this.extensions = Object.freeze({
      pipelining: caps.has('PIPELINING') && ig.pipelining !== true,
      chunking: caps.has('CHUNKING') && ig.chunking !== true,
      dsn: caps.has('DSN') && ig.dsn !== true,
      eightBitMime: caps.has('8BITMIME') && ig.eightBitMime !== true,
      smtputf8: caps.has('SMTPUTF8'),
      size: caps.size,
    });
    this.esmtpKeywords = [...caps.keywords.keys()].join(',');
    this.facts = Object.freeze({
      sourceIp: conn.localAddress,
      destinationIp: conn.remoteAddress,
      destinationHost: opts.hostname ?? opts.host,
      esmtpAvailable: this.esmtpKeywords,
      ...(tls !== undefined ? { tlsProtocol: tls.protocol, tlsCipher: tls.cipher } : {}),
    });
    this.connectedAt = clock.now();
    this.#lastUsedAt = this.connectedAt;
    this.#session = {
      conn,
      ext: this.extensions,
      facts: this.facts,
      commandTimeoutMs: opts.timeouts.command,
      dataSendTimeoutMs: opts.timeouts.dataSend,
      dataTerminationTimeoutMs: opts.timeouts.dataTermination,
      needsReset: false,
    };
  }

  /** Opens a session ready for MAIL, or rejects with `SmtpClientError`. */
  static async connect(opts: ClientOptions, clock: Clock = systemClock): Promise<SmtpClient> {
    const mta = `${opts.hostname ?? opts.host} (${opts.host})`;
    const t = opts.timeouts;
    const conn = await ClientConnection.open({
      host: opts.host,
      port: opts.port,
      connectTimeoutMs: t.connect,
      mta,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      ...(opts.maxReplyBytes !== undefined ? { maxReplyBytes: opts.maxReplyBytes } : {}),
    });
    try {
      // Greeting (RFC 5321 §4.3.1: 220, or 554 / 421 refusing service).
      const greeting = await conn.read('greeting', t.greeting, 'GREETING_TIMEOUT');
      if (greeting.code !== 220) {
        const r = toRemoteReply(greeting, 'greeting', mta);
        if (greeting.code === 421) throw new SmtpClientError('SERVICE_UNAVAILABLE', r);
        throw new SmtpClientError('REMOTE_REJECTED', r, { kind: greeting.code >= 500 ? 'bounced' : 'deferred' });
      }
      let caps = await hello(conn, opts);
      const tls = await negotiateTls(conn, caps, opts.tls, { hostname: opts.hostname, commandTimeoutMs: t.command });
      if (tls !== undefined) caps = await hello(conn, opts, true); // RFC 3207 §4.2: forget what was learnt in clear
      if (opts.auth !== undefined) await authenticate(conn, caps, opts.auth, tls !== undefined, t.command);
      return new SmtpClient(conn, opts, caps, tls, clock);
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  get localAddress(): string {
    return this.#conn.localAddress;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  /** `hostname (ip)`, as in every reply's `mta`. */
  get mta(): string {
    return this.#conn.mta;
  }

  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  /** Transactions attempted on this connection. */
  get transactions(): number {
    return this.#transactions;
  }

  /** True when the session can carry another message now. */
  get usable(): boolean {
    return !this.#closed && !this.#busy && !this.#conn.failed;
  }

  /**
   * One message. On a connection that is already closed every recipient is
   * deferred (scope host, CONNECTION_LOST); concurrent use is an internal
   * error and throws.
   */
  async send(tx: Transaction): Promise<TransactionResult> {
    if (this.#busy) throw new Error('SmtpClient.send: the session is busy (internal error: one transaction at a time)');
    if (this.#closed || this.#conn.failed) {
      const err = new SmtpClientError('CONNECTION_LOST', localReply('CONNECTION_LOST', 'mail', 'the connection is closed', this.mta));
      return { outcomes: failureOutcomes(err, tx.recipients.map((r) => r.id), this.facts), messageSent: false, error: err };
    }
    this.#busy = true;
    this.#transactions++;
    try {
      return await runTransaction(this.#session, tx);
    } finally {
      this.#busy = false;
      this.#lastUsedAt = this.#clock.now();
      if (this.#conn.failed) this.#closed = true;
    }
  }

  /** RSET (RFC 5321 §4.1.1.5); rejects with `SmtpClientError` and closes when it fails. */
  async reset(): Promise<void> {
    if (this.#busy) throw new Error('SmtpClient.reset: the session is busy (internal error)');
    if (this.#closed || this.#conn.failed) {
      throw new SmtpClientError('CONNECTION_LOST', localReply('CONNECTION_LOST', 'rset', 'the connection is closed', this.mta));
    }
    this.#busy = true;
    try {
      this.#conn.send('RSET\r\n', 1);
      const r = await this.#conn.read('rset', this.#session.commandTimeoutMs);
      if (r.code === 421) throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(r, 'rset', this.mta));
      if (Math.floor(r.code / 100) !== 2) throw new SmtpClientError('REMOTE_REJECTED', toRemoteReply(r, 'rset', this.mta), { kind: 'deferred' });
      this.#session.needsReset = false;
    } catch (e) {
      this.#closed = true;
      this.#conn.close();
      throw e;
    } finally {
      this.#busy = false;
      this.#lastUsedAt = this.#clock.now();
    }
  }

  /** QUIT (RFC 5321 §4.1.1.10), then close; never rejects. */
  async quit(): Promise<void> {
    if (this.#closed || this.#conn.failed || this.#busy) {
      this.close();
      return;
    }
    this.#closed = true;
    this.#conn.send('QUIT\r\n', 1);
    await this.#conn.read('quit', this.#session.commandTimeoutMs).catch(() => undefined);
    this.#conn.close();
  }

  /** Closes at once, without QUIT. */
  close(): void {
    this.#closed = true;
    this.#conn.close();
  }
}

/** EHLO, or HELO when EHLO gets 5xx (RFC 5321 §3.2). After TLS, only EHLO. */
async function hello(conn: ClientConnection, opts: ClientOptions, afterTls = false): Promise<EhloCapabilities> {
  const t = opts.timeouts.command;
  conn.send(`EHLO ${opts.heloName}\r\n`, 1);
  const r = await conn.read('ehlo', t);
  if (Math.floor(r.code / 100) === 2) return parseEhloReply(r);
  if (r.code === 421) throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(r, 'ehlo', conn.mta));
  if (r.code < 500 || afterTls) throw new SmtpClientError('REMOTE_REJECTED', toRemoteReply(r, 'ehlo', conn.mta), { kind: 'deferred' });
  conn.send(`HELO ${opts.heloName}\r\n`, 1);
  const h = await conn.read('helo', t);
  if (Math.floor(h.code / 100) === 2) return parseEhloReply({ code: 250, lines: [h.lines[0] ?? ''] });
  if (h.code === 421) throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(h, 'helo', conn.mta));
  throw new SmtpClientError('REMOTE_REJECTED', toRemoteReply(h, 'helo', conn.mta), { kind: 'deferred' });
}
