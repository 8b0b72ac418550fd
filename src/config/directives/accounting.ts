/**
 * @module config/directives/accounting
 *
 * Directives of `<acct-file PATH>` / `<acct-file |COMMAND>` blocks.
 * Exports `ACCOUNTING_DIRECTIVES`.
 *
 * Record types: d (delivered), b (bounced), t / tq (transient), f
 * (feedback loop; `records feedback-loop` is a synonym), r / rs (receipt),
 * rb (remote bounce). PowerMTA publishes no defaults for these directives.
 */
import type { Spec } from './spec.js';

export const ACCOUNTING_DIRECTIVES: readonly Spec[] = [
  {
    name: 'records',
    scopes: ['acct-file'],
    type: 'string-list',
    area: 'accounting',
    status: 'implemented',
    doc: 'Record types written to this file: `d,b,t,tq,f,r,rs,rb`, `all` or `feedback-loop`.',
  },
  {
    name: 'record-fields',
    scopes: ['acct-file'],
    type: 'record-fields',
    repeatable: true,
    area: 'accounting',
    status: 'implemented',
    doc: 'Columns for one record type (`d *,header_Subject`; `*` = the defaults, `!field` drops one).',
  },
  {
    name: 'map-header-to-field',
    scopes: ['acct-file'],
    type: 'map-header-to-field',
    repeatable: true,
    area: 'accounting',
    status: 'implemented',
    doc: 'Fills a field from a header of the original message (`f header_X-HmXmrOriginalRecipient rcpt`).',
  },
  {
    name: 'move-to',
    scopes: ['acct-file'],
    type: 'path',
    area: 'accounting',
    status: 'implemented',
    doc: 'Directory completed files are moved to at each rotation.',
  },
  {
    name: 'move-interval',
    scopes: ['acct-file'],
    type: 'duration',
    area: 'accounting',
    status: 'implemented',
    doc: 'Rotation period: the current file is closed and a new one started this often.',
  },
  {
    name: 'max-size',
    scopes: ['acct-file'],
    type: 'size',
    area: 'accounting',
    status: 'implemented',
    doc: 'Rotates the file early when it reaches this size.',
  },
  {
    name: 'delete-after',
    scopes: ['acct-file'],
    type: 'duration',
    area: 'accounting',
    status: 'implemented',
    doc: 'Deletes rotated files older than this (`never` keeps them).',
  },
  {
    name: 'world-readable',
    scopes: ['acct-file'],
    type: 'bool',
    area: 'accounting',
    status: 'implemented',
    doc: 'Creates the files readable by every user.',
  },
  {
    name: 'sync',
    scopes: ['acct-file'],
    type: 'bool',
    area: 'accounting',
    status: 'implemented',
    doc: 'Flushes each record to disk as it is written.',
  },
  {
    name: 'iso-times',
    scopes: ['acct-file'],
    type: 'bool',
    area: 'accounting',
    status: 'implemented',
    doc: 'Writes times in ISO 8601 form (UTC); `no`, the default, gives PowerMTA\'s `2016-05-29 01:10:51+0200`.',
  },
  {
    name: 'retry-interval',
    scopes: ['acct-file'],
    type: 'duration',
    area: 'accounting',
    status: 'implemented',
    doc: 'For a pipe (`|COMMAND`): wait before restarting the program after it fails.',
  },
];
