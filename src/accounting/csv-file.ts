/**
 * @module accounting/csv-file
 *
 * The CSV form of accounting records, as PowerMTA writes it.
 *
 * Exports: `csvField(value)`, `csvRow(values)`, `CsvLayout`,
 * `openCsvFile(settings, path, deps)`.
 *
 * Format (docs/accounting.md):
 * - the first line of every file (and of every pipe stream) is the header:
 *   the block's columns (`AcctFileSettings.columns`), `type` first;
 * - each record fills the columns of its type and leaves the others empty,
 *   so a file that writes one record type has exactly PowerMTA's layout;
 * - a value containing a comma or a double quote is quoted, quotes doubled
 *   (RFC 4180); values never contain CR or LF (records.ts flattens them), so
 *   one record is one line, ending in LF.
 */
import type { RecordType } from './records.js';
import type { AcctFileSettings } from './settings.js';
import { FileSink } from './sink.js';
import type { Layout, SinkDeps } from './sink.js';

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(values: readonly string[]): string {
  return values.map(csvField).join(',') + '\n';
}

export class CsvLayout implements Layout {
  readonly header: string;
  readonly #columns: readonly string[];

  constructor(columns: readonly string[]) {
    this.#columns = columns;
    this.header = csvRow(columns);
  }

  line(_type: RecordType, values: ReadonlyMap<string, string>): string {
    return csvRow(this.#columns.map((c) => values.get(c) ?? ''));
  }
}

export function openCsvFile(settings: AcctFileSettings, filePath: string, deps: SinkDeps): Promise<FileSink> {
  return FileSink.open(settings, filePath, new CsvLayout(settings.columns), deps);
}
