/**
 * @module accounting/webhook
 *
 * `<acct-file https://host/path>`: records POSTed as JSON batches (Petrel's
 * extension; PowerMTA 5.0 added webhooks of its own, with another format).
 *
 * Exports: `WebhookTuning`, `DEFAULT_WEBHOOK_TUNING`, `WebhookSink`.
 *
 * Delivery is at-least-once, through a journal:
 * - `write()` appends the records (JSON lines) to a journal file beside the
 *   spool (`DurableFile`, fdatasync'ed, group-committed) and resolves then:
 *   a crash after that loses nothing;
 * - one sender reads batches (at most `batchSize` records, `maxBatchBytes`)
 *   from the journal at the acknowledged offset and POSTs them as a JSON
 *   array (`Content-Type: application/json`); a 2xx answer acknowledges the
 *   batch and the offset moves on (kept in `JOURNAL.ack`); anything else
 *   (status, network error, `timeoutMs`) is retried after a backoff that
 *   doubles from `initialBackoffMs` up to `retry-interval`;
 * - a fully acknowledged journal bigger than `compactBytes` is emptied; the
 *   offset is reset to 0 durably first, so a crash in between can only
 *   resend, never skip.
 * Memory holds one batch at most; the journal, on disk, is the queue.
 *
 * Invariant: batches are sent one at a time, in journal order; a batch is
 * never acknowledged before the server answered 2xx for it.
 */
import { promises as fsp } from 'node:fs';
import { DurableFile } from './durable-file.js';
import { AccountingError } from './errors.js';
import type { AcctFileSettings } from './settings.js';
import type { Layout, Sink, SinkDeps } from './sink.js';

export interface WebhookTuning {
  readonly batchSize: number;
  readonly maxBatchBytes: number;
  readonly timeoutMs: number;
  readonly initialBackoffMs: number;
  /** Overrides `retry-interval` as the longest backoff (ms). */
  readonly maxBackoffMs?: number;
  /** Empty the journal once everything in it is acknowledged and it is at least this big. */
  readonly compactBytes: number;
}

export const DEFAULT_WEBHOOK_TUNING: WebhookTuning = {
  batchSize: 500,
  maxBatchBytes: 4 * 1024 * 1024,
  timeoutMs: 30_000,
  initialBackoffMs: 1_000,
  compactBytes: 1024 * 1024,
};

export class WebhookSink implements Sink {
  readonly settings: AcctFileSettings;
  readonly layout: Layout;
  readonly #url: string;
  readonly #journal: DurableFile;
  readonly #deps: SinkDeps;
  readonly #tuning: WebhookTuning;
  #acked: number;
  #closed = false;
  #wake: (() => void) | undefined;
  #abort = new AbortController();
  #idleWaiters: Array<() => void> = [];
  readonly #loop: Promise<void>;
  /** POST attempts so far, failed ones included (for tests and the monitor). */
  attempts = 0;

  private constructor(settings: AcctFileSettings, url: string, layout: Layout, journal: DurableFile, acked: number, deps: SinkDeps, tuning: WebhookTuning) {
    this.settings = settings;
    this.layout = layout;
    this.#url = url;
    this.#journal = journal;
    this.#acked = acked;
    this.#deps = deps;
    this.#tuning = tuning;
    this.#loop = this.#run();
  }

  static async open(settings: AcctFileSettings, url: string, layout: Layout, journalPath: string, deps: SinkDeps, tuning: Partial<WebhookTuning> = {}): Promise<WebhookSink> {
    const journal = await DurableFile.open({ path: journalPath, mode: 0o600, sync: settings.sync, clock: deps.clock, log: deps.log });
    let acked = 0;
    try {
      acked = Number((await fsp.readFile(`${journalPath}.ack`, 'utf8')).trim()) || 0;
    } catch {
      // no offset yet
    }
    // An offset past the end (journal repaired or emptied) means: start again from the top.
    if (acked > journal.size) acked = 0;
    return new WebhookSink(settings, url, layout, journal, acked, deps, { ...DEFAULT_WEBHOOK_TUNING, ...tuning });
  }

  get journalPath(): string {
    return this.#journal.path;
  }

