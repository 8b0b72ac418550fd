/**
 * @module config/directives/fake
 *
 * Directive and block names that do not exist in PowerMTA but are spread by
 * AI-generated "configuration guides" (powermta.md, "WARNING"). Exports
 * `KNOWN_FAKE_DIRECTIVES` and `KNOWN_FAKE_BLOCKS`, name → one-line
 * explanation, so the loader can say *why* a name is unknown and what to
 * write instead, rather than a bare "unknown directive".
 *
 * Fake forms of real directives (`dkim-sign domain=… key-file=…`,
 * `virtual-mta NAME weight 100`, `smtp-pattern-list NAME { "text" … }`) are
 * bad values, not bad names; the value parsers report those.
 */

export const KNOWN_FAKE_DIRECTIVES: Readonly<Record<string, string>> = {
  'adaptive-max-smtp-out':
    'not a PowerMTA directive (it appears in invented web guides); use max-smtp-out, with backoff-max-smtp-out for throttled queues',
  'bounce-log':
    'not a PowerMTA directive (it appears in invented web guides); bounces are written by an <acct-file> with `records b`',
  'log-level':
    'not a PowerMTA directive (it appears in invented web guides); use log-connections, log-commands and log-data',
  'queue-shards': 'not a PowerMTA directive (it appears in invented web guides); queues are per domain/virtual-mta',
  'initial-pts': 'not a PowerMTA directive (it appears in invented web guides)',
  'backoff-trigger-pattern':
    'not a PowerMTA directive (it appears in invented web guides); write `reply /re/ mode=backoff` in an <smtp-pattern-list>',
  throttle:
    'not a PowerMTA directive (it appears in invented web guides, inside a fake <limits> block); use max-msg-rate in <domain>',
};

export const KNOWN_FAKE_BLOCKS: Readonly<Record<string, string>> = {
  limits: 'PowerMTA has no <limits> block (it appears in invented web guides); rate limits go in <domain>',
  'accepted-connect': 'PowerMTA has no <accepted-connect> block (it appears in invented web guides); use <source>',
  'bounce-handling':
    'PowerMTA has no <bounce-handling> block (it appears in invented web guides); see <bounce-processor> and <bounce-category-patterns>',
  'source-pool':
    'PowerMTA has no <source-pool> block (it appears in invented web guides); use <virtual-mta-pool> for outbound IPs',
  'smtp-listener': 'smtp-listener is a directive (`smtp-listener 0/0:25`), not a block; the XML form comes from invented web guides',
  port: 'PowerMTA has no <port> block (it appears in invented web guides); write `smtp-listener 0/0:25`',
};
