/**
 * @module test/harness/smtp-sink-session
 *
 * One connection to the test SMTP sink (`smtp-sink.ts` has the options,
 * the behaviour table and what is recorded): a line-based RFC 5321 server
 * session with PIPELINING (RFC 2920), CHUNKING/BDAT (RFC 3030), STARTTLS
 * (RFC 3207) and AUTH PLAIN/LOGIN/CRAM-MD5 (RFC 4954, 4616, 2195).
 *
 * Exports: `SinkSession` (constructed by `SmtpSink` per accepted socket),
 * `Behaviour`, `rcptBehaviour(address)`.
 *
 * Invariants: input is consumed strictly in order by one pump, and a
 * command's reply is written before the next command is looked at; while a
 * reply is delayed (`slow-N`), later input waits in the buffer.
 */

import type * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import {
  LOGIN_PASSWORD_CHALLENGE,
  LOGIN_USERNAME_CHALLENGE,
  decodeLoginValue,
  decodePlain,
  encodeBase64,
  parseContinuation,
  parseCramMd5Response,
  parseInitialResponse,
  verifyCramMd5,
  type SaslInput,
} from '../../src/smtp/sasl.js';
import type { SinkConnection, SinkOptions, SmtpSink } from './smtp-sink.js';

export type Behaviour =
  | { kind: 'rcpt'; code: number; text: string; close: boolean }
  | { kind: 'data-reply'; code: number; text: string }
  | { kind: 'disconnect-in-data' }
  | { kind: 'slow'; ms: number }
  | { kind: 'noreply-in-data' }
  | { kind: 'accept' };

const RCPT_REPLIES: Record<string, [string, boolean?]> = {
  '450': ['4.2.0 Mailbox busy'],
  '451': ['4.3.0 Local error in processing'],
  '452': ['4.2.2 Mailbox full'],
  '550': ['5.1.1 <%s>: User unknown'],
  '552': ['5.2.2 Mailbox over quota'],
  '553': ['5.1.3 Mailbox name not allowed'],
  '554': ['5.7.1 <%s>: Recipient address rejected'],
  '421': ['4.7.0 Too many errors, closing connection', true],
};

/** What the sink does for this recipient address (the table in the module header). */
export function rcptBehaviour(address: string): Behaviour {
  const at = address.lastIndexOf('@');
  const local = (at < 0 ? address : address.slice(0, at)).replace(/^"|"$/g, '').toLowerCase();
  const code = /^(\d{3})-/.exec(local)?.[1];
  const rcpt = code === undefined ? undefined : RCPT_REPLIES[code];
  if (code && rcpt) return { kind: 'rcpt', code: Number(code), text: rcpt[0].replace('%s', address), close: rcpt[1] ?? false };
  if (local.startsWith('data550-')) return { kind: 'data-reply', code: 550, text: '5.7.1 Message content rejected' };
  if (local.startsWith('data451-')) return { kind: 'data-reply', code: 451, text: '4.3.0 Temporary failure after data' };
  if (local.startsWith('disconnect-in-data')) return { kind: 'disconnect-in-data' };
  if (local.startsWith('noreply-in-data')) return { kind: 'noreply-in-data' };
  const slow = /^slow-(\d+)/.exec(local);
  if (slow) return { kind: 'slow', ms: Number(slow[1]) };
  return { kind: 'accept' };
}

const MAX_COMMAND_LINE = 64 * 1024;

type Mode = 'command' | 'data' | 'bdat' | 'auth' | 'silent';

interface Transaction {
  from: string;
  mailParams: string[];
  recipients: Array<{ address: string; params: string[]; behaviour: Behaviour }>;
  body: Buffer[];
  size: number;
  bdat: boolean;
}

/** One SMTP connection. States: greeting → command ⇄ (data | bdat | auth) → closed; never back to greeting. */
export class SinkSession {
  #sink: SmtpSink;
  #socket: net.Socket;
  #conn: SinkConnection;
  #buf: Buffer = Buffer.alloc(0);
  #mode: Mode = 'command';
  #pumping = false;
  #closed = false;
  #rejectAll = false; // after a 554 banner
  #ehlo = false;
  #tx: Transaction | undefined;
  #bdatLeft = 0;
  #bdatLast = false;
  #authStep: ((input: SaslInput) => void) | undefined;

