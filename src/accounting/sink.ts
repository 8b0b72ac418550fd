/**
 * @module accounting/sink
 *
 * What every output of an `<acct-file>` block has in common.
 *
 * Exports:
 * - `Layout` — how records become lines: an optional header line and one
 *   line per record (CSV in csv-file.ts, JSON in json-lines.ts).
 * - `Sink` — an output: `write(lines)` resolves when the lines are as
 *   durable as that output makes them (docs/accounting.md, "Durability");
 *   `tick()` does periodic work (rotation); `close()` flushes and stops.
 * - `renderValues(event, settings, header)` — the field values of one event
 *   for one block, or undefined when the block does not write that type.
 * - `FileSink` — a `Sink` over a `DurableFile` (CSV and JSON-lines files).
 * - `SinkDeps` — clock and logger handed to every sink.
 *
 * Invariant: every line a `Layout` produces ends with exactly one `\n` and
 * contains no other CR or LF.
 */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { DurableFile } from './durable-file.js';
import { fieldValue } from './records.js';
import type { AcctEvent, RecordType } from './records.js';
import type { AcctFileSettings } from './settings.js';
import { isoTime, pmtaTime } from './times.js';

export interface Layout {
  /** First line of each file / stream, with its newline; undefined for none. */
  readonly header: string | undefined;
  line(type: RecordType, values: ReadonlyMap<string, string>): string;
}

export interface Sink {
  readonly settings: AcctFileSettings;
  readonly layout: Layout;
  write(lines: readonly string[]): Promise<void>;
  tick(): Promise<void>;
  close(): Promise<void>;
}

export interface SinkDeps {
  readonly clock: Clock;
  readonly log: Logger;
}

/** Field values of `event` for the columns its type has in this block; undefined when the block skips the type. */
export function renderValues(event: AcctEvent, settings: AcctFileSettings, header: (name: string) => string | undefined): Map<string, string> | undefined {
  if (!settings.records.has(event.type)) return undefined;
  const fields = settings.fields.get(event.type)!;
  const mapped = settings.mapped.get(event.type);
  const ctx = { formatTime: settings.isoTimes ? isoTime : pmtaTime, ...(mapped ? { mapped } : {}) };
  const out = new Map<string, string>();
  for (const f of fields) out.set(f, fieldValue(event, f, ctx, header));
  return out;
}

/** File permissions: `world-readable yes` → 0644, else 0640. */
export function fileMode(settings: AcctFileSettings): number {
  return settings.worldReadable ? 0o644 : 0o640;
}

/** A CSV or JSON-lines file: durable, group-committed, rotated. */
export class FileSink implements Sink {
  readonly settings: AcctFileSettings;
  readonly layout: Layout;
  readonly #file: DurableFile;

  private constructor(settings: AcctFileSettings, layout: Layout, file: DurableFile) {
    this.settings = settings;
    this.layout = layout;
    this.#file = file;
  }

  static async open(settings: AcctFileSettings, filePath: string, layout: Layout, deps: SinkDeps): Promise<FileSink> {
    const file = await DurableFile.open({
      path: filePath,
      ...(layout.header !== undefined ? { header: layout.header } : {}),
      mode: fileMode(settings),
      sync: settings.sync,
      ...(settings.moveTo !== undefined ? { moveTo: settings.moveTo } : {}),
      ...(settings.moveInterval !== undefined ? { moveInterval: settings.moveInterval } : {}),
      ...(settings.maxSize !== undefined ? { maxSize: settings.maxSize } : {}),
      ...(settings.deleteAfter !== undefined ? { deleteAfter: settings.deleteAfter } : {}),
      clock: deps.clock,
      log: deps.log,
    });
    return new FileSink(settings, layout, file);
  }

  write(lines: readonly string[]): Promise<void> {
    return this.#file.append(lines.join(''));
  }

  tick(): Promise<void> {
    return this.#file.tick();
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}
