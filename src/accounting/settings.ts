/**
 * @module accounting/settings
 *
 * From one `<acct-file ARG>` block to `AcctFileSettings`: which output (CSV
 * file, JSON-lines file, pipe, webhook), which record types, the columns of
 * each record type, header mappings, and the file-handling knobs.
 *
 * Exports: `AcctOutput`, `AcctFileSettings`, `settingsFromBlock(block)`,
 * `checkAccountingConfig(config)`, `resolveRecordFields(type, items)`,
 * `DEFAULT_RECORDS`, `DEFAULT_RETRY_INTERVAL_MS`.
 *
 * Rules (docs/accounting.md):
 * - Output by ARG: `|command` → pipe; `http://` / `https://` → webhook;
 *   a path ending `.jsonl` or `.ndjson` → JSON lines; any other path → CSV.
 * - `records`: `all`, `feedback-loop` (= f), `rs` (accepted, never written);
 *   absent → `d,b`.
 * - `record-fields T items`: `*` inserts T's defaults at that place; `!x`
 *   drops x; a list of only `!x` items starts from the defaults; names are
 *   matched case-insensitively; `type` is always the first column and
 *   only there. The last `record-fields` line for a type wins.
 * - The CSV columns of a file: `type`, then each written record type's
 *   fields in `records` order, each column once. A file that writes one
 *   record type (or types with one field list) has exactly PowerMTA's layout.
 *
 * Contract: `settingsFromBlock` either returns settings or returns every
 * problem of the block as diagnostics (never half a result).
 */
import type { ConfigBlock, PetrelConfig, SettingValue } from '../config/model.js';
import { acctFileTarget } from '../config/model.js';
import type { Diagnostic, MapHeaderToField, RecordFields, SourcePos } from '../config/types.js';
import { DEFAULT_FIELDS, RECORD_TYPES, canonicalField, isRecordType } from './records.js';
import type { RecordType } from './records.js';

export const DEFAULT_RECORDS: readonly RecordType[] = ['d', 'b'];
/** `retry-interval` when not set (pipe restart delay; webhook backoff cap). */
export const DEFAULT_RETRY_INTERVAL_MS = 60_000;

export type AcctOutput =
  | { readonly kind: 'csv'; readonly path: string }
  | { readonly kind: 'jsonl'; readonly path: string }
  | { readonly kind: 'pipe'; readonly command: string }
  | { readonly kind: 'webhook'; readonly url: string };

export interface AcctFileSettings {
  /** The block argument as written (for logs). */
  readonly name: string;
  readonly pos: SourcePos;
  readonly output: AcctOutput;
  readonly records: ReadonlySet<RecordType>;
  /** Per written record type: its columns, `type` first. */
  readonly fields: ReadonlyMap<RecordType, readonly string[]>;
  /** The CSV header: the union of `fields`, `type` first, each column once. */
  readonly columns: readonly string[];
  /** Per record type: field → header name (`map-header-to-field`). */
  readonly mapped: ReadonlyMap<RecordType, ReadonlyMap<string, string>>;
  readonly moveTo?: string;
  /** ms; undefined = no time-based rotation. */
  readonly moveInterval?: number;
  /** bytes; undefined = no size-based rotation. */
  readonly maxSize?: number;
  /** ms; undefined = keep rotated files forever. */
  readonly deleteAfter?: number;
  readonly worldReadable: boolean;
  /** fdatasync before `record()` resolves (default yes). */
  readonly sync: boolean;
  readonly isoTimes: boolean;
  /** ms. */
  readonly retryInterval: number;
}

function last<T>(block: ConfigBlock, name: string): SettingValue<T> | undefined {
  const list = block.settings.get(name)?.filter((s) => !s.cleared);
  return list && list.length > 0 ? (list[list.length - 1] as SettingValue<T>) : undefined;
}

function all<T>(block: ConfigBlock, name: string): SettingValue<T>[] {
  return (block.settings.get(name) ?? []).filter((s) => !s.cleared) as SettingValue<T>[];
}

/** A positive finite number, or undefined for unset / `never` / `unlimited` / 0. */
function finite(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
}

