/**
 * @module config/config-docs
 *
 * `renderConfigurationDoc()`: the Markdown of `docs/configuration.md`,
 * generated from the directive table (`directives.ts`) so that the docs
 * cannot drift from what the loader accepts. A test compares the file on
 * disk with this output; `npm run docs:config` rewrites it.
 *
 * The output is deterministic (no dates, no environment), which is what
 * makes that comparison possible.
 */
import type { DirectiveSpec, ScopeName, ValueTypeName } from './types.js';
import { AREAS, BLOCKS, DIRECTIVES, KNOWN_FAKE_BLOCKS, KNOWN_FAKE_DIRECTIVES } from './directives.js';
import type { AreaName } from './directives.js';

/** Syntax and examples per value type; a `Record` so a new type in types.ts fails to compile until documented. */
const VALUE_TYPE_DOCS: Readonly<Record<ValueTypeName, { readonly syntax: string; readonly examples: string }>> = {
  bool: { syntax: '`yes`/`no`/`true`/`false`, any case', examples: '`yes`, `false`' },
  duration: { syntax: 'number + unit `s` `m` `h` `d` `w`, combinable; `never`; `0`; a bare number is seconds', examples: '`30s`, `10m`, `4d12h`, `never`' },
  'duration-list': { syntax: 'comma list of durations (successive waits; the last repeats)', examples: '`10m,20m,1h,6h`' },
  rate: { syntax: '`COUNT/[N]UNIT` with unit `s` `min` `m` `h` `hour` `d` `day`; `unlimited`; `0`', examples: '`100/h`, `100/10m`, `1/5s`, `unlimited`' },
  'data-rate': { syntax: '`SIZE/[N]UNIT`; `unlimited`', examples: '`10M/h`, `500k/10m`' },
  size: { syntax: 'bytes, or a number with `K` `M` `G` `T`; `unlimited`', examples: '`100K`, `50M`, `unlimited`' },
  int: { syntax: 'a non-negative whole number', examples: '`20`' },
  'int-unlimited': { syntax: 'a whole number or `unlimited`', examples: '`1000`, `unlimited`' },
  ip: { syntax: 'an IPv4 or IPv6 address', examples: '`192.0.2.1`, `::1`' },
  cidr: { syntax: 'an address or network, with short forms', examples: '`0/0`, `10.1.0/24`, `2001:db8::/32`' },
  listener: { syntax: '`ADDRESS:PORT` then optional `key=value` options', examples: '`0/0:25`, `[::]:587`, `10.0.1.16/28:25`' },
  'host-list': { syntax: 'comma list of hosts; `[IP]` skips MX lookup; `lookup-mx:DOMAIN`', examples: '`[192.0.2.1]:2525`, `mx.example.com:25`' },
  'domain-pattern': { syntax: 'domain, `*`, `[*.]domain` (domain and subdomains), `*.domain`, `$macro`, `[IP/mask]`', examples: '`[*.]bounces.example.com`' },
  regex: { syntax: 'Perl-style `/re/`, case-insensitive unless `(?-i)`; `//` matches everything; write `#` as `\\x23`', examples: '`/^abuse@/`' },
  string: { syntax: 'rest of the line; quote to keep spaces; `""` inside quotes is one `"`', examples: '`"hotmail.queue"`' },
  'string-list': { syntax: 'comma list; spaces around commas allowed', examples: '`List-Unsubscribe, Feedback-ID`' },
  word: { syntax: 'one token without spaces', examples: '`pool1`' },
  enum: { syntax: 'one of the listed words, any case', examples: '`relaxed`' },
  path: { syntax: 'a file or directory path (quote it if it has spaces)', examples: '`/var/spool/petrel`' },
  email: { syntax: 'an address', examples: '`postmaster@example.com`' },
  'address-pattern': { syntax: 'an exact address, or a Perl-style `/regex/` tested against the whole address', examples: '`abuse@fbl.example.com`, `/@foo(bar)?\\.com$/`' },
  'source-host': { syntax: '`IP HOSTNAME`; IP may be a range `a-b` or a CIDR', examples: '`192.0.2.10 mta1.example.com`' },
  'domain-key': { syntax: '`SELECTOR,DOMAIN,KEYFILE` (spaces after commas allowed)', examples: '`s1,example.com,/etc/petrel/s1.pem`' },
  'http-access': { syntax: '`IP|CIDR none|monitor|admin`', examples: '`127.0.0.1 admin`' },
  'cidr-rate': { syntax: '`CIDR RATE`', examples: '`10.0.0.0/24 100/h`' },
  'cidr-int': { syntax: '`CIDR N`', examples: '`10.0.0.0/24 5`' },
  'pattern-rule': { syntax: '`/re/` then actions (`key=value` or bare words)', examples: '`/spamhaus/ bounce-queue`' },
  'header-pattern-rule': { syntax: '`HEADER /re/` then actions', examples: '`X-Job /^42$/ virtual-mta=pool1`' },
  'category-rule': { syntax: '`/re/ CATEGORY` (the nameless lines of `<bounce-category-patterns>`)', examples: '`/user unknown/ bad-mailbox`' },
  'record-fields': { syntax: '`TYPE field,field,…`; `*` = default fields; `!field` drops one', examples: '`d *,header_Subject`' },
  'map-header-to-field': { syntax: '`TYPE header_NAME FIELD`', examples: '`f header_X-HmXmrOriginalRecipient rcpt`' },
  'rewrite-rule': { syntax: '`PATTERN REPLACEMENT`', examples: '`*@a.com *@bounces.a.com`' },
  'mx-rollup': { syntax: '`HOSTPATTERN QUEUE [rollup-by-ip]`', examples: '`*.mail.protection.outlook.com outlook.rollup`' },
  pickup: { syntax: '`DIR [BADDIR]`', examples: '`/var/pickup /var/pickup-bad`' },
  'domain-macro': { syntax: '`NAME dom1,dom2,…` (may continue after a trailing comma)', examples: '`isps gmail.com, yahoo.com`' },
  include: { syntax: 'a path or glob, relative to the including file', examples: '`conf.d/*.conf`' },
  free: { syntax: 'text Petrel keeps without interpreting (directive not acted on yet)', examples: '—' },
};

