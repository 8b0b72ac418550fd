/**
 * @module server/listener
 *
 * `SmtpServer`: every `smtp-listener IP:port` of the configuration, plain
 * (STARTTLS offered when a certificate is configured) or implicit TLS
 * (`tls=implicit`, RFC 8314, port 465), each connection handed to a
 * `Session`.
 *
 * Connection limits, checked before the greeting:
 *   - `total-max-smtp-in` across all listeners;
 *   - `max-smtp-in` of the client's `<source>` (resolved for its IP), per client IP.
 *   Over a limit: `421 4.7.0 Too many connections` and the connection closes.
 *
 * Graceful stop: new connections get `421 4.3.2` and are closed; idle
 * sessions get `421 4.3.2` and close; sessions in a transaction finish it
 * (their next command then gets 421); whatever is left after the grace
 * period is cut, then the listeners close.
 *
 * Exports: `SmtpServer`, `BoundListener`, `listenerInfos`.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import * as tls from 'node:tls';
import { values } from '../config/model.js';
import type { Listener } from '../config/types.js';
import { cidrContains } from '../config/ip.js';
import { reply as ctxReply } from '../smtp/enhanced-codes.js';
import { formatReply } from '../smtp/reply.js';
import type { ListenerInfo, ServerContext } from './context.js';
import { Session } from './session.js';

export interface BoundListener {
  readonly info: ListenerInfo;
  readonly address: string;
  readonly port: number;
}

/** The listeners a configuration asks for, with CIDR listeners expanded to this host's matching addresses. */
export function listenerInfos(listeners: readonly Listener[]): ListenerInfo[] {
  const out: ListenerInfo[] = [];
  const local = Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => i !== undefined)
    .map((i) => i.address);
  for (const l of listeners) {
    const implicitTls = l.options['tls'] === 'implicit';
    const source = l.options['source'];
    const base = { text: l.text, port: l.port, implicitTls, ...(source ? { source } : {}) };
    if (l.cidr && l.cidr.prefix > 0 && l.cidr.prefix < (l.family === 4 ? 32 : 128)) {
      for (const a of local) if (net.isIP(a) === l.family && cidrContains(l.cidr, a)) out.push({ ...base, address: a });
    } else out.push({ ...base, address: l.address });
  }
  return out;
}

function listenerKey(i: ListenerInfo): string {
  return `${i.address}|${i.port}|${i.implicitTls ? 'tls' : 'plain'}|${i.source ?? ''}`;
}

