/**
 * @module test/harness/smtp-sink
 *
 * A receiving SMTP server (RFC 5321) for delivery tests: it plays the remote
 * MX, and what it answers is chosen by the recipient's local part, so one
 * sink can accept, defer, reject, stall or hang up within a single test.
 * A test peer, not production code: small, line-based, strict where a
 * client bug would otherwise go unnoticed.
 *
 * Exports:
 *  - `SmtpSink`: `start(opts)`, `host`, `port`, `messages`, `connections`,
 *    `waitForMessages(n, ms)`, `waitForConnections(n, ms)`, `stop()`.
 *  - `SinkOptions`, `ReceivedMessage`, `SinkConnection`; and, from
 *    `smtp-sink-session.ts` (the per-connection protocol), `Behaviour` and
 *    `rcptBehaviour(address)`.
 *
 * Behaviour by recipient local part (case-insensitive prefix):
 *   `450-` 450 4.2.0, `451-` 451 4.3.0, `452-` 452 4.2.2, `550-` 550 5.1.1,
 *   `552-` 552 5.2.2, `553-` 553 5.1.3, `554-` 554 5.7.1, `421-` 421 4.7.0 and
 *   close; anything else 250. After the data, for a message with such a
 *   recipient: `data550-` 550 5.7.1, `data451-` 451 4.3.0,
 *   `disconnect-in-data` close as soon as message bytes arrive,
 *   `slow-N` wait N ms before the final reply, `noreply-in-data` never reply.
 *
 * Contracts:
 *  - Commands are handled strictly in order, one reply each, so PIPELINING
 *    batches (RFC 2920 §3) get their replies in order.
 *  - DATA ends at CRLF.CRLF and is dot-unstuffed (RFC 5321 §4.5.2); BDAT
 *    reads exactly the announced octets (RFC 3030 §2). `body` holds the bytes.
 *  - A message is recorded in `messages` only when answered 250, and only
 *    with the recipients that were answered 250.
 *  - STARTTLS discards anything the client pipelined after it and forgets
 *    the EHLO and AUTH state (RFC 3207 §4.2).
 *  - After a `554` banner every command but QUIT gets 503 (RFC 5321 §3.1).
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { SinkSession } from './smtp-sink-session.js';

export { rcptBehaviour, type Behaviour } from './smtp-sink-session.js';

export interface SinkOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  hostname?: string;
  /** 'slow' waits `bannerDelayMs` (default 2000) before the 220; 'none' never greets. */
  banner?: 'ok' | '421' | '554' | 'slow' | 'none';
  bannerDelayMs?: number;
  /** PEM file holding the certificate and its key; enables STARTTLS. */
  tls?: { cert: string } | undefined;
  requireTls?: boolean;
  auth?: { username: string; password: string };
  extensions?: {
    pipelining?: boolean;
    chunking?: boolean;
    smtputf8?: boolean;
    dsn?: boolean;
    /** SIZE limit in octets; 0 advertises no limit. */
    size?: number;
    eightBitMime?: boolean;
    starttls?: boolean;
  };
  /** 'fail' answers EHLO with 502 so the client falls back to HELO. */
  ehlo?: 'ok' | 'fail';
}

export interface ReceivedMessage {
  queueId: string;
  from: string;
  mailParams: string[];
  recipients: Array<{ address: string; params: string[] }>;
  body: Buffer;
  remoteAddress: string;
  helo?: string;
  tls: boolean;
  authUser?: string;
  via: 'DATA' | 'BDAT';
}

export interface SinkConnection {
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  /** When the sink accepted the connection (ms since the epoch). */
  openedAt: number;
  helo?: string;
  tls?: { protocol: string; cipher: string };
  authUser?: string;
  /** Command lines as received (not message bytes, not SASL continuations). */
  commands: string[];
}

export class SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  readonly messages: ReceivedMessage[] = [];
  readonly connections: SinkConnection[] = [];

  readonly opts: SinkOptions;
  readonly secureContext: tls.SecureContext | undefined;
  #server: net.Server;
  #sockets = new Set<net.Socket>();
  #timers = new Set<NodeJS.Timeout>();
  #waiters = new Set<() => void>();
  #nextId = 1;
  #stopped = false;

  private constructor(server: net.Server, opts: SinkOptions, secureContext: tls.SecureContext | undefined) {
    this.#server = server;
    this.opts = opts;
    this.secureContext = secureContext;
    const addr = server.address() as net.AddressInfo;
    this.host = addr.address;
    this.port = addr.port;
    this.hostname = opts.hostname ?? 'mx.sink.test';
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      new SinkSession(this, socket);
    });
  }

  static async start(opts: SinkOptions = {}): Promise<SmtpSink> {
    const pem = opts.tls ? readFileSync(opts.tls.cert) : undefined;
    const ctx = pem ? tls.createSecureContext({ cert: pem, key: pem }) : undefined;
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new SmtpSink(server, opts, ctx);
  }

  /** Resolves once `n` messages were accepted; rejects after `timeoutMs`. */
  waitForMessages(n: number, timeoutMs = 5000): Promise<void> {
    return this.#waitFor(() => this.messages.length >= n, timeoutMs, () => `${this.messages.length} of ${n} messages`);
  }

  /** Resolves once `n` connections were made; rejects after `timeoutMs`. */
  waitForConnections(n: number, timeoutMs = 5000): Promise<void> {
    return this.#waitFor(() => this.connections.length >= n, timeoutMs, () => `${this.connections.length} of ${n} connections`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  // --- For sessions ----------------------------------------------------------

  /** A timer that `stop()` cancels. */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  record(msg: Omit<ReceivedMessage, 'queueId'>): string {
    const queueId = `SINK${this.#nextId++}`;
    this.messages.push({ queueId, ...msg });
    this.notify();
    return queueId;
  }

  notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  #waitFor(done: () => boolean, timeoutMs: number, progress: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`SmtpSink: timed out after ${timeoutMs} ms with ${progress()}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}
