/**
 * @module accounting/accounting
 *
 * `Accounting`: every `<acct-file>` block of the configuration as one
 * object the queue manager calls.
 *
 * Exports: `AccountingOptions`, `Accounting` (`fromConfig`, `open`,
 * `record`, `wants`, `tick`, `close`, `sinks`), `fallbackPathFor`.
 *
 * THE DURABILITY CONTRACT (docs/accounting.md):
 * - `record(events)` resolves only when every output that takes one of
 *   the events has it durably: a file — written and fdatasync'ed (group
 *   commit: everything that arrived during the previous fdatasync goes in
 *   the next one); a pipe — written to the pipe, or to the fdatasync'ed
 *   fallback file while the program is down; a webhook — fdatasync'ed in its
 *   journal (sending happens after, at least once).
 * - The caller records a final outcome BEFORE committing it to the spool. A
 *   crash between the two re-delivers the recipient and records it again: a
 *   duplicate record is possible, a missing one is not.
 * - When `record()` rejects (`AccountingError` `ACCT_IO`), the caller must
 *   not commit the outcome as final; it may call `record()` again later
 *   (outputs that had succeeded then hold a duplicate).
 * - `record()` waits for every output to settle before it resolves or
 *   rejects, so nothing of a call is still in flight afterwards.
 *
 * Invariant: the outputs, their columns and their order are fixed when the
 * object is built; a reload builds a new `Accounting` and closes the old.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { PetrelConfig } from '../config/model.js';
import type { Diagnostic } from '../config/types.js';
import { systemClock } from '../util/clock.js';
import type { Clock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import type { Logger } from '../util/log.js';
import { CsvLayout, openCsvFile } from './csv-file.js';
import { AccountingError, isAccountingError } from './errors.js';
import { JsonLayout, openJsonLinesFile } from './json-lines.js';
import { PipeSink } from './pipe.js';
import type { PipeTuning } from './pipe.js';
import { headerReader } from './records.js';
import type { AcctEvent, RecordType } from './records.js';
import { settingsFromBlock } from './settings.js';
import type { AcctFileSettings } from './settings.js';
import { renderValues } from './sink.js';
import type { Sink, SinkDeps } from './sink.js';
import { WebhookSink } from './webhook.js';
import type { WebhookTuning } from './webhook.js';

export interface AccountingOptions {
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Directory for pipe fallback files and webhook journals: the spool directory (or beside it). */
  readonly fallbackDir: string;
  readonly pipe?: Partial<PipeTuning>;
  readonly webhook?: Partial<WebhookTuning>;
  /** Real-time period of the rotation check (ms); 0 = no timer, call `tick()` yourself. Default 1000. */
  readonly tickMs?: number;
}

/** Where a pipe's fallback file or a webhook's journal lives: `DIR/acct-pipe-<hash>.csv`, `DIR/acct-webhook-<hash>.jsonl`. */
export function fallbackPathFor(settings: AcctFileSettings, fallbackDir: string): string {
  const out = settings.output;
  const key = out.kind === 'pipe' ? out.command : out.kind === 'webhook' ? out.url : out.path;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return path.join(fallbackDir, out.kind === 'webhook' ? `acct-webhook-${hash}.jsonl` : `acct-${out.kind}-${hash}.csv`);
}

function describe(d: Diagnostic): string {
  return `${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.message}`;
}

export class Accounting {
  readonly sinks: readonly Sink[];
  readonly #log: Logger;
  readonly #types: ReadonlySet<RecordType>;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(sinks: readonly Sink[], log: Logger, tickMs: number) {
    this.sinks = sinks;
    this.#log = log;
    this.#types = new Set(sinks.flatMap((s) => [...s.settings.records]));
    if (tickMs > 0 && sinks.length > 0) {
      this.#timer = setInterval(() => void this.tick(), tickMs);
      this.#timer.unref();
    }
  }

  /** Builds every `<acct-file>` block; throws `ACCT_CONFIG` listing every problem, or `ACCT_IO` when a file cannot be opened. */
  static async fromConfig(config: PetrelConfig, opts: AccountingOptions): Promise<Accounting> {
    const settings: AcctFileSettings[] = [];
    const problems: Diagnostic[] = [];
    for (const block of config.acctFiles) {
      const r = settingsFromBlock(block);
      problems.push(...r.diagnostics.filter((d) => d.severity === 'error'));
      if (r.settings) settings.push(r.settings);
    }
    if (problems.length > 0) throw new AccountingError('ACCT_CONFIG', problems.map(describe).join('\n'));
    return Accounting.open(settings, opts);
  }

  /** Opens outputs from already-resolved settings (tests, or a caller that built them itself). */
  static async open(settings: readonly AcctFileSettings[], opts: AccountingOptions): Promise<Accounting> {
    const deps: SinkDeps = { clock: opts.clock ?? systemClock, log: opts.log ?? silentLogger };
    const sinks: Sink[] = [];
    try {
      for (const s of settings) sinks.push(await openSink(s, opts, deps));
    } catch (e) {
      await Promise.allSettled(sinks.map((s) => s.close()));
      if (isAccountingError(e)) throw e;
      throw new AccountingError('ACCT_IO', `cannot open accounting output: ${(e as Error).message}`, { cause: e });
    }
    return new Accounting(sinks, deps.log, opts.tickMs ?? 1000);
  }

  /** True when some output writes records of this type (the caller may skip building events otherwise). */
  wants(type: RecordType): boolean {
    return this.#types.has(type);
  }

  /** Writes the events to every output that takes their type; see the durability contract above. */
  async record(events: readonly AcctEvent[]): Promise<void> {
    if (this.#closed) throw new AccountingError('ACCT_CLOSED', 'accounting has been closed');
    const readers = events.map((e) => headerReader(e));
    const writes: Promise<void>[] = [];
    for (const sink of this.sinks) {
      const lines: string[] = [];
      events.forEach((e, i) => {
        const values = renderValues(e, sink.settings, readers[i]!);
        if (values) lines.push(sink.layout.line(e.type, values));
      });
      if (lines.length > 0) writes.push(sink.write(lines));
    }
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const e = failed.reason as unknown;
      throw isAccountingError(e) ? e : new AccountingError('ACCT_IO', `accounting write failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Rotation and clean-up when due (the timer calls it; tests on a FakeClock call it directly). */
  async tick(): Promise<void> {
    await Promise.all(
      this.sinks.map((s) => s.tick().catch((e: Error) => this.#log.error('accounting: rotation failed', { output: s.settings.name, error: e.message }))),
    );
  }

  /** Flushes and closes every output (pipe programs get EOF and are waited for). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.allSettled(this.sinks.map((s) => s.close()));
  }
}

async function openSink(s: AcctFileSettings, opts: AccountingOptions, deps: SinkDeps): Promise<Sink> {
  const out = s.output;
  switch (out.kind) {
    case 'csv':
      return openCsvFile(s, out.path, deps);
    case 'jsonl':
      return openJsonLinesFile(s, out.path, deps);
    case 'pipe':
      return new PipeSink(s, out.command, new CsvLayout(s.columns), fallbackPathFor(s, opts.fallbackDir), deps, opts.pipe);
    case 'webhook':
      return WebhookSink.open(s, out.url, new JsonLayout(), fallbackPathFor(s, opts.fallbackDir), deps, opts.webhook);
    default: {
      const exhaustive: never = out;
      throw new AccountingError('ACCT_CONFIG', `unknown output ${JSON.stringify(exhaustive)}`);
    }
  }
}