function normalizeIp(ip: string | undefined): string {
  if (!ip) return '0.0.0.0';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

export class SmtpServer {
  #servers: Array<{ key: string; server: net.Server }> = [];
  #sessions = new Set<Session>();
  #perIp = new Map<string, number>();
  #bound: BoundListener[] = [];
  #sessionsTotal = 0;
  #tlsTotal = 0;

  constructor(private ctx: ServerContext) {}

  /** Sessions open now. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Inbound sessions since start and how many used TLS (implicit, or STARTTLS by the time they closed). */
  tlsShare(): { sessions: number; tls: number } {
    return { sessions: this.#sessionsTotal, tls: this.#tlsTotal };
  }

  get listeners(): readonly BoundListener[] {
    return this.#bound;
  }

  /** Swaps the shared context (reload): new sessions use the new one. */
  setContext(ctx: ServerContext): void {
    this.ctx = ctx;
  }

  /** Opens every listener; rejects (closing what it opened) if one cannot be bound. */
  async listen(infos: readonly ListenerInfo[] = listenerInfos(values<Listener>(this.ctx.config.global, 'smtp-listener'))): Promise<BoundListener[]> {
    try {
      for (const info of infos) await this.#open(info);
    } catch (e) {
      await this.stop(0);
      throw e;
    }
    return this.#bound;
  }

  async #open(info: ListenerInfo): Promise<void> {
    let server: net.Server;
    if (info.implicitTls) {
      if (!this.ctx.tls) throw new Error(`listener ${info.text} has tls=implicit but no smtp-server-tls-certificate is configured`);
      const t = tls.createServer(this.ctx.tls.tlsServerOptions(), (sock) => this.#accept(sock, info));
      t.on('tlsClientError', (err, sock) => {
        this.ctx.log.debug('TLS handshake failed', { listener: info.text, ip: normalizeIp(sock.remoteAddress), error: err.message });
        sock.destroy();
      });
      server = t;
    } else {
      server = net.createServer((sock) => this.#accept(sock, info));
    }
    server.on('error', (err) => this.ctx.log.error('listener error', { listener: info.text, error: err.message }));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`cannot listen on ${info.address}:${info.port} (${info.text}): ${err.message}`));
      server.once('error', onError);
      server.listen({ host: info.address, port: info.port, exclusive: true, backlog: 1024 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    this.#servers.push({ key: listenerKey(info), server });
    this.#bound.push({ info, address: addr.address, port: addr.port });
    this.ctx.log.info('listening', { listener: info.text, address: addr.address, port: addr.port, tls: info.implicitTls ? 'implicit' : 'starttls' });
  }

  #accept(socket: net.Socket, info: ListenerInfo): void {
    const ip = normalizeIp(socket.remoteAddress);
    socket.on('error', () => undefined); // errors are handled by the session, or the socket is simply gone
    const total = this.ctx.resolver.global<number>('total-max-smtp-in').value;
    const named = info.source ? [info.source] : [];
    const perIp = this.ctx.resolver.source<number>('max-smtp-in', ip, named).value;
    const current = this.#perIp.get(ip) ?? 0;
    if ((typeof total === 'number' && this.#sessions.size >= total) || (typeof perIp === 'number' && current >= perIp)) {
      this.ctx.log.info('connection refused: limit', { ip, listener: info.text, open: this.#sessions.size, fromIp: current });
      socket.end(formatReply(ctxReply('TOO_MANY_CONNECTIONS', `${this.ctx.hostname} Too many connections, try again later`), { enhancedStatusCodes: true }));
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new Session(this.ctx, socket, info, ip);
    this.#sessions.add(session);
    this.#perIp.set(ip, current + 1);
    this.#sessionsTotal++;
    session.onClose(() => {
      if (session.isTls) this.#tlsTotal++;
      if (!this.#sessions.delete(session)) return;
      const n = (this.#perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, n);
    });
    session.start();
  }

  /**
   * Reload: opens the listeners that are new, closes the ones that are gone
   * (their sessions finish), keeps the rest (and their connections) as they are.
   */
  async reconcile(infos: readonly ListenerInfo[]): Promise<void> {
    const wanted = new Map(infos.map((i) => [listenerKey(i), i]));
    const keep: Array<{ key: string; server: net.Server }> = [];
    for (const entry of this.#servers) {
      if (wanted.has(entry.key)) {
        keep.push(entry);
        wanted.delete(entry.key);
      } else {
        entry.server.close();
        this.#bound = this.#bound.filter((b) => listenerKey(b.info) !== entry.key);
        this.ctx.log.info('listener closed by reload', { listener: entry.key });
      }
    }
    this.#servers = keep;
    for (const info of wanted.values()) await this.#open(info);
  }

  /**
   * Stops accepting, lets transactions in progress finish for up to `graceMs`,
   * then cuts what is left. Resolves when every connection is closed.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.ctx.shuttingDown = true;
    for (const s of this.#sessions) {
      s.ctx.shuttingDown = true; // sessions opened before a reload hold the older context
      if (!s.tx && (s.mode === 'command' || s.mode === 'auth')) {
        s.replyCtx('SHUTTING_DOWN', `${this.ctx.hostname} Service shutting down, try again later`);
        s.close();
      }
    }
    // Listeners stay open while transactions finish, so that a new client hears
    // "421 4.3.2 shutting down" (and retries later) instead of a refused connection.
    const deadline = Date.now() + graceMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const closing = this.#servers.map(({ server }) => new Promise<void>((r) => server.close(() => r())));
    this.#servers = [];
    for (const s of this.#sessions) s.socket.destroy();
    this.#sessions.clear();
    await Promise.all(closing);
  }
}
