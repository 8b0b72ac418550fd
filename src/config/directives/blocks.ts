/**
 * @module config/directives/blocks
 *
 * Directives of the special blocks: `<virtual-mta>` and
 * `<virtual-mta-pool>`, the line kinds of `<pattern-list>`,
 * `<smtp-pattern-list>`, `<rewrite-list>`, `<mx-rollup-list>` and
 * `<address-list>`, the bounce and feedback-loop processors, `<signals>`
 * and `<proxy>`. Exports `BLOCK_DIRECTIVES`.
 *
 * Some names mean different things in different blocks (`mail-from` is a
 * routing rule in `<pattern-list>` and a rewrite rule in `<rewrite-list>`):
 * such specs share a name with disjoint scopes, and `findDirective(name,
 * scope)` picks the right one.
 *
 * `<bounce-category-patterns>` has no entry here on purpose: its lines are
 * `/regex/ category` with no directive name, so the loader parses each line
 * whole with the `category-rule` value type.
 */
import type { Spec } from './spec.js';

export const BLOCK_DIRECTIVES: readonly Spec[] = [
  // ---- Virtual MTAs and pools -------------------------------------------------
  {
    name: 'smtp-source-host',
    scopes: ['global', 'virtual-mta'],
    type: 'source-host',
    repeatable: true,
    area: 'vmta',
    status: 'implemented',
    doc: 'Outbound source address and the EHLO name used from it (`IP HOST`); several lines share the load.',
  },
  {
    name: 'smtp-proxy-source-host',
    // LOCAL-IP PROXY:PORT PROXY-CLIENT-IP[:PORT] HOST: no value type yet, kept as text.
    scopes: ['global', 'virtual-mta'],
    type: 'free',
    repeatable: true,
    area: 'vmta',
    status: 'recognised',
    doc: 'Sends through an HAProxy-protocol proxy: `LOCAL-IP PROXY:PORT PROXY-CLIENT-IP[:PORT] HOST` (5.0r8+).',
  },
  {
    name: 'use-proxy',
    scopes: ['virtual-mta'],
    type: 'word',
    area: 'vmta',
    status: 'recognised',
    doc: 'Delivers through the `<proxy NAME>` block (5.0r2–r7 form).',
  },
  {
    name: 'virtual-mta',
    scopes: ['virtual-mta-pool'],
    type: 'word',
    repeatable: true,
    area: 'vmta',
    status: 'implemented',
    doc: 'Adds a virtual MTA to the pool.',
  },
  {
    name: 'auto-cold-virtual-mta',
    scopes: ['virtual-mta'],
    type: 'free',
    area: 'warmup',
    status: 'recognised',
    doc: 'Deprecated in 4.5: automatic cold virtual MTA; use `max-cold-virtual-mta-msg` with a `NAME-cold` virtual MTA.',
  },
  {
    name: 'cold-virtual-mta',
    scopes: ['virtual-mta'],
    type: 'free',
    area: 'warmup',
    status: 'recognised',
    doc: 'Deprecated in 4.5: the `cold-virtual-mta CIDR HOSTNAME` form; define a `NAME-cold` virtual MTA instead.',
  },

  // ---- <pattern-list>: inbound routing rules -----------------------------------
  {
    name: 'mail-from',
    scopes: ['pattern-list'],
    type: 'pattern-rule',
    repeatable: true,
    area: 'patterns',
    status: 'implemented',
    doc: '`/re/ virtual-mta=NAME`: routes mail whose envelope sender matches (the text includes `<>`, so do not anchor with `$`).',
  },
  {
    name: 'rcpt-to',
    scopes: ['pattern-list'],
    type: 'pattern-rule',
    repeatable: true,
    area: 'patterns',
    status: 'implemented',
    doc: '`/re/ virtual-mta=NAME`: routes recipients whose address matches.',
  },
  {
    name: 'header',
    scopes: ['pattern-list'],
    type: 'header-pattern-rule',
    repeatable: true,
    area: 'patterns',
    status: 'implemented',
    doc: '`NAME /re/ virtual-mta=X`: routes mail whose header NAME matches.',
  },

  // ---- <smtp-pattern-list>: outbound reply rules -----------------------------------
  {
    name: 'reply',
    scopes: ['smtp-pattern-list'],
    type: 'pattern-rule',
    repeatable: true,
    area: 'patterns',
    status: 'implemented',
    doc: '`/re/ ACTION…` on a remote reply: `mode=backoff|normal`, `bounce-queue`, `bounce-rcpt`, `defer-queue`, `disable-source-ip`…',
  },

  // ---- <rewrite-list> ----------------------------------------------------------------
  {
    name: 'mail-from',
    scopes: ['rewrite-list'],
    type: 'rewrite-rule',
    repeatable: true,
    area: 'patterns',
    status: 'recognised',
    doc: '`PATTERN REPLACEMENT`: rewrites the envelope sender (`*@a.com *@bounces.a.com`).',
  },
  {
    name: 'header-from',
    scopes: ['rewrite-list'],
    type: 'rewrite-rule',
    repeatable: true,
    area: 'patterns',
    status: 'recognised',
    doc: '`PATTERN REPLACEMENT`: rewrites the address in the `From:` header.',
  },
  {
    name: 'rcpt-to',
    scopes: ['rewrite-list'],
    type: 'rewrite-rule',
    repeatable: true,
    area: 'patterns',
    status: 'recognised',
    doc: '`PATTERN REPLACEMENT`: rewrites recipient addresses.',
  },

  // ---- <mx-rollup-list> ------------------------------------------------------------
  {
    name: 'mx',
    scopes: ['mx-rollup-list'],
    type: 'mx-rollup',
    repeatable: true,
    area: 'patterns',
    status: 'recognised',
    doc: '`HOSTPATTERN QUEUE [rollup-by-ip]`: domains whose MX matches share the queue QUEUE.',
  },

  // ---- Bounce and feedback-loop processors ----------------------------------------------
  {
    name: 'deliver-matched-email',
    scopes: ['bounce-processor', 'feedback-loop-processor'],
    type: 'bool',
    area: 'bounces',
    status: 'implemented',
    doc: 'Also delivers messages recognised as bounces / complaints, instead of only recording them.',
  },
  {
    name: 'deliver-unmatched-email',
    scopes: ['bounce-processor', 'feedback-loop-processor'],
    type: 'bool',
    area: 'bounces',
    status: 'implemented',
    doc: 'Delivers mail to the processor\'s addresses that is not a recognisable bounce / complaint.',
  },
  {
    name: 'forward-errors-to',
    scopes: ['feedback-loop-processor'],
    type: 'email',
    area: 'bounces',
    status: 'recognised',
    doc: 'Forwards reports that could not be parsed to this address.',
  },
  {
    name: 'forward-unmatched-to',
    scopes: ['feedback-loop-processor'],
    type: 'email',
    area: 'bounces',
    status: 'recognised',
    doc: 'Forwards mail that is not a feedback report to this address.',
  },
  {
    name: 'domain',
    scopes: ['address-list'],
    type: 'domain-pattern',
    repeatable: true,
    area: 'bounces',
    status: 'implemented',
    doc: 'Processes mail for recipients in this domain.',
  },
  {
    name: 'address',
    scopes: ['address-list'],
    type: 'regex',
    repeatable: true,
    area: 'bounces',
    status: 'implemented',
    doc: 'Processes mail for recipients matching this /regex/.',
  },

  // ---- <signals> (and its global switch) -------------------------------------------------
  {
    name: 'enable-signals',
    scopes: ['global'],
    type: 'bool',
    area: 'signals',
    status: 'recognised',
    doc: 'Turns on the SparkPost Signals uploader configured in `<signals>`.',
  },
  {
    name: 'api-key',
    scopes: ['signals'],
    type: 'string',
    area: 'signals',
    status: 'recognised',
    doc: 'SparkPost API key used to upload.',
  },
  {
    name: 'upload-url',
    scopes: ['signals'],
    type: 'string',
    area: 'signals',
    status: 'recognised',
    doc: 'Endpoint the events are uploaded to.',
  },
  {
    name: 'engagement-tracking',
    scopes: ['signals'],
    type: 'free',
    area: 'signals',
    status: 'recognised',
    doc: 'Engagement (open/click) tracking setting for Signals.',
  },
  {
    name: 'min-free-space',
    // Same name as the global/spool extension; here it is PowerMTA's own, for the uploader's buffer.
    scopes: ['signals'],
    type: 'size',
    area: 'signals',
    status: 'recognised',
    doc: 'Stops buffering events for upload when the disk has less free space than this.',
  },
  {
    name: 'process-x-sp-subaccount-id',
    scopes: ['signals'],
    type: 'bool',
    area: 'signals',
    status: 'recognised',
    doc: 'Reads the SparkPost subaccount from an `X-SP-Subaccount-ID` header.',
  },
  {
    name: 'privacy-policy',
    scopes: ['signals'],
    type: 'free',
    area: 'signals',
    status: 'recognised',
    doc: 'Which event fields are withheld from upload.',
  },
  {
    name: 'custom-message-id-header',
    scopes: ['signals'],
    type: 'word',
    area: 'signals',
    status: 'recognised',
    doc: 'Header holding the message id reported to Signals.',
  },

  // ---- <proxy> ----------------------------------------------------------------------------
  {
    name: 'server',
    scopes: ['proxy'],
    type: 'free',
    area: 'proxy',
    status: 'recognised',
    doc: '`IP:PORT` of the proxy.',
  },
  {
    name: 'client',
    scopes: ['proxy'],
    type: 'free',
    repeatable: true,
    area: 'proxy',
    status: 'recognised',
    doc: '`IP:0 HELO-NAME`: an address on the proxy host to send from, and its EHLO name.',
  },
];
