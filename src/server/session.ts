/**
 * @module server/session
 *
 * One inbound SMTP connection: reads bytes, frames them (command lines,
 * DATA with dot-unstuffing, BDAT chunks, SASL lines), dispatches commands
 * through the table in `commands.ts`, and writes replies.
 *
 * Invariants (stated here, kept here):
 *   - Replies go out in command order. Replies to pipelined commands are
 *     batched and written once per burst of input, and always before the
 *     session waits on anything (RFC 2920 §3.2).
 *   - No byte received before a STARTTLS handshake is interpreted after it
 *     (RFC 3207 §4.2, CVE-2011-0411): the buffers are discarded.
 *   - A 250 for a message is written only after `MessageIntake.commit()`
 *     resolved, i.e. after the spool's fsync (DESIGN invariant 1).
 *   - Input is processed strictly in order: while a commit or an AUTH check
 *     is pending, later bytes wait (and the socket is paused if they pile up).
 *   - Nothing a client sends can throw out of this class: every failure is
 *     a reply, at worst `421` and a closed connection, never a crash.
 *
 * Exports: `Session`, `SessionMode`, `Transaction`.
 */
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { Mailbox, ReversePath } from '../smtp/address.js';
import { reply as ctxReply, type ReplyContext } from '../smtp/enhanced-codes.js';
import { BdatReader, DataDecoder, LineReader, type LineEvent } from '../smtp/framing.js';
import type { MailParams, RcptParams } from '../smtp/params.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import { SessionPolicy } from '../policy/session-policy.js';
import { dispatchLine } from './commands.js';
import type { ListenerInfo, ServerContext } from './context.js';
import { finishBdatChunk, finishData } from './transfer.js';
import type { MessageIntake } from './intake.js';
import { handleAuthLine, type AuthExchange } from './sasl-exchange.js';

export type SessionMode = 'command' | 'auth' | 'data' | 'bdat' | 'tls' | 'closed';

export interface Transaction {
  readonly from: ReversePath;
  readonly params: MailParams;
  readonly recipients: Array<{ readonly mailbox: Mailbox | undefined; readonly address: string; readonly params: RcptParams }>;
  intake?: MessageIntake;
  /** BDAT: a chunk failed; the rest of the transaction is read and refused. */
  bdatError?: Reply;
}

let counter = 0;
const prefix = randomBytes(3).toString('hex');
const HIGH_WATER = 4 * 1024 * 1024;
/** Bytes of command input without a line end after which the client is cut off. */
const FLOOD_LIMIT = 32 * 1024;

export class Session {
  readonly id = `${prefix}${(counter++).toString(36).padStart(4, '0')}`;
  readonly policy: SessionPolicy;
  readonly startedAt: number;
  socket: net.Socket;
  mode: SessionMode = 'command';
  reader: LineReader;
  heloName: string | undefined;
  esmtp = false;
  tlsInfo: { protocol: string; cipher: string } | undefined;
  authUser: string | undefined;
  tx: Transaction | undefined;
  errors = 0;
  messages = 0;
  data: DataDecoder | undefined;
  bdat: BdatReader | undefined;
  bdatLast = false;
  auth: AuthExchange | undefined;
  #inbox: Buffer[] = [];
  #inboxBytes = 0;
  #busy = false;
  #sinceLine = 0;
  #out: string[] = [];
  #closing = false;
  #onClose: Array<() => void> = [];

  constructor(
    readonly ctx: ServerContext,
    socket: net.Socket,
    readonly listener: ListenerInfo,
    readonly clientIp: string,
  ) {
    this.socket = socket;
    this.startedAt = ctx.clock.now();
    this.policy = new SessionPolicy(ctx.resolver, clientIp, listener.source);
    this.reader = new LineReader({ maxLineOctets: this.policy.limit('max-command-line-length', 512) });
    if (socket instanceof tls.TLSSocket) this.tlsInfo = ctx.tls?.describe(socket);
    this.#attach(socket);
  }

  get isTls(): boolean {
    return this.tlsInfo !== undefined;
  }

  get authenticated(): boolean {
    return this.authUser !== undefined;
  }