  async write(lines: readonly string[]): Promise<void> {
    if (this.#closed) throw new AccountingError('ACCT_CLOSED', `webhook ${this.#url}: closed`);
    await this.#journal.append(lines.join(''));
    this.#wake?.();
  }

  tick(): Promise<void> {
    return Promise.resolve();
  }

  /** Resolves when every journaled record has been acknowledged by the server (or the sink closes). */
  idle(): Promise<void> {
    if (this.#closed || this.#acked >= this.#journal.size) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops sending; unacknowledged records stay in the journal for the next start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    await this.#journal.close();
    for (const f of this.#idleWaiters.splice(0)) f();
  }

  // ---- the sender ---------------------------------------------------------------

  async #run(): Promise<void> {
    const maxBackoff = this.#tuning.maxBackoffMs ?? this.settings.retryInterval;
    let backoff = this.#tuning.initialBackoffMs;
    while (!this.#closed) {
      if (this.#acked >= this.#journal.size) {
        for (const f of this.#idleWaiters.splice(0)) f();
        await this.#compact();
        // Re-checked in the same turn as the wait starts, so a write in between is not missed.
        if (!this.#closed && this.#acked >= this.#journal.size) await this.#sleep();
        continue;
      }
      let batch: { body: string; bytes: number; count: number };
      try {
        batch = await this.#readBatch();
      } catch (e) {
        this.#deps.log.error('accounting: cannot read the webhook journal', { path: this.#journal.path, error: (e as Error).message });
        await this.#backoff(maxBackoff);
        continue;
      }
      if (await this.#post(batch.body)) {
        this.#acked += batch.bytes;
        backoff = this.#tuning.initialBackoffMs;
        await this.#saveAck(this.#acked, false).catch((e: Error) =>
          this.#deps.log.warn('accounting: cannot save the webhook offset (records may be sent again)', { error: e.message }),
        );
      } else if (!this.#closed) {
        await this.#backoff(backoff);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  async #readBatch(): Promise<{ body: string; bytes: number; count: number }> {
    const end = Math.min(this.#journal.size, this.#acked + this.#tuning.maxBatchBytes);
    const fd = await fsp.open(this.#journal.path, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(end - this.#acked);
      const { bytesRead } = await fd.read(buf, 0, buf.length, this.#acked);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fd.close();
    }
    // Whole lines only, at most batchSize of them; one oversized line goes alone.
    let bytes = 0;
    let count = 0;
    while (count < this.#tuning.batchSize) {
      const nl = buf.indexOf(0x0a, bytes);
      if (nl < 0) break;
      bytes = nl + 1;
      count++;
    }
    if (count === 0) {
      const fd2 = await fsp.open(this.#journal.path, 'r');
      try {
        const whole = Buffer.alloc(this.#journal.size - this.#acked);
        await fd2.read(whole, 0, whole.length, this.#acked);
        bytes = whole.indexOf(0x0a) + 1;
        buf = whole;
        count = 1;
      } finally {
        await fd2.close();
      }
    }
    const lines = buf.subarray(0, bytes).toString('utf8').trimEnd().split('\n');
    return { body: `[${lines.join(',')}]`, bytes, count };
  }

  async #post(body: string): Promise<boolean> {
    this.attempts++;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#tuning.timeoutMs)]);
    try {
      const res = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'petrel-accounting' },
        body,
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return true;
      this.#deps.log.warn('accounting: webhook refused a batch; will retry', { url: this.#url, status: res.status });
      return false;
    } catch (e) {
      if (!this.#closed) this.#deps.log.warn('accounting: webhook unreachable; will retry', { url: this.#url, error: (e as Error).message });
      return false;
    }
  }

  async #saveAck(offset: number, durable: boolean): Promise<void> {
    const file = `${this.#journal.path}.ack`;
    const tmp = `${file}.tmp`;
    const fd = await fsp.open(tmp, 'w', 0o600);
    try {
      await fd.writeFile(String(offset));
      if (durable) await fd.datasync();
    } finally {
      await fd.close();
    }
    await fsp.rename(tmp, file);
  }

  async #compact(): Promise<void> {
    const size = this.#journal.size;
    if (size < this.#tuning.compactBytes || size === 0 || this.#acked !== size) return;
    try {
      // Offset 0 is made durable before the journal shrinks: a crash between the two only resends.
      const done = await this.#journal.resetIfSize(size, () => this.#saveAck(0, true));
      if (done) this.#acked = 0;
    } catch (e) {
      this.#deps.log.warn('accounting: cannot compact the webhook journal', { error: (e as Error).message });
    }
  }

  /** Waits until woken by a write or close. */
  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** Waits `ms` (real time; writes do not shorten it), or until close. */
  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#abort.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }
}
