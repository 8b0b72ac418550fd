/**
 * A scripted SMTP client for dialogue tests: send exactly the bytes a test
 * wants (pipelined, malformed, split anywhere) and read the server's
 * replies one at a time, parsed by Petrel's own ReplyParser.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ReplyParser, type Reply } from '../../src/smtp/reply.js';

export class SmtpTestClient {
  #parser = new ReplyParser();
  #replies: Reply[] = [];
  #waiters: Array<(r: Reply | undefined) => void> = [];
  #closed = false;
  socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.#attach(socket);
  }

  static connect(port: number, host = '127.0.0.1', opts: { localAddress?: string } = {}): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, () => resolve(new SmtpTestClient(sock)));
      sock.once('error', reject);
    });
  }

  static connectTls(port: number, host = '127.0.0.1', opts: tls.ConnectionOptions = {}): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ port, host, rejectUnauthorized: false, ...opts }, () => resolve(new SmtpTestClient(sock)));
      sock.once('error', reject);
    });
  }

  #attach(sock: net.Socket): void {
    sock.on('data', (b: Buffer) => {
      for (const ev of this.#parser.push(b)) {
        if ('reply' in ev) this.#deliver(ev.reply as Reply);
      }
    });
    sock.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(undefined);
    });
    sock.on('error', () => undefined);
  }

  #deliver(r: Reply): void {
    const w = this.#waiters.shift();
    if (w) w(r);
    else this.#replies.push(r);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next reply; undefined when the server closed the connection first. */
  read(timeoutMs = 10_000): Promise<Reply | undefined> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply within timeout')), timeoutMs);
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async cmd(line: string): Promise<Reply> {
    this.write(line + '\r\n');
    const r = await this.read();
    if (!r) throw new Error(`connection closed after ${line}`);
    return r;
  }

  /** Upgrades after a 220 to STARTTLS. */
  async startTls(opts: tls.ConnectionOptions = {}): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.#parser = new ReplyParser();
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false, servername: 'mail.example.test', ...opts }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.#attach(secure);
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('server did not close the connection')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `250-a` / `250 b` → the reply as one string `250 a\nb` for easy matching. */
export function text(r: Reply | undefined): string {
  if (!r) return '(closed)';
  return `${r.code} ${r.enhanced ? r.enhanced + ' ' : ''}${r.lines.join('\n')}`;
}
