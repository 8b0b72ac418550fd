/**
 * Shared pieces of the end-to-end delivery suites (test/delivery/*.test.ts):
 * submitting mail to a running Petrel over SMTP, and waiting for the
 * recipients' outcomes as the spool reports them (`spool.observe`: every
 * event is durable before observers hear of it).
 *
 * A recipient id is `<message id>.<index>` in envelope order
 * (src/spool/ids.ts), so a test knows its recipients' ids from the order it
 * sent RCPT in, even when delivery finishes before it could look.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { SmtpTestClient } from '../harness/smtp-client.js';
import type { RunningPetrel } from '../harness/petrel.js';
import type { SpoolEvent } from '../../src/spool/types.js';

export type RcptEvent = Extract<SpoolEvent, { recipientId: string }>;
export type OutcomeEvent = Extract<RcptEvent, { type: 'delivered' | 'bounced' | 'deferred' | 'expired' }>;

const OUTCOMES = new Set(['delivered', 'bounced', 'deferred', 'expired']);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every recipient event of one Petrel, in order, with waits on them. */
export class Outcomes {
  readonly events: RcptEvent[] = [];
  /** Arrival time of each message enqueued since the observer started. */
  readonly arrivedAt = new Map<string, number>();
  #waiters = new Set<() => void>();

  constructor(petrel: RunningPetrel) {
    petrel.mta.spool.observe((e) => {
      if (e.type === 'enqueued') this.arrivedAt.set(e.messageId, e.envelope.arrivedAt);
      if (!('recipientId' in e)) return;
      this.events.push(e);
      for (const w of [...this.#waiters]) w();
    });
  }

  /** The outcome events of one recipient (delivered, bounced, deferred, expired), oldest first. */
  of(rid: string): OutcomeEvent[] {
    return this.events.filter((e): e is OutcomeEvent => e.recipientId === rid && OUTCOMES.has(e.type));
  }

  /** Any event types of one recipient, oldest first (leased, deferred, ...). */
  typesOf(rid: string): string[] {
    return this.events.filter((e) => e.recipientId === rid).map((e) => e.type);
  }

  /** The first event (already seen or still to come) that satisfies `pred`. */
  waitFor<E extends RcptEvent>(pred: (e: RcptEvent) => e is E, what: string, timeoutMs?: number): Promise<E>;
  waitFor(pred: (e: RcptEvent) => boolean, what: string, timeoutMs?: number): Promise<RcptEvent>;
  waitFor(pred: (e: RcptEvent) => boolean, what: string, timeoutMs = 15_000): Promise<RcptEvent> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = this.events.find(pred);
        if (!e) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(-20).map((e) => [e.recipientId, e.type, e.attempts]))}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** The first outcome of `rid` (of `type`, with at least `attempts` attempts, when given). */
  outcome(rid: string, opts: { type?: OutcomeEvent['type']; attempts?: number; timeoutMs?: number } = {}): Promise<OutcomeEvent> {
    return this.waitFor(
      (e): e is OutcomeEvent => e.recipientId === rid && OUTCOMES.has(e.type) && (opts.type === undefined || e.type === opts.type) && e.attempts >= (opts.attempts ?? 0),
      `an outcome${opts.type ? ` '${opts.type}'` : ''} of ${rid}${opts.attempts ? ` after ${opts.attempts} attempts` : ''}`,
      opts.timeoutMs,
    );
  }

  /** A final outcome (delivered, bounced, expired) of `rid`. */
  final(rid: string, timeoutMs?: number): Promise<OutcomeEvent> {
    return this.waitFor(
      (e): e is OutcomeEvent => e.recipientId === rid && (e.type === 'delivered' || e.type === 'bounced' || e.type === 'expired'),
      `a final outcome of ${rid}`,
      timeoutMs,
    );
  }
}

export interface Submitted {
  readonly id: string;
  /** Recipient ids, in the order the recipients were given. */
  readonly rids: string[];
}

/** Submits one message over SMTP to Petrel on 127.0.0.1:`port`; every RCPT must be accepted. */
export async function submit(port: number, from: string, rcpts: readonly string[], opts: { headers?: string; body?: string; subject?: string; localAddress?: string } = {}): Promise<Submitted> {
  const c = await SmtpTestClient.connect(port, '127.0.0.1', opts.localAddress ? { localAddress: opts.localAddress } : {});
  try {
    assert.equal((await c.read())?.code, 220);
    assert.equal((await c.cmd('EHLO submitter.test')).code, 250);
    assert.equal((await c.cmd(`MAIL FROM:<${from}>`)).code, 250);
    for (const r of rcpts) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250, r);
    assert.equal((await c.cmd('DATA')).code, 354);
    const body = opts.body ?? 'Hello from the delivery suite.\r\n';
    c.write(`From: <${from}>\r\nTo: <${rcpts[0]}>\r\nSubject: ${opts.subject ?? 'delivery suite'}\r\nMessage-ID: <${Date.now()}.${Math.random().toString(36).slice(2)}@petrel.test>\r\n${opts.headers ?? ''}\r\n${body}.\r\n`);
    const r = await c.read();
    assert.equal(r?.code, 250, JSON.stringify(r));
    const id = /queued as (\S+)/.exec(r!.lines[0]!)![1]!;
    await c.cmd('QUIT').catch(() => undefined);
    return { id, rids: rcpts.map((_, i) => `${id}.${i}`) };
  } finally {
    c.close();
  }
}

/** Polls `probe` every 50 ms until it returns something other than undefined; rejects after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A TCP relay in front of a sink that counts connections open at once,
 * seen from the network: Petrel connects to the proxy, the proxy to the sink.
 */
export class CountingProxy {
  active = 0;
  maxActive = 0;
  total = 0;
  #server: net.Server;
  #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<CountingProxy> {
    const server = net.createServer();
    const proxy = new CountingProxy(server);
    server.on('connection', (inbound) => {
      proxy.active++;
      proxy.total++;
      proxy.maxActive = Math.max(proxy.maxActive, proxy.active);
      const outbound = net.connect(target);
      proxy.#sockets.add(inbound);
      proxy.#sockets.add(outbound);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        proxy.active--;
        inbound.destroy();
        outbound.destroy();
        proxy.#sockets.delete(inbound);
        proxy.#sockets.delete(outbound);
      };
      inbound.on('error', close);
      outbound.on('error', close);
      inbound.on('close', close);
      outbound.on('close', close);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    return proxy;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/** Petrel's log entries (JSON lines) so far. */
export function logEntries(petrel: RunningPetrel): Array<Record<string, unknown> & { level: string; msg: string }> {
  return petrel.logLines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Record<string, unknown> & { level: string; msg: string });
}

/** The `delivery` log entry of one recipient's n-th reported outcome (1-based), once it is written. */
export function deliveryLog(petrel: RunningPetrel, rid: string, nth = 1): Promise<Record<string, unknown>> {
  return until(`delivery log entry #${nth} of ${rid}`, () => logEntries(petrel).filter((e) => e.msg === 'delivery' && e.rcpt === rid)[nth - 1]);
}