  /** Sends the greeting (or refuses the client), then waits for commands. */
  start(): void {
    if (this.ctx.shuttingDown) {
      this.replyNow(ctxReply('SHUTTING_DOWN', `${this.ctx.hostname} Service shutting down`));
      this.close();
      return;
    }
    if (!this.policy.bool('smtp-service', true)) {
      this.ctx.log.info('connection refused by smtp-service no', { session: this.id, ip: this.clientIp });
      this.replyNow(ctxReply('NO_SERVICE', `${this.ctx.hostname} No SMTP service for ${this.clientIp}`));
      this.close();
      return;
    }
    if (this.policy.bool('log-connections', false)) this.ctx.log.info('connection', { session: this.id, ip: this.clientIp, listener: this.listener.text });
    this.replyNow({ code: 220, lines: [`${this.ctx.hostname} ESMTP Petrel`] });
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  // ---- output -------------------------------------------------------------

  /** Queues a reply; it is written with the rest of the burst. */
  reply(r: Reply): void {
    this.#out.push(formatReply(r, { enhancedStatusCodes: true }));
  }

  replyCtx(context: ReplyContext, text?: string | string[]): void {
    this.reply(ctxReply(context, text));
  }

  /** Queues a reply and writes everything queued. */
  replyNow(r: Reply): void {
    this.reply(r);
    this.flush();
  }

  flush(): void {
    if (this.#out.length === 0 || this.socket.destroyed) {
      this.#out.length = 0;
      return;
    }
    const text = this.#out.length === 1 ? this.#out[0]! : this.#out.join('');
    this.#out.length = 0;
    this.socket.write(text);
  }

  /** Counts a client error; past `max-errors-per-connection`, 421 and close. Returns true when closing. */
  countError(): boolean {
    this.errors++;
    if (this.errors >= this.policy.limit('max-errors-per-connection', 20)) {
      this.replyCtx('TOO_MANY_ERRORS', `${this.ctx.hostname} Too many errors, closing connection`);
      this.close();
      return true;
    }
    return false;
  }

  /** Flushes, then ends the connection. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.mode = 'closed';
    this.flush();
    void this.tx?.intake?.abort();
    this.socket.end();
    // A client that never reads must not keep the socket: destroy after a grace period.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Resets the mail transaction (RSET, after a message, after STARTTLS). */
  resetTransaction(): void {
    const intake = this.tx?.intake;
    this.tx = undefined;
    this.data = undefined;
    this.bdat = undefined;
    if (intake) void intake.abort();
  }

  // ---- input --------------------------------------------------------------

  #attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.ctx.timeouts.command);
    socket.on('data', this.#onData);
    socket.on('timeout', this.#onTimeout);
    socket.on('error', this.#onError);
    socket.on('close', this.#onSocketClose);
  }

  #detach(socket: net.Socket): void {
    socket.off('data', this.#onData);
    socket.off('timeout', this.#onTimeout);
    socket.off('error', this.#onError);
    socket.off('close', this.#onSocketClose);
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.mode === 'closed' || this.mode === 'tls') return;
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.length;
    if (!this.#busy) void this.#drain();
    else if (this.#inboxBytes > HIGH_WATER) this.socket.pause();
  };

  readonly #onTimeout = (): void => {
    if (this.mode === 'closed') return;
    this.ctx.log.info('timeout', { session: this.id, ip: this.clientIp, mode: this.mode });
    this.replyCtx('TIMEOUT', `${this.ctx.hostname} Timeout, closing transmission channel`);
    this.close();
  };

  readonly #onError = (err: Error): void => {
    this.ctx.log.debug('socket error', { session: this.id, ip: this.clientIp, error: err.message });
  };

  readonly #onSocketClose = (): void => {
    this.mode = 'closed';
    this.#inbox = [];
    void this.tx?.intake?.abort();
    if (this.policy.bool('log-connections', false)) {
      this.ctx.log.info('disconnect', { session: this.id, ip: this.clientIp, messages: this.messages, ms: this.ctx.clock.now() - this.startedAt });
    }
    for (const fn of this.#onClose) fn();
  };

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#inbox.length > 0 && this.mode !== 'closed' && this.mode !== 'tls') {
        const chunk = this.#inbox.shift()!;
        this.#inboxBytes -= chunk.length;
        await this.#consume(chunk);
      }
    } catch (e) {
      // An internal fault must never take the process down: answer 421 and drop this client only.
      this.ctx.log.error('session fault', { session: this.id, error: String((e as Error)?.stack ?? e) });
      this.replyCtx('LOCAL_ERROR', 'Local error in processing');
      this.close();
    } finally {
      this.#busy = false;
      this.flush();
      if (this.socket.isPaused() && this.mode !== 'closed' && this.mode !== 'tls') this.socket.resume();
    }
  }

  async #consume(chunk: Buffer): Promise<void> {
    let input: Buffer | undefined = chunk;
    while (input !== undefined && input.length > 0) {
      switch (this.mode) {
        case 'data':
          input = await this.#dataInput(input);
          break;
        case 'bdat':
          input = await this.#bdatInput(input);
          break;
        case 'command':
        case 'auth': {
          this.reader.push(input);
          this.#sinceLine += input.length;
          input = undefined;
          let ev: LineEvent | undefined;
          while ((this.mode === 'command' || this.mode === 'auth') && (ev = this.reader.next()) !== undefined) {
            if (ev.type === 'line') this.#sinceLine = this.reader.buffered;
            const pending = this.mode === 'auth' ? handleAuthLine(this, ev) : dispatchLine(this, ev);
            if (pending) {
              this.flush();
              await pending;
            }
          }
          if (this.#sinceLine > Math.max(FLOOD_LIMIT, 16 * this.reader.maxLineOctets) && (this.mode as SessionMode) !== 'closed') {
            // A flood without line ends: the reader keeps memory bounded; the connection must not stay either.
            this.ctx.log.info('flood without CRLF', { session: this.id, ip: this.clientIp, octets: this.#sinceLine });
            this.replyCtx('LINE_TOO_LONG', 'Line too long; closing connection');
            this.close();
            return;
          }
          const now = this.mode as SessionMode;
          if (now === 'data' || now === 'bdat') {
            const rest = this.reader.takeBuffered();
            input = rest.length > 0 ? rest : undefined;
          }
          break;
        }
        default:
          return;
      }
    }
  }

  /** DATA content; returns the bytes after the terminating `.` (pipelined commands). */
  async #dataInput(input: Buffer): Promise<Buffer | undefined> {
    const decoder = this.data!;
    const res = decoder.push(input);
    const intake = this.tx?.intake;
    if (intake) for (const c of res.chunks) intake.push(c);
    if (!res.done) return undefined;
    this.data = undefined;
    this.socket.setTimeout(this.ctx.timeouts.command);
    this.mode = 'command';
    this.flush();
    await finishData(this, res.outcome);
    return res.rest.length > 0 ? res.rest : undefined;
  }

  async #bdatInput(input: Buffer): Promise<Buffer | undefined> {
    const reader = this.bdat!;
    const res = reader.push(input);
    const tx = this.tx;
    if (tx?.intake && !tx.bdatError && res.data.length > 0) tx.intake.push(res.data);
    if (!res.done) return undefined;
    this.bdat = undefined;
    this.socket.setTimeout(this.ctx.timeouts.command);
    this.mode = 'command';
    this.flush();
    await finishBdatChunk(this);
    return res.rest.length > 0 ? res.rest : undefined;
  }

  /** STARTTLS after `220`: throw away everything buffered, hand the socket to TLS, start over. */
  async startTls(): Promise<void> {
    const provider = this.ctx.tls!;
    this.flush();
    this.mode = 'tls';
    this.reader.discardBuffered();
    this.#inbox = [];
    this.#inboxBytes = 0;
    const plain = this.socket;
    this.#detach(plain);
    plain.setTimeout(0);
    let secure: tls.TLSSocket;
    try {
      secure = await provider.upgrade(plain);
    } catch (e) {
      this.ctx.log.info('TLS handshake failed', { session: this.id, ip: this.clientIp, error: String((e as Error)?.message ?? e) });
      this.mode = 'closed';
      plain.destroy();
      for (const fn of this.#onClose) fn();
      return;
    }
    this.socket = secure;
    this.tlsInfo = provider.describe(secure);
    // RFC 3207 §4.2: the server must discard any knowledge obtained from the client before TLS.
    this.heloName = undefined;
    this.esmtp = false;
    this.authUser = undefined;
    this.policy.reset();
    this.resetTransaction();
    this.#attach(secure);
    this.mode = 'command';
  }
}
