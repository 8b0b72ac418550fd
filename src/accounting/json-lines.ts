/**
 * @module accounting/json-lines
 *
 * Petrel's JSON-lines form of accounting records (an extension; PowerMTA has
 * none). Selected by the file name: `<acct-file /var/log/petrel/acct.jsonl>`
 * (or `.ndjson`). The webhook sends the same objects.
 *
 * Exports: `JsonLayout`, `jsonRecord(values)`, `openJsonLinesFile(settings, path, deps)`.
 *
 * Format: one JSON object per line, no header; its keys are the record
 * type's columns in order (`type` first), every value a string (empty when
 * unknown) formatted exactly as in the CSV form, `iso-times` included.
 */
import type { RecordType } from './records.js';
import type { AcctFileSettings } from './settings.js';
import { FileSink } from './sink.js';
import type { Layout, SinkDeps } from './sink.js';

export function jsonRecord(values: ReadonlyMap<string, string>): string {
  return JSON.stringify(Object.fromEntries(values));
}

export class JsonLayout implements Layout {
  readonly header = undefined;

  line(_type: RecordType, values: ReadonlyMap<string, string>): string {
    // JSON.stringify escapes CR/LF and U+2028/9 are legal in JSON text: one object, one line.
    return jsonRecord(values) + '\n';
  }
}

export function openJsonLinesFile(settings: AcctFileSettings, filePath: string, deps: SinkDeps): Promise<FileSink> {
  return FileSink.open(settings, filePath, new JsonLayout(), deps);
}
