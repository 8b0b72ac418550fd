/**
 * @module policy/suppression
 *
 * The suppression list (our extension; PowerMTA 4.5 had "address suppression
 * lists" without public syntax): addresses that must not be mailed again —
 * fed automatically by hard bounces (`suppress-upon-bounce-categories`,
 * default bad-mailbox, bad-domain, inactive-mailbox) and feedback-loop
 * complaints, and managed by hand through the HTTP API and the CLI.
 *
 * Checked at RCPT (`use-suppression-list yes` on the `<source>`): a
 * suppressed recipient gets `550 5.7.1 <addr>: recipient is on the
 * suppression list (REASON)`.
 *
 * Storage: one append-only JSON-lines journal in the spool directory
 * (`suppression.jsonl`, fdatasync'd per change batch), replayed at start;
 * addresses are compared lower-cased. Memory: one Map entry per address.
 *
 * Exports: `SuppressionList`, `SuppressionEntry`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../util/clock.js';

export interface SuppressionEntry {
  readonly address: string;
  readonly reason: string;
  readonly source: 'bounce' | 'complaint' | 'manual';
  readonly at: number;
}

type JournalLine = { op: 'add'; entry: SuppressionEntry } | { op: 'remove'; address: string; at: number };

export class SuppressionList {
  #entries = new Map<string, SuppressionEntry>();
  #file: string;
  #chain: Promise<void> = Promise.resolve();

  private constructor(
    dir: string,
    private readonly clock: Clock,
  ) {
    this.#file = path.join(dir, 'suppression.jsonl');
  }

  static async open(dir: string, clock: Clock): Promise<SuppressionList> {
    const list = new SuppressionList(dir, clock);
    let text = '';
    try {
      text = await fsp.readFile(list.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const j = JSON.parse(line) as JournalLine;
        if (j.op === 'add' && typeof j.entry?.address === 'string') list.#entries.set(j.entry.address.toLowerCase(), j.entry);
        else if (j.op === 'remove' && typeof j.address === 'string') list.#entries.delete(j.address.toLowerCase());
      } catch {
        // A torn last line from a crash: ignored (the change it carried was never acknowledged).
      }
    }
    return list;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(address: string): SuppressionEntry | undefined {
    return this.#entries.get(address.toLowerCase());
  }

  list(opts: { limit?: number; offset?: number; contains?: string } = {}): SuppressionEntry[] {
    let all = [...this.#entries.values()];
    if (opts.contains) all = all.filter((e) => e.address.includes(opts.contains!.toLowerCase()));
    return all.slice(opts.offset ?? 0, (opts.offset ?? 0) + (opts.limit ?? 1000));
  }

  /** Adds (or refreshes) an address; durable when it resolves. */
  add(address: string, reason: string, source: SuppressionEntry['source']): Promise<SuppressionEntry> {
    const entry: SuppressionEntry = { address: address.toLowerCase(), reason: reason.replace(/[\r\n]+/g, ' ').slice(0, 300), source, at: this.clock.now() };
    this.#entries.set(entry.address, entry);
    return this.#append({ op: 'add', entry }).then(() => entry);
  }

  /** Removes an address; true when it was there. Durable when it resolves. */
  async remove(address: string): Promise<boolean> {
    const key = address.toLowerCase();
    const had = this.#entries.delete(key);
    if (had) await this.#append({ op: 'remove', address: key, at: this.clock.now() });
    return had;
  }

  #append(line: JournalLine): Promise<void> {
    const text = JSON.stringify(line) + '\n';
    this.#chain = this.#chain.then(async () => {
      const fh = await fsp.open(this.#file, 'a', 0o640);
      try {
        await fh.write(text);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
    return this.#chain;
  }
}
