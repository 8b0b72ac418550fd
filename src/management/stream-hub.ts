/**
 * @module management/stream-hub
 *
 * Server-Sent Events for the live monitor (`GET /api/v1/stream`): one
 * snapshot is computed per tick and written to every open stream, so the
 * cost does not grow with the number of viewers. A tick runs every second
 * while someone listens, and within `changeDelayMs` of a spool event (new
 * mail, a delivery, a pause). Streams are bounded (`maxStreams`, 503 past
 * it) and all ended by `close()` so the HTTP server can stop.
 *
 * Wire format: `retry: 2000`, then `event: snapshot` / `id: SEQ` /
 * `data: <StreamSnapshot JSON>` blocks.
 *
 * Exports: `StreamHub`.
 */
import type { ServerResponse } from 'node:http';
import type { AccessLevel, ManagementDeps } from './deps.js';
import { snapshotOf } from './read-models.js';

interface Client {
  readonly res: ServerResponse;
  readonly level: Exclude<AccessLevel, 'none'>;
}

export class StreamHub {
  readonly #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #seq = 0;
  #unobserve: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly deps: ManagementDeps,
    private readonly maxStreams = 32,
    private readonly intervalMs = 1000,
    private readonly changeDelayMs = 200,
  ) {
    this.#unobserve = deps.spool.observe((ev) => {
      if (ev.type !== 'leased' && ev.type !== 'released') this.changed();
    });
  }

  get size(): number {
    return this.#clients.size;
  }

  get full(): boolean {
    return this.#clients.size >= this.maxStreams;
  }

  /** Takes over a response: headers, first snapshot, then updates until the client goes. */
  add(res: ServerResponse, level: Exclude<AccessLevel, 'none'>, headers: Record<string, string>): void {
    const c: Client = { res, level };
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.#clients.add(c);
    const drop = (): void => {
      this.#clients.delete(c);
      if (this.#clients.size === 0) this.#stopTimer();
    };
    res.on('close', drop);
    res.on('error', drop);
    this.#send([c]);
    this.#timer ??= setInterval(() => this.#send([...this.#clients]), this.intervalMs);
    this.#timer.unref();
  }

  /** Something changed: send soon rather than at the next tick. */
  changed(): void {
    if (this.#clients.size === 0 || this.#soon || this.#closed) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#send([...this.#clients]);
    }, this.changeDelayMs);
    this.#soon.unref();
  }

  /** Ends every stream and stops listening to the spool. */
  close(): void {
    this.#closed = true;
    this.#unobserve?.();
    this.#unobserve = undefined;
    this.#stopTimer();
    if (this.#soon) clearTimeout(this.#soon);
    this.#soon = undefined;
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #send(clients: readonly Client[]): void {
    if (clients.length === 0 || this.#closed) return;
    const seq = ++this.#seq;
    let base;
    try {
      base = snapshotOf(this.deps, 'monitor', seq);
    } catch (e) {
      this.deps.log?.error('management: snapshot failed', { error: String((e as Error)?.message ?? e) });
      return;
    }
    const frames = new Map<string, string>();
    for (const c of clients) {
      let frame = frames.get(c.level);
      if (!frame) {
        frame = `event: snapshot\nid: ${seq}\ndata: ${JSON.stringify({ ...base, level: c.level })}\n\n`;
        frames.set(c.level, frame);
      }
      // A viewer that stops reading is dropped rather than buffered without end.
      if (c.res.writableLength > 1024 * 1024) c.res.destroy();
      else if (!c.res.writableEnded) c.res.write(frame);
    }
  }
}
