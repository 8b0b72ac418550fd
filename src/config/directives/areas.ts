/**
 * @module config/directives/areas
 *
 * The functional areas used to group the directive table, in the order
 * `docs/configuration.md` presents them. Exports `AREAS` (ordered) and
 * `AreaName`. Every `DirectiveSpec.area` must be one of these keys; a test
 * keeps the table honest, so a typo in an area cannot silently drop a
 * directive out of the generated docs.
 */

export interface AreaInfo {
  /** Section title in the docs. */
  readonly title: string;
  /** One or two sentences shown under the title. */
  readonly intro: string;
}

/** Ordered: the docs follow a reader from the file's own syntax, to receiving mail, to sending it, to operations. */
export const AREAS = {
  language: {
    title: 'Configuration language',
    intro: 'Directives handled by the reader itself rather than by a subsystem.',
  },
  server: {
    title: 'Server identity and global totals',
    intro: 'Top-level settings: who the server says it is and how many connections it opens in total.',
  },
  listeners: {
    title: 'Listeners',
    intro: 'Where Petrel accepts SMTP connections.',
  },
  relay: {
    title: 'Relaying and access (inbound)',
    intro: 'Which clients may inject mail and for which recipients mail is accepted.',
  },
  auth: {
    title: 'Authentication',
    intro: 'SMTP AUTH accounts (`<smtp-user>`), inbound AUTH rules, and the credentials used when Petrel authenticates to a remote host.',
  },
  inbound: {
    title: 'Inbound limits and checks',
    intro: 'Per-source limits on incoming sessions and messages, and checks run on received mail.',
  },
  submission: {
    title: 'Submission: virtual MTA selection, jobs, envelope ids',
    intro: 'How an injected message is assigned a virtual MTA, a job id and an envelope id.',
  },
  headers: {
    title: 'Header processing',
    intro: 'Headers added, removed or rewritten when a message is received.',
  },
  tls: {
    title: 'TLS and DANE',
    intro: 'STARTTLS on the server side (global, `<source>`) and on the client side (`<domain>`).',
  },
  delivery: {
    title: 'Delivery: concurrency and rates',
    intro: 'How many connections and messages a queue (`domain/virtual-mta`) may use.',
  },
  retries: {
    title: 'Delivery: retries, expiry and reply handling',
    intro: 'When to retry, when to give up, and how particular SMTP replies are read.',
  },
  timeouts: {
    title: 'Delivery: timeouts and SMTP quirks',
    intro: 'Protocol timeouts, and switches that work around broken remote servers.',
  },
  routing: {
    title: 'Delivery: routing and delivery types',
    intro: 'Where a queue\'s mail goes: MX lookup, fixed hosts, another queue, a pipe, a file.',
  },
  backoff: {
    title: 'Backoff mode',
    intro: 'The slower regime a queue enters when `<smtp-pattern-list>` rules see throttling replies.',
  },
  dsn: {
    title: 'DSNs and per-domain extras',
    intro: 'Delivery status notifications, copies, recipient events and outbound checks.',
  },
  warmup: {
    title: 'IP warm-up (cold virtual MTAs)',
    intro: 'Sending only the first messages for a domain through a warming ("cold") virtual MTA.',
  },
  dkim: {
    title: 'DKIM signing',
    intro: 'Key registration (global or per virtual MTA) and signing options (per domain).',
  },
  vmta: {
    title: 'Virtual MTAs and pools',
    intro: 'Outbound source addresses and host names, pool membership, outbound proxies.',
  },
  patterns: {
    title: 'Pattern lists, reply patterns, rewriting and MX rollup',
    intro: 'The line kinds that appear only inside their special blocks.',
  },
  bounces: {
    title: 'Bounce and feedback-loop processors',
    intro: 'Ingesting out-of-band bounces and ARF complaints sent to addresses Petrel relays for.',
  },
  accounting: {
    title: 'Accounting files',
    intro: 'CSV records of deliveries, bounces, deferrals, receipts and complaints (`<acct-file>`).',
  },
  logging: {
    title: 'Logging',
    intro: 'The daemon log and the per-source / per-domain logging switches.',
  },
  spool: {
    title: 'Spool',
    intro: 'Where queued messages are stored and how they are written.',
  },
  pickup: {
    title: 'Pickup directory',
    intro: 'Injection by dropping files into a directory.',
  },
  dns: {
    title: 'DNS',
    intro: 'How Petrel queries DNS.',
  },
  http: {
    title: 'HTTP management',
    intro: 'The management API and web monitor.',
  },
  'test-sink': {
    title: 'Built-in test sink (dummy SMTP)',
    intro: 'A fake receiving server on its own address, for load and bounce testing.',
  },
  signals: {
    title: 'SparkPost Signals',
    intro: 'The `<signals>` uploader block of PowerMTA 5.0 and its global switch.',
  },
  proxy: {
    title: 'Outbound proxy (`<proxy>`)',
    intro: 'PowerMTA 5.0r2–r7 outbound HAProxy-protocol proxies, referenced by `use-proxy`.',
  },
} as const satisfies Record<string, AreaInfo>;

export type AreaName = keyof typeof AREAS;
