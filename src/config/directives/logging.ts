/**
 * @module config/directives/logging
 *
 * Per-scope logging switches, valid in `<source>` (inbound sessions), in
 * `<domain>` (outbound sessions) or both. The daemon log itself
 * (`log-file`, `log-rotate`) is global and lives in `global.ts`.
 * Exports `LOGGING_DIRECTIVES`.
 */
import type { Spec } from './spec.js';

export const LOGGING_DIRECTIVES: readonly Spec[] = [
  {
    name: 'log-connections',
    scopes: ['source', 'domain'],
    type: 'bool',
    default: 'no',
    area: 'logging',
    status: 'implemented',
    doc: 'Logs each connection opened and closed.',
  },
  {
    name: 'log-commands',
    scopes: ['source', 'domain'],
    type: 'bool',
    default: 'no',
    area: 'logging',
    status: 'implemented',
    doc: 'Logs every SMTP command and reply (verbose).',
  },
  {
    name: 'log-data',
    scopes: ['source', 'domain'],
    type: 'bool',
    default: 'no',
    area: 'logging',
    status: 'implemented',
    doc: 'Logs message data as well as commands (very verbose; contains message content).',
  },
  {
    name: 'log-verbose',
    // Only seen in SparkPost's own configs; scope inferred from its neighbours there.
    scopes: ['source', 'domain'],
    type: 'bool',
    area: 'logging',
    status: 'recognised',
    doc: 'Extra diagnostic logging; seen in SparkPost configs, not in the guide.',
  },
  {
    name: 'log-messages',
    // Probably an old name; what it replaced is not verified, so it is not made an alias of anything.
    scopes: ['source', 'domain'],
    type: 'bool',
    area: 'logging',
    status: 'recognised',
    doc: 'Old directive seen in real configs; its exact meaning is not verified.',
  },
  {
    name: 'log-resolution',
    scopes: ['domain'],
    type: 'bool',
    area: 'logging',
    status: 'implemented',
    doc: 'Logs what DNS (or `smtp-hosts`) gave for the queue: each host with its preference and addresses, or NXDOMAIN/null MX/the failure.',
  },
  {
    name: 'log-transfer-failures',
    scopes: ['domain'],
    type: 'bool',
    area: 'logging',
    status: 'recognised',
    doc: 'Logs each failed delivery attempt with the remote reply.',
  },
  {
    name: 'log-disabled-ips',
    scopes: ['domain'],
    type: 'bool',
    area: 'logging',
    status: 'recognised',
    doc: 'Logs source IPs disabled and re-enabled by reply rules.',
  },
];
