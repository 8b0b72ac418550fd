/**
 * @module accounting
 *
 * PowerMTA-compatible accounting (`<acct-file>`): the public surface.
 * See docs/accounting.md for record types, fields, files and the
 * durability contract the queue manager follows.
 */
export { Accounting, fallbackPathFor } from './accounting.js';
export type { AccountingOptions } from './accounting.js';
export { AccountingError, ACCT_ERROR_CODES, isAccountingError } from './errors.js';
export type { AcctErrorCode } from './errors.js';
export { DEFAULT_FIELDS, FIELDS, RECORD_TYPES, RECORD_TYPE_MEANINGS, canonicalField, fieldValue, isFieldName, isRecordType } from './records.js';
export type { AcctEvent, AcctOutcome, DsnAction, FieldName, RecordType } from './records.js';
export { checkAccountingConfig, settingsFromBlock, resolveRecordFields, DEFAULT_RECORDS } from './settings.js';
export type { AcctFileSettings, AcctOutput } from './settings.js';
export { formatDsnStatus, DSN_DETAIL_TEXT } from './dsn-status.js';
export { csvField, csvRow } from './csv-file.js';
export { isoTime, pmtaTime } from './times.js';
export { PipeSink, DEFAULT_PIPE_TUNING } from './pipe.js';
export type { PipeTuning } from './pipe.js';
export { WebhookSink, DEFAULT_WEBHOOK_TUNING } from './webhook.js';
export type { WebhookTuning } from './webhook.js';
export type { Sink, Layout } from './sink.js';
