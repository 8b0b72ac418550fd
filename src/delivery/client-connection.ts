/**
 * @module delivery/client-connection
 *
 * One outbound SMTP connection as a stream of parsed replies: the socket
 * (plain, then TLS after STARTTLS), Petrel's incremental `ReplyParser`, and
 * one timer per wait. It knows nothing of SMTP's command order; the client
 * says how many replies each write must produce.
 *
 * Exports:
 *  - `ClientConnection.open(opts)` → connected (CONNECT_REFUSED /
 *    CONNECT_TIMEOUT as `SmtpClientError`).
 *  - `conn.read(phase, timeoutMs, timeoutCode)` → the next `ParsedReply`.
 *  - `conn.send(text, replies)`: one write of one or more commands.
 *  - `conn.sendData(buffers, replies, timeoutMs, phase)`: a body, flow-controlled.
 *  - `conn.upgrade(tlsOptions, timeoutMs)` → the `TLSSocket` (RFC 3207).
 *  - `conn.close()`, `conn.failed`, `conn.localAddress`, `conn.remoteAddress`.
 *  - `toRemoteReply(reply, phase, mta)`.
 *
 * Invariants:
 *  - At most one `read` waits at a time, and every wait has a timer: no
 *    operation can hang, whatever the server does.
 *  - Replies are counted: a reply nobody asked for is a PROTOCOL_ERROR, so
 *    a server talking out of turn cannot grow the queue (memory is bounded
 *    by the commands in flight plus the parser's limits).
 *  - The first failure (parse error, timeout, reset, close, TLS) is final:
 *    the socket is destroyed and every later `read` rejects with it. Replies
 *    that arrived before the failure are still read first (a 421 followed by
 *    a close is seen as the 421).
 *  - No promise is left rejected without a reader: `read` rejects only the
 *    promise it returned, and socket errors are always listened for.
 *  - After STARTTLS nothing the server sent in clear is kept (RFC 3207 §4.2,
 *    the client side of CVE-2011-0411): extra bytes after the 220 are a
 *    PROTOCOL_ERROR.
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { ReplyParser, type ParsedReply, type ReplyParseError } from '../smtp/reply.js';
import { SmtpClientError, localReply, clipText, type ClientErrorCode } from './client-errors.js';
import type { RemoteReply } from './types.js';

type Phase = RemoteReply['phase'];

export interface OpenOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly connectTimeoutMs: number;
  /** `hostname (ip)`, for replies. */
  readonly mta: string;
  /** Octets per reply (default 65536); lines are limited to min(this, 4096). */
  readonly maxReplyBytes?: number;
}

/** A reply as accounting records it: lines joined by a space, text cut. */
export function toRemoteReply(reply: ParsedReply, phase: Phase, mta: string): RemoteReply {
  return {
    code: reply.code,
    ...(reply.enhanced !== undefined ? { enhanced: reply.enhanced } : {}),
    text: clipText(reply.lines.join(' ').trim()),
    phase,
    mta,
  };
}