/** Table cells cannot contain a bare `|` or a newline. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function scopeLabel(scope: ScopeName): string {
  return scope === 'global' ? 'global' : `\`<${scope}>\``;
}

function typeLabel(spec: DirectiveSpec): string {
  const base = spec.type === 'enum' && spec.enumValues ? spec.enumValues.map((v) => `\`${v}\``).join(' / ') : `${spec.type}`;
  const notes: string[] = [];
  if (spec.repeatable) notes.push('repeatable');
  if (spec.checkFile) notes.push('file must exist');
  return notes.length > 0 ? `${base} (${notes.join(', ')})` : base;
}

function nameLabel(spec: DirectiveSpec): string {
  let label = `\`${spec.name}\``;
  if (spec.extension) label += ' ✦';
  if (spec.aliases && spec.aliases.length > 0) label += `<br>alias ${spec.aliases.map((a) => `\`${a}\``).join(', ')}`;
  return label;
}

function renderIntro(): string[] {
  const implemented = DIRECTIVES.filter((s) => s.status === 'implemented').length;
  const extensions = DIRECTIVES.filter((s) => s.extension).length;
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/directives.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'Petrel reads PowerMTA\'s configuration language: an existing `/etc/pmta/config` should load as it is.',
    'This page is generated from the one directive table in `src/config/directives.ts`; the loader validates',
    'against the same table, so every directive listed here is accepted and nothing else is.',
    '',
    `The table has ${DIRECTIVES.length} entries: ${implemented} implemented, ${DIRECTIVES.length - implemented} recognised, ${extensions} Petrel extensions.`,
    '',
    '**Status.** *implemented*: Petrel acts on the directive. *recognised*: the directive is parsed and its value',
    'checked, but Petrel does not act on it yet; the loader prints one warning per such directive, so a',
    'configuration never silently means less than it says. **✦** marks a Petrel extension that PowerMTA does not have.',
    '',
    '## Syntax',
    '',
    '- **One directive per line**: `name value…`. Indentation carries no meaning; tabs are spaces. CRLF and LF line',
    '  endings both work, and a missing final newline is fine.',
    '- **Names are case-insensitive** (`Pickup` is `pickup`). Values keep their case.',
    '- **Comments**: `#` starts a comment anywhere on a line, even after a value or inside quotes. A value therefore',
    '  cannot contain `#`; in a regex write `\\x23`.',
    '- **Continuation**: a line ending with `,` continues on the next line (long `domain-macro` or `domain-key` lists).',
    '  Inside `<bounce-category-patterns>`, a `/regex/` line without its category yet continues on the next line.',
    '- **Quoting**: double quotes keep spaces (`queue-to "hotmail.queue"`); inside quotes, `""` is one literal `"`.',
    '- **Clearing**: a value of `""` alone clears what the directive inherited from a more general block',
    '  (`backoff-notify ""` in `<domain example.com>` undoes a list set in `<domain *>`); the built-in default applies.',
    '- **Blocks**: `<name arg>` … `</name>`. A space before `>` and a comment after the tag are allowed. Each block',
    '  kind nests only where PowerMTA allows it (table below). A block opened in a file must close in that file.',
    '- **include**: `include PATH` reads another file in place of the line; a glob (`*`, `?`, `[...]`, no `**`)',
    '  includes every match in sorted order. Paths are relative to the including file. A glob matching nothing is a',
    '  warning; an include cycle is reported. `include` is allowed at top level and inside `<domain>` and `<virtual-mta>`.',
    '- **Relative paths**: files Petrel reads (includes, TLS certificates, DKIM keys) are relative to the file that',
    '  names them; places Petrel writes (the spool, logs, accounting files) are relative to the directory it starts in.',
    '- **Empty values**: a directive whose value is empty once its comment is removed (`password ## CHANGE ME ##`) is',
    '  an error, "missing value": `#` always starts a comment.',
    '- **Macros**: `domain-macro NAME a.com,b.com` lets `<domain $NAME>` stand for each listed domain; macros compose',
    '  (`<domain $sub.rr.com>`, `<domain $isp.$tld>`).',
    '- **Repeated blocks and directives**: blocks of the same kind and argument at the same level merge into the',
    '  first one (real configs repeat `<domain *>`). A non-repeatable directive written twice in one (merged) block:',
    '  the later line wins and a warning names the line it overrides. Repeatable directives accumulate in file order.',
    '- **Errors**: an unknown directive, a directive in the wrong block, or a bad value is an error with',
    '  `file:line:column`, what was expected, and a "did you mean" when one is close. Every problem in the file set',
    '  is reported; a configuration with any error is refused as a whole.',
    '',
    '## Which value applies (resolution order)',
    '',
    'PowerMTA resolves settings per directive, not per block; Petrel does the same.',
    '',
    '- **Queues** (`domain/virtual-mta`), for `<domain>` directives: `<domain>` blocks inside the queue\'s',
    '  `<virtual-mta>`, then inside the `<virtual-mta-pool>` the mail came through, then top-level `<domain>` blocks,',
    '  then the built-in default. Within each level: the exact domain (and `$macro` expansions), then `[*.]` / `*.`',
    '  suffix patterns from the longest suffix to the shortest, then `<domain *>`. The first block that sets the',
    '  directive wins.',
    '- **Sources** (inbound sessions), for `<source>` directives: named sources first (after AUTH the user\'s',
    '  `source NAME`, or `{auth}`; then the listener\'s `source=NAME`), then the `<source CIDR>` blocks containing the client address',
    '  from the longest prefix down to `0/0`, then the default.',
    '- **Virtual-MTA-level directives** (`smtp-source-host`, `domain-key`, …): the `<virtual-mta>` block, then the',
    '  top level, then the default.',
    '- A directive set to `""` stops the search at that block.',
    '',
    '## Blocks',
    '',
    '| Block | Argument | Allowed in | Purpose |',
    '|---|---|---|---|',
    ...(Object.keys(BLOCKS) as ScopeName[])
      .filter((s) => s !== 'global')
      .map((s) => {
        const b = BLOCKS[s];
        const where = b.parents.map((p) => (p === 'global' ? 'top level' : `\`<${p}>\``)).join(', ');
        return `| \`<${s}>\` | ${b.arg} | ${where} | ${cell(b.doc)} |`;
      }),
    '',
    'The lines of `<bounce-category-patterns>` have no directive name: each is `/regex/ category`, tried in order,',
    'first match wins (end the list with `// other`).',
    '',
    '## Value types',
    '',
    '| Type | Syntax | Examples |',
    '|---|---|---|',
    ...(Object.keys(VALUE_TYPE_DOCS) as ValueTypeName[]).map((t) => {
      const d = VALUE_TYPE_DOCS[t];
      return `| ${t} | ${cell(d.syntax)} | ${cell(d.examples)} |`;
    }),
    '',
  ];
}

function renderArea(area: AreaName, specs: readonly DirectiveSpec[]): string[] {
  const info = AREAS[area];
  const rows = [...specs].sort((a, b) => (a.name === b.name ? a.scopes.join().localeCompare(b.scopes.join()) : a.name.localeCompare(b.name)));
  return [
    `## ${info.title}`,
    '',
    info.intro,
    '',
    '| Directive | Scopes | Value | Default | Status | Description |',
    '|---|---|---|---|---|---|',
    ...rows.map((s) => {
      const value = cell(typeLabel(s));
      const def = s.default === undefined ? '—' : `\`${cell(s.default)}\``;
      return `| ${nameLabel(s)} | ${s.scopes.map(scopeLabel).join(', ')} | ${value} | ${def} | ${s.status} | ${cell(s.doc)} |`;
    }),
    '',
  ];
}

/** The fake-name explanations are plain text for terminal messages; tags become code spans so Markdown does not read them as HTML. */
function codeTags(text: string): string {
  return text.replace(/(?<!`)<([a-z-]+)>(?!`)/g, '`<$1>`');
}

function renderFakes(): string[] {
  const names = Object.keys(KNOWN_FAKE_DIRECTIVES).sort();
  const blocks = Object.keys(KNOWN_FAKE_BLOCKS).sort();
  return [
    '## Directives that do not exist',
    '',
    'Many web pages about PowerMTA are machine-written and invent syntax. Petrel refuses these names and says why:',
    '',
    '| Name | Explanation |',
    '|---|---|',
    ...names.map((n) => `| \`${n}\` | ${cell(codeTags(KNOWN_FAKE_DIRECTIVES[n]!))} |`),
    ...blocks.map((n) => `| \`<${n}>\` | ${cell(codeTags(KNOWN_FAKE_BLOCKS[n]!))} |`),
    '',
  ];
}

/** The full Markdown text of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const lines = renderIntro();
  for (const area of Object.keys(AREAS) as AreaName[]) {
    const specs = DIRECTIVES.filter((s) => s.area === area);
    if (specs.length > 0) lines.push(...renderArea(area, specs));
  }
  lines.push(...renderFakes());
  return `${lines.join('\n').trimEnd()}\n`;
}