function outputOf(arg: string): AcctOutput {
  const target = acctFileTarget(arg);
  if (target.kind === 'pipe') return { kind: 'pipe', command: target.command };
  if (/^https?:\/\//i.test(target.path)) return { kind: 'webhook', url: target.path };
  if (/\.(jsonl|ndjson)$/i.test(target.path)) return { kind: 'jsonl', path: target.path };
  return { kind: 'csv', path: target.path };
}

/**
 * The columns of one record type from a `record-fields` item list (already
 * split by the config parser). Returns the columns or the first bad item.
 */
export function resolveRecordFields(type: RecordType, items: readonly string[]): { ok: true; fields: string[] } | { ok: false; bad: string } {
  const positive = items.filter((i) => !i.startsWith('!'));
  const list: string[] = [];
  const drop = new Set<string>();
  for (const item of positive.length === 0 ? ['*', ...items] : items) {
    if (item === '*') {
      list.push(...DEFAULT_FIELDS[type]);
      continue;
    }
    const negated = item.startsWith('!');
    const name = canonicalField(negated ? item.slice(1) : item);
    if (name === undefined) return { ok: false, bad: item };
    if (negated) drop.add(name.toLowerCase());
    else list.push(name);
  }
  const out = ['type'];
  const seen = new Set<string>(['type']);
  for (const f of list) {
    const key = f.toLowerCase();
    if (seen.has(key) || drop.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return { ok: true, fields: out };
}

export function settingsFromBlock(block: ConfigBlock): { settings?: AcctFileSettings; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (pos: SourcePos, message: string, text?: string): void => {
    diagnostics.push({ severity: 'error', pos, message, ...(text !== undefined ? { text } : {}) });
  };
  const output = outputOf(block.arg);
  if (output.kind === 'webhook') {
    try {
      new URL(output.url);
    } catch {
      error(block.argPos, `'${output.url}' is not a URL`, output.url);
    }
  }
  if ((output.kind === 'csv' || output.kind === 'jsonl') && output.path === '') error(block.argPos, '<acct-file> needs a path, |command or URL');
  if (output.kind === 'pipe' && output.command === '') error(block.argPos, '<acct-file |…> needs a command after |');

  // Record types, in the order written.
  const order: RecordType[] = [];
  const recordsSetting = last<string[]>(block, 'records');
  for (const raw of recordsSetting?.value ?? DEFAULT_RECORDS) {
    const word = raw.trim().toLowerCase();
    const add = (t: RecordType): void => void (order.includes(t) ? undefined : order.push(t));
    if (word === 'all') RECORD_TYPES.forEach(add);
    else if (word === 'feedback-loop') add('f');
    else if (word === 'rs') continue; // PowerMTA lists it; Petrel has nothing to write as rs.
    else if (isRecordType(word)) add(word);
    else error(recordsSetting!.valuePos, `'${raw}' is not a record type (${RECORD_TYPES.join(', ')}, all, feedback-loop)`, raw);
  }

  // Columns per record type.
  const lists = new Map<RecordType, readonly string[]>();
  for (const s of all<RecordFields>(block, 'record-fields')) {
    const type = s.value.type === 'feedback-loop' ? 'f' : s.value.type;
    if (!isRecordType(type)) {
      if (type !== 'rs') error(s.valuePos, `'${s.value.type}' is not a record type Petrel writes (${RECORD_TYPES.join(', ')})`, s.value.type);
      continue;
    }
    const r = resolveRecordFields(type, s.value.fields);
    if (!r.ok) error(s.valuePos, `'${r.bad}' is not an accounting field (see docs/accounting.md)`, r.bad);
    else lists.set(type, r.fields);
  }
  // One spelling per column across the file (`header_X-Job` and `header_x-job` are one column: the first wins).
  const spelling = new Map<string, string>();
  const columns: string[] = [];
  for (const t of order) {
    for (const f of lists.get(t) ?? DEFAULT_FIELDS[t]) {
      if (spelling.has(f.toLowerCase())) continue;
      spelling.set(f.toLowerCase(), f);
      columns.push(f);
    }
  }
  const fields = new Map<RecordType, readonly string[]>();
  for (const t of order) fields.set(t, (lists.get(t) ?? DEFAULT_FIELDS[t]).map((f) => spelling.get(f.toLowerCase())!));
  if (columns.length === 0) columns.push('type');

  // Header → field mappings.
  const mapped = new Map<RecordType, Map<string, string>>();
  for (const s of all<MapHeaderToField>(block, 'map-header-to-field')) {
    const type = s.value.type === 'feedback-loop' ? 'f' : s.value.type;
    const field = canonicalField(s.value.field);
    if (!isRecordType(type)) {
      if (type !== 'rs') error(s.valuePos, `'${s.value.type}' is not a record type Petrel writes`, s.value.type);
      continue;
    }
    if (field === undefined || field.startsWith('header_') || field === 'type') {
      error(s.valuePos, `'${s.value.field}' is not a field a header can fill`, s.value.field);
      continue;
    }
    let m = mapped.get(type);
    if (!m) mapped.set(type, (m = new Map()));
    m.set(field, s.value.header);
  }

  if (diagnostics.length > 0) return { diagnostics };
  const num = (name: string): number | undefined => last<number>(block, name)?.value;
  const bool = (name: string, dflt: boolean): boolean => last<boolean>(block, name)?.value ?? dflt;
  const moveTo = last<string>(block, 'move-to')?.value;
  const settings: AcctFileSettings = {
    name: block.arg,
    pos: block.pos,
    output,
    records: new Set(order),
    fields,
    columns,
    mapped,
    ...(moveTo ? { moveTo } : {}),
    ...(finite(num('move-interval')) !== undefined ? { moveInterval: finite(num('move-interval'))! } : {}),
    ...(finite(num('max-size')) !== undefined ? { maxSize: finite(num('max-size'))! } : {}),
    ...(finite(num('delete-after')) !== undefined ? { deleteAfter: finite(num('delete-after'))! } : {}),
    worldReadable: bool('world-readable', false),
    sync: bool('sync', true),
    isoTimes: bool('iso-times', false),
    retryInterval: finite(num('retry-interval')) ?? DEFAULT_RETRY_INTERVAL_MS,
  };
  return { settings, diagnostics };
}

/** Every problem of every `<acct-file>` block (for `petrel check-config`); empty when all can be used. */
export function checkAccountingConfig(config: PetrelConfig): Diagnostic[] {
  return config.acctFiles.flatMap((b) => settingsFromBlock(b).diagnostics);
}
