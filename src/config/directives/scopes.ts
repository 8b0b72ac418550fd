/**
 * @module config/directives/scopes
 *
 * `BLOCKS`: one entry per block kind (`ScopeName`), saying whether its tag
 * takes an argument, where it may be opened, and what it is for. The loader
 * checks nesting against `parents`; the docs list it. `global` is the top
 * level itself (no tag, no parent).
 *
 * Nesting (powermta.md §1.2): `<domain>` at top level and inside
 * `<virtual-mta>` / `<virtual-mta-pool>`; `<address-list>` inside the two
 * processors; every other block at top level only.
 */
import type { ScopeName } from '../types.js';

export interface BlockInfo {
  /** Whether the opening tag takes an argument (`<domain example.com>` vs `<signals>`). */
  readonly arg: 'required' | 'none' | 'optional';
  /** Scopes the block may be opened in; empty for the top level itself. */
  readonly parents: readonly ScopeName[];
  /** What the argument is and what the block is for. */
  readonly doc: string;
}

export const BLOCKS: Readonly<Record<ScopeName, BlockInfo>> = {
  global: { arg: 'none', parents: [], doc: 'The top level of the file: listeners, paths, totals, macros, relay targets, keys.' },
  source: {
    arg: 'required',
    parents: ['global'],
    doc: 'Inbound policy for clients matching an IP, CIDR (`0/0`, `10.1.0/24`), IPv6 address, or a name (`{auth}`, `{pickup}`, `mumara`).',
  },
  'smtp-user': {
    arg: 'required',
    parents: ['global'],
    doc: 'An SMTP AUTH account; the argument is the user name (it may contain `@`).',
  },
  domain: {
    arg: 'required',
    parents: ['global', 'virtual-mta', 'virtual-mta-pool'],
    doc: 'Outbound policy for a recipient domain, `*`, a wildcard (`[*.]x.com`, `*.x.com`), a macro (`$name`, `$a.$b`), a queue name (`gmail.rollup`) or `{sparkpost}`.',
  },
  'virtual-mta': {
    arg: 'required',
    parents: ['global'],
    doc: 'A named outbound identity: source IP and host name, DKIM keys, `<domain>` overrides.',
  },
  'virtual-mta-pool': {
    arg: 'required',
    parents: ['global'],
    doc: 'A named set of virtual MTAs (`virtual-mta NAME` lines), usable wherever a virtual MTA name is.',
  },
  'pattern-list': {
    arg: 'required',
    parents: ['global'],
    doc: 'Named inbound routing rules (`mail-from`, `rcpt-to`, `header`), attached to a source with `pattern-list NAME`.',
  },
  'smtp-pattern-list': {
    arg: 'required',
    parents: ['global'],
    doc: 'Named rules on remote SMTP replies (`reply /re/ ACTION…`), attached to a domain with `smtp-pattern-list NAME`.',
  },
  'bounce-category-patterns': {
    arg: 'none',
    parents: ['global'],
    doc: 'Ordered `/regex/ category` lines classifying bounce text; first match wins. Lines have no directive name.',
  },
  'acct-file': {
    arg: 'required',
    parents: ['global'],
    doc: 'An accounting CSV file, or `|command` to stream records to a program; several may exist.',
  },
  spool: {
    arg: 'required',
    parents: ['global'],
    doc: 'A spool directory with its options (the plain `spool DIR` directive is the short form).',
  },
  'bounce-processor': {
    arg: 'none',
    parents: ['global'],
    doc: 'Out-of-band bounce ingestion for the addresses of its `<address-list>`; results become `rb` records.',
  },
  'feedback-loop-processor': {
    arg: 'none',
    parents: ['global'],
    doc: 'ARF complaint ingestion for the addresses of its `<address-list>`; results become `f` records.',
  },
  'address-list': {
    arg: 'none',
    parents: ['bounce-processor', 'feedback-loop-processor'],
    doc: 'The recipients a processor handles: `domain X` and `address /re/` lines.',
  },
  'rewrite-list': {
    arg: 'required',
    parents: ['global'],
    doc: 'Named address rewriting rules, attached to a source with `rewrite-list NAME`.',
  },
  'mx-rollup-list': {
    arg: 'none',
    parents: ['global'],
    doc: '`mx HOSTPATTERN QUEUE` lines merging domains with the same MX hosts into one queue.',
  },
  signals: { arg: 'none', parents: ['global'], doc: 'SparkPost Signals uploader settings (PowerMTA 5.0+).' },
  proxy: {
    arg: 'required',
    parents: ['global'],
    doc: 'A named outbound HAProxy-protocol proxy (`server`, `client`), used by a virtual MTA with `use-proxy NAME`.',
  },
  'source-group': {
    arg: 'required',
    parents: ['global'],
    doc: 'A named group of sources sharing inbound connection limits (`max-smtp-in`, `reserved-smtp-in`).',
  },
};