function describeParseError(e: ReplyParseError): string {
  switch (e.kind) {
    case 'LINE_TOO_LONG':
      return `reply line longer than ${e.limit} octets`;
    case 'TOO_MANY_LINES':
      return `reply of more than ${e.limit} lines`;
    case 'REPLY_TOO_LARGE':
      return `reply larger than ${e.limit} octets`;
    case 'INVALID_CODE':
      return `invalid reply line: ${JSON.stringify(e.line)}`;
    case 'MISMATCHED_CODE':
      return `multi-line reply changed code from ${e.expected}: ${JSON.stringify(e.line)}`;
    case 'TRUNCATED':
      return `connection closed in the middle of a reply (${e.octets} octets)`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

interface Failure {
  readonly code: ClientErrorCode;
  readonly text: string;
  readonly cause?: unknown;
}

interface Waiter {
  readonly phase: Phase;
  readonly resolve: (r: ParsedReply) => void;
  readonly reject: (e: SmtpClientError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Bodies are written in slices of this size; each slice must drain within the data-send timeout. */
const DATA_SLICE = 1 << 20;

export class ClientConnection {
  readonly mta: string;
  #socket: net.Socket;
  readonly #limits: { maxLineOctets: number; maxReplyOctets: number };
  #parser: ReplyParser;
  #queue: ParsedReply[] = [];
  /** Replies still owed by the server for what was sent (1: the greeting). */
  #expected = 1;
  #failure: Failure | undefined;
  #waiter: Waiter | undefined;
  #socketError: Error | undefined;
  readonly localAddress: string;
  readonly remoteAddress: string;

  private constructor(socket: net.Socket, opts: OpenOptions) {
    this.mta = opts.mta;
    this.#socket = socket;
    const maxReply = Math.max(512, opts.maxReplyBytes ?? 65536);
    this.#limits = { maxLineOctets: Math.min(maxReply, 4096), maxReplyOctets: maxReply };
    this.#parser = new ReplyParser(this.#limits);
    this.localAddress = socket.localAddress ?? '';
    this.remoteAddress = socket.remoteAddress ?? opts.host;
    this.#attach(socket);
  }

  /** Connects (binding `localAddress` when given) within `connectTimeoutMs`. */
  static open(opts: OpenOptions): Promise<ClientConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: opts.host,
        port: opts.port,
        ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
      });
      let done = false;
      const finish = (err: SmtpClientError | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.removeListener('error', onError);
        if (err !== undefined) {
          socket.on('error', () => undefined);
          socket.destroy();
          reject(err);
          return;
        }
        socket.setNoDelay(true);
        resolve(new ClientConnection(socket, opts));
      };
      const onError = (e: NodeJS.ErrnoException): void => {
        finish(new SmtpClientError('CONNECT_REFUSED', localReply('CONNECT_REFUSED', 'connect', `connect to ${opts.host}:${opts.port} failed: ${e.code ?? e.message}`, opts.mta), { cause: e }));
      };
      const timer = setTimeout(() => {
        finish(new SmtpClientError('CONNECT_TIMEOUT', localReply('CONNECT_TIMEOUT', 'connect', `connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeoutMs} ms`, opts.mta)));
      }, opts.connectTimeoutMs);
      socket.once('error', onError);
      socket.once('connect', () => finish(undefined));
    });
  }

  /** The socket in use (a `TLSSocket` after `upgrade`). */
  get socket(): net.Socket {
    return this.#socket;
  }

  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** The next reply, or a typed failure; `timeoutCode` names a timeout. */
  read(phase: Phase, timeoutMs: number, timeoutCode: ClientErrorCode = 'COMMAND_TIMEOUT'): Promise<ParsedReply> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#failure !== undefined) return Promise.reject(this.#error(this.#failure, phase));
    if (this.#waiter !== undefined) return Promise.reject(new Error('ClientConnection.read: a read is already waiting (internal error)'));
    return new Promise<ParsedReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail({ code: timeoutCode, text: `no reply to ${phase.toUpperCase()} within ${timeoutMs} ms` });
      }, timeoutMs);
      this.#waiter = { phase, resolve, reject, timer };
    });
  }

  /** Writes one or more command lines at once; the server owes `replies` replies for them. */
  send(text: string, replies: number): void {
    if (this.#failure !== undefined) return;
    this.#expected += replies;
    this.#socket.write(text, 'utf8');
  }

  /**
   * Writes a body (or a BDAT command and its chunk): under one cork, so a
   * small message is one segment; a large one in slices, each of which
   * must drain within `timeoutMs` (DATA_TIMEOUT otherwise).
   */
  async sendData(buffers: readonly Uint8Array[], replies: number, timeoutMs: number, phase: Phase): Promise<void> {
    if (this.#failure !== undefined) throw this.#error(this.#failure, phase);
    this.#expected += replies;
    const sock = this.#socket;
    let corked = 0;
    let ok = true;
    sock.cork();
    for (const b of buffers) {
      for (let off = 0; off < b.length; off += DATA_SLICE) {
        const slice = off === 0 && b.length <= DATA_SLICE ? b : b.subarray(off, off + DATA_SLICE);
        ok = sock.write(slice);
        corked += slice.length;
        if (!ok || corked >= DATA_SLICE) {
          sock.uncork();
          corked = 0;
          if (!ok) await this.#drain(timeoutMs, phase);
          if (this.#failure !== undefined) throw this.#error(this.#failure, phase);
          sock.cork();
        }
      }
    }
    sock.uncork();
    if (sock.writableNeedDrain) await this.#drain(timeoutMs, phase);
    if (this.#failure !== undefined) throw this.#error(this.#failure, phase);
  }

  #drain(timeoutMs: number, phase: Phase): Promise<void> {
    return new Promise((resolve) => {
      if (this.#failure !== undefined) return resolve();
      const sock = this.#socket;
      const done = (): void => {
        clearTimeout(timer);
        sock.removeListener('drain', done);
        sock.removeListener('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#fail({ code: 'DATA_TIMEOUT', text: `could not send the message data within ${timeoutMs} ms (${phase.toUpperCase()})` });
        done();
      }, timeoutMs);
      sock.on('drain', done);
      sock.on('close', done);
    });
  }

  /**
   * STARTTLS after the server's 220 (RFC 3207 §4): wraps the socket in TLS
   * and resolves once the handshake is done. Any byte the server sent after
   * the 220 is a PROTOCOL_ERROR; a failed handshake is TLS_HANDSHAKE_FAILED.
   */
  upgrade(options: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
    if (this.#failure !== undefined) return Promise.reject(this.#error(this.#failure, 'starttls'));
    if (this.#queue.length > 0 || this.#parser.inProgress) {
      const f: Failure = { code: 'PROTOCOL_ERROR', text: 'server sent data after its 220 reply to STARTTLS' };
      this.#fail(f);
      return Promise.reject(this.#error(f, 'starttls'));
    }
    const raw = this.#socket;
    this.#detach(raw);
    raw.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ ...options, socket: raw });
      let done = false;
      const finish = (err: Failure | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.removeListener('error', onError);
        sock.removeListener('close', onClose);
        sock.on('error', () => undefined);
        this.#socket = sock;
        this.#parser = new ReplyParser(this.#limits);
        this.#expected = 0;
        this.#attach(sock);
        if (err !== undefined) {
          this.#fail(err);
          reject(this.#error(err, 'starttls'));
          return;
        }
        resolve(sock);
      };
      const onError = (e: Error): void => finish({ code: 'TLS_HANDSHAKE_FAILED', text: `TLS handshake failed: ${e.message}`, cause: e });
      const onClose = (): void => finish({ code: 'TLS_HANDSHAKE_FAILED', text: 'connection closed during the TLS handshake' });
      const timer = setTimeout(() => finish({ code: 'TLS_HANDSHAKE_FAILED', text: `TLS handshake not done within ${timeoutMs} ms` }), timeoutMs);
      sock.once('secureConnect', () => finish(undefined));
      sock.on('error', onError);
      sock.on('close', onClose);
    });
  }

  /** Closes at once (no QUIT); later reads reject with CONNECTION_LOST. */
  close(): void {
    this.#fail({ code: 'CONNECTION_LOST', text: 'connection closed by Petrel' });
  }

  /** Fails the connection with a given code (e.g. a 421 or a verification failure seen by the caller). */
  abort(code: ClientErrorCode, text: string): void {
    this.#fail({ code, text });
  }

  // --- internals -------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    for (const ev of this.#parser.push(chunk)) {
      if (ev.type === 'error') {
        this.#fail({ code: 'PROTOCOL_ERROR', text: describeParseError(ev.error) });
        return;
      }
      if (this.#expected <= 0) {
        // An idle server announcing its shutdown (RFC 5321 §3.8) is not garbage.
        if (ev.reply.code === 421) {
          this.#fail({ code: 'SERVICE_UNAVAILABLE', text: `server closed the idle connection: 421 ${ev.reply.lines.join(' ').slice(0, 200)}` });
          return;
        }
        this.#fail({ code: 'PROTOCOL_ERROR', text: `unexpected reply: ${ev.reply.code} ${ev.reply.lines.join(' ').slice(0, 80)}` });
        return;
      }
      this.#expected--;
      const w = this.#waiter;
      if (w !== undefined) {
        this.#waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(ev.reply);
      } else {
        this.#queue.push(ev.reply);
      }
    }
  };

  readonly #onError = (e: Error): void => {
    this.#socketError ??= e;
  };

  readonly #onClose = (): void => {
    for (const ev of this.#parser.end()) {
      if (ev.type === 'error') {
        this.#fail({ code: 'CONNECTION_LOST', text: describeParseError(ev.error) });
        return;
      }
    }
    const e = this.#socketError as NodeJS.ErrnoException | undefined;
    this.#fail({ code: 'CONNECTION_LOST', text: e !== undefined ? `connection lost: ${e.code ?? e.message}` : 'connection closed by the server', cause: e });
  };

  #attach(sock: net.Socket): void {
    sock.on('data', this.#onData);
    sock.on('error', this.#onError);
    sock.on('close', this.#onClose);
  }

  #detach(sock: net.Socket): void {
    sock.removeListener('data', this.#onData);
    sock.removeListener('error', this.#onError);
    sock.removeListener('close', this.#onClose);
  }

  #error(f: Failure, phase: Phase): SmtpClientError {
    return new SmtpClientError(f.code, localReply(f.code, phase, f.text, this.mta), f.cause !== undefined ? { cause: f.cause } : {});
  }

  #fail(f: Failure): void {
    if (this.#failure !== undefined) return;
    this.#failure = f;
    this.#socket.destroy();
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      clearTimeout(w.timer);
      w.reject(this.#error(f, w.phase));
    }
  }
}
