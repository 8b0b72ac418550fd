/**
 * @module config/directives/global
 *
 * Top-level (global) directives: the language machinery (`include`,
 * `domain-macro`), server identity and totals, listeners, relay targets,
 * spool and pickup, DNS, HTTP management, the daemon log and the built-in
 * test sink. Exports `GLOBAL_DIRECTIVES`.
 *
 * Defaults are the ones PowerMTA documents (powermta.md §2); where the
 * reference gives none, `default` stays undefined rather than guessed.
 */
import type { Spec } from './spec.js';

export const GLOBAL_DIRECTIVES: readonly Spec[] = [
  // ---- The language itself -------------------------------------------------
  {
    name: 'include',
    scopes: ['global', 'domain', 'virtual-mta'],
    type: 'include',
    repeatable: true,
    area: 'language',
    status: 'implemented',
    doc: 'Reads another file, or every file matching a glob in sorted order, in place of this line (paths relative to the including file; URLs not supported).',
  },
  {
    name: 'domain-macro',
    scopes: ['global'],
    type: 'domain-macro',
    repeatable: true,
    area: 'language',
    status: 'implemented',
    doc: 'Names a list of domains usable as `<domain $NAME>`; macros compose (`<domain $a.$b>`).',
  },

  // ---- Server identity and totals -----------------------------------------
  {
    name: 'postmaster',
    scopes: ['global'],
    type: 'email',
    area: 'server',
    status: 'implemented',
    doc: 'Administrator address: receives mail for postmaster and is shown in generated DSNs.',
  },
  {
    name: 'host-name',
    scopes: ['global'],
    type: 'word',
    area: 'server',
    status: 'implemented',
    doc: 'Name used in the SMTP banner and, unless a virtual MTA says otherwise, in outbound EHLO.',
  },
  {
    name: 'run-as-root',
    scopes: ['global'],
    type: 'bool',
    area: 'server',
    status: 'recognised',
    doc: 'Keeps root privileges after start-up instead of switching to the service user.',
  },
  {
    name: 'total-max-smtp-in',
    scopes: ['global'],
    type: 'int',
    area: 'server',
    status: 'implemented',
    doc: 'Cap on simultaneous inbound SMTP connections, all listeners together.',
  },
  {
    name: 'total-max-smtp-out',
    scopes: ['global'],
    type: 'int',
    area: 'server',
    status: 'implemented',
    doc: 'Cap on simultaneous outbound SMTP connections, all queues together.',
  },
  {
    name: 'total-max-file',
    scopes: ['global'],
    type: 'int',
    area: 'server',
    status: 'recognised',
    doc: 'Cap on simultaneous deliveries to files (`type file` queues).',
  },

  // ---- Listeners -------------------------------------------------------------
  {
    name: 'smtp-listener',
    scopes: ['global'],
    type: 'listener',
    repeatable: true,
    area: 'listeners',
    status: 'implemented',
    doc: 'Accepts SMTP on ADDRESS:PORT; `0/0:25` means every local IPv4 address, a CIDR binds each local address in it.',
  },
  {
    name: 'smtp-port',
    scopes: ['global'],
    type: 'int',
    area: 'listeners',
    status: 'recognised',
    doc: 'Old-style inbound port setting, superseded by `smtp-listener`.',
  },

  // ---- Relay targets ---------------------------------------------------------
  {
    name: 'relay-domain',
    scopes: ['global'],
    type: 'domain-pattern',
    repeatable: true,
    area: 'relay',
    status: 'implemented',
    doc: 'Accepts mail from anyone for this recipient domain (bounce, FBL, unsubscribe domains); `[*.]` adds subdomains.',
  },
  {
    name: 'relay-address',
    // A plain address or a /regex/ (the seed article's form), compiled at load time.
    scopes: ['global'],
    type: 'address-pattern',
    repeatable: true,
    area: 'relay',
    status: 'implemented',
    doc: 'Accepts mail from anyone for one recipient address, written plainly or as a /regex/.',
  },

  // ---- Spool ------------------------------------------------------------------
  {
    name: 'spool',
    scopes: ['global'],
    type: 'path',
    repeatable: true,
    area: 'spool',
    status: 'implemented',
    doc: 'Spool directory for queued messages (also written as a `<spool DIR>` block).',
  },
  {
    name: 'min-free-space',
    scopes: ['global', 'spool'],
    type: 'size',
    extension: true,
    area: 'spool',
    status: 'implemented',
    doc: 'Refuses new mail with a 4xx reply while the spool file system has less free space than this.',
  },
  {
    name: 'sync-msg-create',
    scopes: ['global'],
    type: 'bool',
    area: 'spool',
    status: 'recognised',
    doc: 'Flushes a new spool file to disk before acknowledging the message; turning it off trades safety for speed.',
  },
  {
    name: 'sync-msg-update',
    scopes: ['global'],
    type: 'bool',
    area: 'spool',
    status: 'recognised',
    doc: 'Flushes spool-file updates (delivery progress) to disk; off means a crash may cause duplicate deliveries.',
  },
  {
    name: 'deliver-only',
    scopes: ['spool'],
    type: 'bool',
    area: 'spool',
    status: 'recognised',
    doc: 'Delivers what this spool already holds but stores no new messages in it (used to drain an old spool).',
  },
  {
    name: 'delete-file-holders',
    scopes: ['spool'],
    type: 'bool',
    area: 'spool',
    status: 'recognised',
    doc: 'Removes leftover placeholder files from the spool directory (a PowerMTA workaround kept for compatibility).',
  },

  // ---- Pickup -----------------------------------------------------------------
  {
    name: 'pickup',
    scopes: ['global'],
    type: 'pickup',
    repeatable: true,
    area: 'pickup',
    status: 'recognised',
    doc: 'Injects files dropped in DIR (x-sender:/x-receiver: lines then the message); unreadable ones move to BADDIR.',
  },

  // ---- DNS ---------------------------------------------------------------------
  {
    name: 'edns-udp-length',
    scopes: ['global'],
    type: 'int',
    area: 'dns',
    status: 'recognised',
    doc: 'UDP payload size advertised with EDNS0 in DNS queries.',
  },
  {
    name: 'resolver-servers',
    scopes: ['global'],
    type: 'string-list',
    extension: true,
    area: 'dns',
    status: 'implemented',
    doc: 'DNS servers to query (IP or IP:PORT, comma list) instead of the system resolvers; lets tests use a loopback DNS.',
  },

  // ---- HTTP management -----------------------------------------------------------
  {
    name: 'http-mgmt-port',
    scopes: ['global'],
    type: 'int',
    area: 'http',
    status: 'implemented',
    doc: 'Port of the management API, web monitor and /metrics; nothing listens when it is not set. Loopback only unless `http-access` opens other networks.',
  },
  {
    name: 'http-mgmt-tls-certificate',
    scopes: ['global'],
    type: 'path',
    checkFile: true,
    extension: true,
    area: 'http',
    status: 'implemented',
    doc: 'PEM file with certificate (and chain) and key: the management API, monitor and /metrics are then served over HTTPS only (TLS 1.2+) — for remote admin with `http-api-token`.',
  },
  {
    name: 'http-api-token',
    scopes: ['global'],
    type: 'string',
    extension: true,
    area: 'http',
    status: 'implemented',
    doc: 'A bearer token (`Authorization: Bearer …`) that grants admin access from any allowed address, for remote admin over TLS; `PETREL_API_TOKEN` in the environment does the same.',
  },
  {
    name: 'http-access',
    scopes: ['global'],
    type: 'http-access',
    repeatable: true,
    area: 'http',
    status: 'implemented',
    doc: 'Grants an address or network `none`, `monitor` (read-only) or `admin` (commands, config) access over HTTP.',
  },
  {
    name: 'http-redirect-to-https',
    scopes: ['global'],
    type: 'bool',
    area: 'http',
    status: 'recognised',
    doc: 'Redirects plain-HTTP management requests to HTTPS.',
  },

  // ---- Daemon log ------------------------------------------------------------------
  {
    name: 'log-file',
    scopes: ['global'],
    type: 'path',
    area: 'logging',
    status: 'implemented',
    doc: 'File the daemon writes its log to.',
  },
  {
    name: 'log-rotate',
    scopes: ['global'],
    type: 'int',
    area: 'logging',
    status: 'implemented',
    doc: 'Number of rotated daemon log files to keep.',
  },

  // ---- Built-in test sink (powermta.md §2.18) ------------------------------------
  {
    name: 'dummy-smtp-ip',
    scopes: ['global'],
    type: 'ip',
    area: 'test-sink',
    status: 'recognised',
    doc: 'Address the built-in fake receiving server listens on.',
  },
  {
    name: 'dummy-smtp-port',
    scopes: ['global'],
    type: 'int',
    area: 'test-sink',
    status: 'recognised',
    doc: 'Port the built-in fake receiving server listens on.',
  },
  {
    name: 'dummy-smtp-has-chunking',
    scopes: ['global'],
    type: 'bool',
    area: 'test-sink',
    status: 'recognised',
    doc: 'The test sink advertises CHUNKING.',
  },
  {
    name: 'dummy-smtp-has-pipelining',
    scopes: ['global'],
    type: 'bool',
    area: 'test-sink',
    status: 'recognised',
    doc: 'The test sink advertises PIPELINING.',
  },
  {
    name: 'dummy-smtp-has-mailmerge',
    scopes: ['global'],
    type: 'bool',
    area: 'test-sink',
    status: 'recognised',
    doc: 'The test sink advertises the XMRG mail-merge extension.',
  },
  {
    name: 'dummy-smtp-blacklist',
    scopes: ['global'],
    type: 'path',
    checkFile: true,
    area: 'test-sink',
    status: 'recognised',
    doc: 'File of canned rejections (`name:550 5.1.1 <RCPT_USER>@<RCPT_DOMAIN>... User unknown`) the sink answers with.',
  },
  {
    name: 'dummy-smtp-log-blacklist',
    scopes: ['global'],
    type: 'bool',
    area: 'test-sink',
    status: 'recognised',
    doc: 'Logs each canned rejection the test sink sends.',
  },
  {
    name: 'dummy-smtp-blacklist-bounce-method',
    scopes: ['global'],
    type: 'word',
    area: 'test-sink',
    status: 'recognised',
    doc: 'How the sink picks a canned rejection (`random` is the only value seen).',
  },
  {
    name: 'dummy-smtp-blacklist-bounce-percent',
    scopes: ['global'],
    type: 'int',
    area: 'test-sink',
    status: 'recognised',
    doc: 'Percentage of recipients the test sink rejects; the rest are accepted and discarded.',
  },
];