  constructor(sink: SmtpSink, socket: net.Socket) {
    this.#sink = sink;
    this.#socket = socket;
    this.#conn = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localPort: socket.localPort ?? 0,
      openedAt: Date.now(),
      commands: [],
    };
    sink.connections.push(this.#conn);
    sink.notify();
    this.#attach(socket);
    void this.#greet();
  }

  #attach(socket: net.Socket): void {
    socket.on('data', this.#onData);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  #onData = (chunk: Buffer): void => {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    void this.#pump();
  };

  async #greet(): Promise<void> {
    const { banner = 'ok', bannerDelayMs = 2000 } = this.#sink.opts;
    const name = this.#sink.hostname;
    if (banner === 'none') return this.#setMode('silent');
    if (banner === '421') return this.#close(`421 4.3.2 ${name} Service not available, closing transmission channel`);
    if (banner === '554') {
      this.#rejectAll = true;
      return this.#reply(`554 5.3.2 ${name} No SMTP service here`);
    }
    if (banner === 'slow') await this.#sink.delay(bannerDelayMs);
    this.#reply(`220 ${name} ESMTP Petrel test sink`);
  }

  #reply(...lines: string[]): void {
    if (this.#closed || this.#socket.destroyed) return;
    // A multi-line reply: "250-" on every line but the last (RFC 5321 §4.2.1).
    const code = lines[0]!.slice(0, 3);
    const text = lines.map((l, i) => (i === 0 ? l.slice(4) : l));
    this.#socket.write(text.map((t, i) => `${code}${i === text.length - 1 ? ' ' : '-'}${t}\r\n`).join(''));
  }

  #close(line?: string): void {
    if (line) this.#reply(line);
    this.#closed = true;
    this.#mode = 'silent';
    this.#socket.end();
  }

  #setMode(mode: Mode): void {
    this.#mode = mode;
  }

  /** Drain the input buffer one command (or chunk) at a time, in order; awaits keep later input waiting. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#buf.length > 0) {
        if (this.#mode === 'silent') {
          this.#buf = Buffer.alloc(0);
          break;
        }
        if ((this.#mode === 'data' || this.#mode === 'bdat') && this.#tx?.recipients.some((r) => r.behaviour.kind === 'disconnect-in-data')) {
          this.#socket.destroy(); // message bytes have started to arrive: hang up mid-transfer
          break;
        }
        if (this.#mode === 'bdat') {
          const take = Math.min(this.#bdatLeft, this.#buf.length);
          this.#tx?.body.push(this.#buf.subarray(0, take));
          if (this.#tx) this.#tx.size += take;
          this.#buf = this.#buf.subarray(take);
          this.#bdatLeft -= take;
          if (this.#bdatLeft === 0) await this.#endBdatChunk();
          continue;
        }
        const lf = this.#buf.indexOf(0x0a);
        if (lf < 0) {
          if (this.#mode !== 'data' && this.#buf.length > MAX_COMMAND_LINE) {
            this.#buf = Buffer.alloc(0);
            this.#reply('500 5.5.6 Line too long');
          }
          break;
        }
        const line = this.#buf.subarray(0, lf + 1);
        this.#buf = this.#buf.subarray(lf + 1);
        if (this.#mode === 'data') await this.#dataLine(line);
        else await this.#commandLine(line.toString('utf8').replace(/\r?\n$/, ''));
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #dataLine(line: Buffer): Promise<void> {
    const tx = this.#tx!;
    if (line.length <= 3 && line[0] === 0x2e && (line.length === 2 || line[1] === 0x0d)) {
      this.#mode = 'command';
      return this.#finish('DATA');
    }
    const unstuffed = line[0] === 0x2e ? line.subarray(1) : line; // RFC 5321 §4.5.2
    tx.body.push(unstuffed);
    tx.size += unstuffed.length;
  }

  async #endBdatChunk(): Promise<void> {
    this.#mode = 'command';
    const tx = this.#tx;
    if (!tx || !tx.recipients.some((r) => r.behaviour.kind !== 'rcpt')) {
      this.#reply(tx ? '554 5.5.1 No valid recipients' : '503 5.5.1 MAIL first');
      return;
    }
    if (this.#bdatLast) return this.#finish('BDAT');
    this.#reply(`250 2.0.0 ${tx.size} octets received`);
  }

  /** The reply to the end of the message, per the recipients' behaviours. */
  async #finish(via: 'DATA' | 'BDAT'): Promise<void> {
    const tx = this.#tx!;
    this.#tx = undefined;
    const accepted = tx.recipients.filter((r) => r.behaviour.kind !== 'rcpt');
    const behaviours = accepted.map((r) => r.behaviour);
    if (behaviours.some((b) => b.kind === 'noreply-in-data')) return this.#setMode('silent');
    const slow = Math.max(0, ...behaviours.map((b) => (b.kind === 'slow' ? b.ms : 0)));
    if (slow > 0) await this.#sink.delay(slow);
    if (this.#sink.stopped || this.#closed) return;
    const refusal = behaviours.find((b) => b.kind === 'data-reply');
    if (refusal?.kind === 'data-reply') return this.#reply(`${refusal.code} ${refusal.text}`);
    const limit = this.#sizeLimit();
    if (limit > 0 && tx.size > limit) return this.#reply('552 5.3.4 Message size exceeds fixed maximum message size');
    const id = this.#sink.record({
      from: tx.from,
      mailParams: tx.mailParams,
      recipients: accepted.map(({ address, params }) => ({ address, params })),
      body: Buffer.concat(tx.body),
      remoteAddress: this.#conn.remoteAddress,
      ...(this.#conn.helo !== undefined ? { helo: this.#conn.helo } : {}),
      tls: this.#conn.tls !== undefined,
      ...(this.#conn.authUser !== undefined ? { authUser: this.#conn.authUser } : {}),
      via,
    });
    this.#reply(`250 2.0.0 Ok: queued as ${id}`);
  }

  #sizeLimit(): number {
    return this.#sink.opts.extensions?.size ?? 52_428_800;
  }

  #ext(name: keyof NonNullable<SinkOptions['extensions']>): boolean {
    return this.#sink.opts.extensions?.[name] !== false;
  }

  async #commandLine(line: string): Promise<void> {
    if (this.#mode === 'auth') return this.#authStep?.(parseContinuation(line));
    this.#conn.commands.push(line);
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
    if (this.#rejectAll && verb !== 'QUIT') return this.#reply('503 5.5.1 No SMTP service here, only QUIT');
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.#helo(verb, arg);
      case 'STARTTLS':
        return this.#starttls();
      case 'AUTH':
        return this.#auth(arg);
      case 'MAIL':
        return this.#mail(arg);
      case 'RCPT':
        return this.#rcpt(arg);
      case 'DATA':
        return this.#data();
      case 'BDAT':
        return this.#bdat(arg);
      case 'RSET':
        this.#tx = undefined;
        return this.#reply('250 2.0.0 Ok');
      case 'NOOP':
        return this.#reply('250 2.0.0 Ok');
      case 'VRFY':
        return this.#reply('252 2.5.2 Cannot VRFY user, but will accept message');
      case 'QUIT':
        return this.#close('221 2.0.0 Bye');
      default:
        return this.#reply('500 5.5.2 Command not recognized');
    }
  }

  #helo(verb: 'EHLO' | 'HELO', arg: string): void {
    if (!arg) return this.#reply(`501 5.5.4 Syntax: ${verb} hostname`);
    if (verb === 'EHLO' && this.#sink.opts.ehlo === 'fail') return this.#reply('502 5.5.1 EHLO not supported');
    this.#tx = undefined;
    this.#conn.helo = arg;
    this.#ehlo = verb === 'EHLO';
    if (verb === 'HELO') return this.#reply(`250 ${this.#sink.hostname}`);
    const lines = [`250 ${this.#sink.hostname} greets ${arg}`];
    if (this.#ext('pipelining')) lines.push('PIPELINING');
    if (this.#ext('size')) lines.push(`SIZE ${this.#sizeLimit()}`);
    if (this.#ext('eightBitMime')) lines.push('8BITMIME');
    if (this.#ext('smtputf8')) lines.push('SMTPUTF8');
    lines.push('ENHANCEDSTATUSCODES');
    if (this.#ext('dsn')) lines.push('DSN');
    if (this.#ext('chunking')) lines.push('CHUNKING');
    if (this.#sink.secureContext && !this.#conn.tls && this.#ext('starttls')) lines.push('STARTTLS');
    if (this.#sink.opts.auth) lines.push('AUTH PLAIN LOGIN CRAM-MD5');
    this.#reply(...lines);
  }

  /** RFC 3207 §4: 220, then the handshake on the same socket; §4.2: start over after it. */
  #starttls(): void {
    const ctx = this.#sink.secureContext;
    if (!ctx || !this.#ext('starttls')) return this.#reply('502 5.5.1 STARTTLS not available');
    if (this.#conn.tls) return this.#reply('503 5.5.1 TLS already active');
    this.#reply('220 2.0.0 Ready to start TLS');
    this.#buf = Buffer.alloc(0); // pipelined plaintext after STARTTLS is discarded
    const raw = this.#socket;
    raw.off('data', this.#onData);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
    this.#socket = secure;
    this.#setMode('silent'); // until the handshake is done
    secure.on('error', () => raw.destroy());
    secure.once('secure', () => {
      const cipher = secure.getCipher();
      this.#conn.tls = { protocol: secure.getProtocol() ?? '', cipher: cipher.name };
      this.#conn.helo = undefined;
      this.#conn.authUser = undefined;
      this.#ehlo = false;
      this.#tx = undefined;
      this.#setMode('command');
      secure.on('data', this.#onData);
    });
  }

  /** RFC 4954: PLAIN, LOGIN and CRAM-MD5 against the one configured account. */
  #auth(arg: string): void {
    const account = this.#sink.opts.auth;
    if (!account) return this.#reply('502 5.5.1 AUTH not available');
    if (!this.#ehlo) return this.#reply('503 5.5.1 EHLO first');
    if (this.#conn.authUser !== undefined) return this.#reply('503 5.5.1 Already authenticated');
    if (this.#tx) return this.#reply('503 5.5.1 AUTH not allowed during a mail transaction');
    const [mech = '', initial] = arg.split(/\s+/);
    const done = (user: string | undefined, ok: boolean) => {
      this.#setMode('command');
      this.#authStep = undefined;
      if (!ok || user === undefined) return this.#reply('535 5.7.8 Authentication credentials invalid');
      this.#conn.authUser = user;
      this.#reply('235 2.7.0 Authentication successful');
    };
    const ask = (challenge: string, next: (data: Buffer) => void) => {
      this.#setMode('auth');
      this.#authStep = (input) => {
        if (input.kind === 'cancel') return this.#authFail('501 5.0.0 Authentication cancelled');
        if (input.kind !== 'data') return this.#authFail('501 5.5.2 Cannot decode response');
        next(input.data);
      };
      this.#reply(`334 ${challenge}`);
    };
    const first = parseInitialResponse(initial);
    if (first.kind === 'invalid') return this.#reply('501 5.5.2 Cannot decode response');
    switch (mech.toUpperCase()) {
      case 'PLAIN': {
        const check = (data: Buffer) => {
          const creds = decodePlain(data);
          done(creds?.authcid, creds?.authcid === account.username && creds.password === account.password);
        };
        return first.kind === 'data' ? check(first.data) : ask('', check);
      }
      case 'LOGIN': {
        const password = (user: string | undefined) => (data: Buffer) =>
          done(user, user === account.username && decodeLoginValue(data) === account.password);
        const username = (data: Buffer) => ask(LOGIN_PASSWORD_CHALLENGE, password(decodeLoginValue(data)));
        return first.kind === 'data' ? username(first.data) : ask(LOGIN_USERNAME_CHALLENGE, username);
      }
      case 'CRAM-MD5': {
        if (first.kind !== 'none') return this.#reply('501 5.5.2 CRAM-MD5 takes no initial response');
        const challenge = `<${randomBytes(8).toString('hex')}.${Date.now()}@${this.#sink.hostname}>`; // RFC 2195 §2
        return ask(encodeBase64(challenge), (data) => {
          const resp = parseCramMd5Response(data);
          done(resp?.username, resp?.username === account.username && verifyCramMd5(challenge, account.password, resp.digest));
        });
      }
      default:
        return this.#reply('504 5.5.4 Unrecognized authentication type');
    }
  }

  #authFail(line: string): void {
    this.#setMode('command');
    this.#authStep = undefined;
    this.#reply(line);
  }

  #mail(arg: string): void {
    if (!this.#conn.helo) return this.#reply('503 5.5.1 Send HELO/EHLO first');
    if (this.#sink.opts.requireTls && !this.#conn.tls) return this.#reply('530 5.7.0 Must issue a STARTTLS command first');
    if (this.#tx) return this.#reply('503 5.5.1 Nested MAIL command');
    const m = /^FROM:\s*<([^>]*)>\s*(.*)$/i.exec(arg);
    if (!m) return this.#reply('501 5.5.4 Syntax: MAIL FROM:<address>');
    const params = m[2] ? m[2].split(/\s+/) : [];
    const size = params.find((p) => /^SIZE=/i.test(p));
    const limit = this.#sizeLimit();
    if (size && limit > 0 && Number(size.slice(5)) > limit) {
      return this.#reply('552 5.3.4 Message size exceeds fixed maximum message size');
    }
    this.#tx = { from: m[1]!, mailParams: params, recipients: [], body: [], size: 0, bdat: false };
    this.#reply('250 2.1.0 Ok');
  }

  #rcpt(arg: string): void {
    const tx = this.#tx;
    if (!tx) return this.#reply('503 5.5.1 Need MAIL command');
    const m = /^TO:\s*<([^>]+)>\s*(.*)$/i.exec(arg);
    if (!m) return this.#reply('501 5.5.4 Syntax: RCPT TO:<address>');
    const address = m[1]!;
    const behaviour = rcptBehaviour(address);
    tx.recipients.push({ address, params: m[2] ? m[2].split(/\s+/) : [], behaviour });
    if (behaviour.kind !== 'rcpt') return this.#reply('250 2.1.5 Ok');
    if (behaviour.close) return this.#close(`${behaviour.code} ${behaviour.text}`);
    this.#reply(`${behaviour.code} ${behaviour.text}`);
  }

  #data(): void {
    const tx = this.#tx;
    if (!tx) return this.#reply('503 5.5.1 Need MAIL command');
    if (tx.bdat) return this.#reply('503 5.5.1 DATA not allowed after BDAT');
    if (!tx.recipients.some((r) => r.behaviour.kind !== 'rcpt')) return this.#reply('554 5.5.1 No valid recipients');
    this.#mode = 'data';
    this.#reply('354 End data with <CR><LF>.<CR><LF>');
  }

  /** RFC 3030 §2: `BDAT size [LAST]`; the octets follow at once and are read even if the command fails. */
  async #bdat(arg: string): Promise<void> {
    const m = /^(\d+)(?:\s+(LAST))?$/i.exec(arg);
    if (!this.#ext('chunking')) return this.#reply('502 5.5.1 CHUNKING not available');
    if (!m) return this.#reply('501 5.5.4 Syntax: BDAT size [LAST]');
    if (this.#tx) this.#tx.bdat = true;
    this.#bdatLeft = Number(m[1]);
    this.#bdatLast = m[2] !== undefined;
    this.#mode = 'bdat';
    if (this.#bdatLeft === 0) return this.#endBdatChunk();
  }
}
