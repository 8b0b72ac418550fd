/**
 * @module config/types
 *
 * The contracts shared by the configuration modules:
 *  - `lexer.ts`/`parser.ts` turn text into located lines and blocks;
 *  - `values.ts` holds one typed parser per value type (`ValueTypeName`);
 *  - `directives.ts` is the ONE directive table (`DirectiveSpec[]`);
 *  - `loader.ts` validates a parsed tree against the table into a `PetrelConfig`;
 *  - `resolve.ts` answers "which value applies to this queue / source".
 *
 * Positions are 1-based (line and column), as editors show them.
 */

/** Where a piece of text came from. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type Severity = 'error' | 'warning';

/** One problem found in a configuration. Every problem in a file is collected; none aborts the run. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly pos: SourcePos;
  /** What is wrong, in one sentence ("unknown directive 'max-smtp-ot'"). */
  readonly message: string;
  /** The offending text as written. */
  readonly text?: string;
  /** What would have been accepted ("a duration such as 30s, 10m, 4d12h or never"). */
  readonly expected?: string;
  /** A suggestion ("did you mean 'max-smtp-out'?"). */
  readonly hint?: string;
}

/** The block kinds (scopes) of the language, plus the top level. */
export type ScopeName =
  | 'global'
  | 'source'
  | 'smtp-user'
  | 'domain'
  | 'virtual-mta'
  | 'virtual-mta-pool'
  | 'pattern-list'
  | 'smtp-pattern-list'
  | 'bounce-category-patterns'
  | 'acct-file'
  | 'spool'
  | 'bounce-processor'
  | 'feedback-loop-processor'
  | 'address-list'
  | 'rewrite-list'
  | 'mx-rollup-list'
  | 'signals'
  | 'proxy'
  | 'source-group';

/**
 * The value types. Each has one parser in `values.ts`; the directive table names the type of every directive.
 *
 * - `bool`: yes/no/true/false (case-insensitive) → boolean
 * - `duration`: `30s`, `10m`, `4d12h`, `2w`, `never` (→ Infinity), `0`, a bare number = seconds → milliseconds
 * - `duration-list`: comma list of durations → number[] (ms)
 * - `rate`: `100/h`, `100/10m`, `2000/hour`, `10/min`, `1/5s`, `unlimited`, `0` → {count, perMs} | 'unlimited'
 * - `data-rate`: `10M/h`, `500k/10m`, `unlimited` → {bytes, perMs} | 'unlimited'
 * - `size`: `100K`, `50M`, `1G`, `123` (bytes), `unlimited` → bytes (number; Infinity for unlimited)
 * - `int`: a non-negative integer → number
 * - `int-unlimited`: an integer or `unlimited` → number (Infinity for unlimited)
 * - `ip`: an IPv4 or IPv6 address → string (canonical)
 * - `cidr`: an address or network, with PowerMTA's short forms (`0/0`, `10.1.0/24`) → Cidr
 * - `listener`: `0/0:25`, `10.0.1.22:587`, `[::]:587`, `IP/28:25`, with optional `key=value` options after → Listener
 * - `host-list`: `smtp-hosts`/`route` values: `[192.168.0.1]:2525`, `mx.example.com:25`, `lookup-mx:example.com`, comma list → HostRoute[]
 * - `domain-pattern`: `*`, `example.com`, `[*.]example.com`, `*.example.com`, `$macro`, `$a.$b`, `[1.2.3.0/24]` → DomainPattern
 * - `regex`: Perl-style `/re/flags` → RegExp (case-insensitive unless `(?-i)`), refused where translation would change meaning
 * - `string`: the rest of the line, quotes removed (`""` → `"`); `""` alone → '' (clears an inherited value)
 * - `string-list`: comma list of strings (spaces around commas allowed)
 * - `word`: one token, no spaces
 * - `enum`: one of `DirectiveSpec.enumValues`
 * - `path`: a file system path (string); existence is checked by the loader where the table says so
 * - `email`: an address `local@domain` (or a bare domain where PowerMTA allows) → string
 * - `address-pattern`: an exact address or a Perl-style `/regex/` matched against the whole address (relay-address) → AddressPattern
 * - `source-host`: `IP HOSTNAME` (smtp-source-host) → {ip, hostname}; IP may also be a range a-b or CIDR
 * - `domain-key`: `selector,domain,keyfile` → {selector, domain, keyFile}
 * - `http-access`: `IP|CIDR none|monitor|admin` → {cidr, level}
 * - `cidr-rate`: `CIDR RATE` (source-ip-max-msg-rate) → {cidr, rate}
 * - `cidr-int`: `CIDR N` (source-ip-max-smtp-out) → {cidr, value}
 * - `pattern-rule`: `/re/ key=value…` or `/re/ action…` (pattern-list mail-from/rcpt-to, smtp-pattern-list reply) → {regex, actions}
 * - `header-pattern-rule`: `NAME /re/ key=value…` (pattern-list `header`) → {header, regex, actions}
 * - `category-rule`: `/re/ category` (bounce-category-patterns lines) → {regex, category}
 * - `record-fields`: `TYPE field,field,…` → {type, fields}
 * - `map-header-to-field`: `TYPE header_NAME field` → {type, header, field}
 * - `rewrite-rule`: `PATTERN REPLACEMENT` (rewrite-list mail-from/header-from…) → {from, to}
 * - `mx-rollup`: `HOSTPATTERN QUEUENAME [rollup-by-ip]` → {host, queue, byIp}
 * - `address-match`: `domain X` / `address /re/` lines inside `<address-list>` → handled by type `domain-pattern` / `regex`
 * - `pickup`: `DIR [BADDIR]` → {dir, badDir}
 * - `domain-macro`: `NAME dom1,dom2,…` → {name, domains}
 * - `include`: a path or glob (handled by the parser itself)
 * - `free`: text PowerMTA accepts that Petrel does not interpret yet (recognised-not-yet-supported directives) → string
 */
export type ValueTypeName =
  | 'bool'
  | 'duration'
  | 'duration-list'
  | 'rate'
  | 'data-rate'
  | 'size'
  | 'int'
  | 'int-unlimited'
  | 'ip'
  | 'cidr'
  | 'listener'
  | 'host-list'
  | 'domain-pattern'
  | 'regex'
  | 'string'
  | 'string-list'
  | 'word'
  | 'enum'
  | 'path'
  | 'email'
  | 'address-pattern'
  | 'source-host'
  | 'domain-key'
  | 'http-access'
  | 'cidr-rate'
  | 'cidr-int'
  | 'pattern-rule'
  | 'header-pattern-rule'
  | 'category-rule'
  | 'record-fields'
  | 'map-header-to-field'
  | 'rewrite-rule'
  | 'mx-rollup'
  | 'pickup'
  | 'domain-macro'
  | 'include'
  | 'free';

/** The text of a directive's value: everything after the name, comment removed, trimmed. */
export interface ValueInput {
  /** The raw value text (quotes still in place). Continuation lines are joined with a single space. */
  readonly raw: string;
  /** The directive being parsed, for messages. */
  readonly directive: string;
  /** For `enum`: the allowed words. */
  readonly enumValues?: readonly string[];
}

/** A parse failure; `offset` is the 0-based index into `ValueInput.raw` where the bad part starts. */
export interface ValueError {
  readonly ok: false;
  readonly message: string;
  readonly expected: string;
  readonly offset: number;
  /** The offending piece of text. */
  readonly text: string;
}

export interface ValueOk<T> {
  readonly ok: true;
  readonly value: T;
  /** Non-fatal remarks (e.g. "`/hour` read as `/h`"). */
  readonly warnings?: readonly string[];
}

export type ValueResult<T> = ValueOk<T> | ValueError;

export type ValueParser<T = unknown> = (input: ValueInput) => ValueResult<T>;

// ---- Parsed value shapes -------------------------------------------------

export interface Rate {
  readonly count: number;
  readonly perMs: number;
}
export type RateValue = Rate | 'unlimited';

export interface DataRate {
  readonly bytes: number;
  readonly perMs: number;
}
export type DataRateValue = DataRate | 'unlimited';

export interface Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Canonical network address (`10.1.0.0`). */
  readonly address: string;
  readonly prefix: number;
  /** As written (`10.1.0/24`). */
  readonly text: string;
}

export interface Listener {
  /** The bind address: a canonical IP, `0.0.0.0` for `0/0`, `::` for `[::]`. */
  readonly address: string;
  readonly family: 4 | 6;
  /** Set when written as a network (`IP/28:25`): bind every address in it that the host has. */
  readonly cidr?: Cidr;
  readonly port: number;
  /** `tls=implicit` (our extension), `source=NAME` (our extension), any other `key=value`. */
  readonly options: Readonly<Record<string, string>>;
  readonly text: string;
}

export type HostRoute =
  | { readonly kind: 'ip'; readonly address: string; readonly port?: number; readonly text: string }
  | { readonly kind: 'host'; readonly host: string; readonly port?: number; readonly text: string }
  | { readonly kind: 'lookup-mx'; readonly domain: string; readonly port?: number; readonly text: string };

export type DomainPattern =
  | { readonly kind: 'any'; readonly text: string } // *
  | { readonly kind: 'exact'; readonly domain: string; readonly text: string } // example.com, gmail.rollup, {sparkpost}
  | { readonly kind: 'suffix'; readonly domain: string; readonly includeSelf: boolean; readonly text: string } // [*.]example.com (self too), *.example.com (subdomains only)
  | { readonly kind: 'macro'; readonly parts: readonly string[]; readonly text: string } // $macro, $a.$b, $sub.rr.com (parts: ['$sub','rr','com'])
  | { readonly kind: 'ip-literal'; readonly cidr: Cidr; readonly text: string }; // [1.2.3.0/24]

export interface PatternAction {
  readonly key: string;
  /** `undefined` for a bare action word (`bounce-queue`). */
  readonly value?: string;
}

export interface PatternRule {
  readonly regex: RegExp;
  readonly source: string;
  readonly actions: readonly PatternAction[];
}

export interface HeaderPatternRule extends PatternRule {
  readonly header: string;
}

export interface CategoryRule {
  readonly regex: RegExp;
  readonly source: string;
  readonly category: string;
}

export type AddressPattern =
  | { readonly kind: 'exact'; readonly address: string; readonly text: string }
  | { readonly kind: 'regex'; readonly regex: RegExp; readonly text: string };

export interface SourceHost {
  readonly ip: string;
  readonly family: 4 | 6;
  readonly hostname: string;
  /** A range `a-b` or CIDR as written, when given instead of one address. */
  readonly range?: string;
}

export interface DomainKey {
  readonly selector: string;
  readonly domain: string;
  readonly keyFile: string;
}

export type HttpAccessLevel = 'none' | 'monitor' | 'admin';
export interface HttpAccess {
  readonly cidr: Cidr;
  readonly level: HttpAccessLevel;
}

export interface CidrRate {
  readonly cidr: Cidr;
  readonly rate: RateValue;
}

export interface CidrInt {
  readonly cidr: Cidr;
  readonly value: number;
}

export interface RecordFields {
  readonly type: string;
  readonly fields: readonly string[];
}

export interface MapHeaderToField {
  readonly type: string;
  readonly header: string;
  readonly field: string;
}

export interface RewriteRule {
  readonly from: string;
  readonly to: string;
}

export interface MxRollup {
  readonly host: string;
  readonly queue: string;
  readonly byIp: boolean;
}

export interface Pickup {
  readonly dir: string;
  readonly badDir?: string;
}

export interface DomainMacro {
  readonly name: string;
  readonly domains: readonly string[];
}

// ---- The directive table --------------------------------------------------

/** implemented: Petrel acts on it. recognised: parsed and validated, a warning says it has no effect yet. */
export type DirectiveStatus = 'implemented' | 'recognised';

export interface DirectiveSpec {
  /** Lower-case name as PowerMTA spells it. */
  readonly name: string;
  /** Other spellings accepted (old names such as `421-means-mx-unavailable`). */
  readonly aliases?: readonly string[];
  /** Where the directive may appear. */
  readonly scopes: readonly ScopeName[];
  readonly type: ValueTypeName;
  /** For `enum`. */
  readonly enumValues?: readonly string[];
  /** The built-in default as PowerMTA writes it (parsed with `type`), or undefined for none. */
  readonly default?: string;
  /** One line for docs/configuration.md and `petrel show settings`. */
  readonly doc: string;
  readonly status: DirectiveStatus;
  /** May appear several times in one block; values accumulate in order (smtp-listener, relay-domain, reply…). */
  readonly repeatable?: boolean;
  /** The loader checks that this file exists and is readable (`smtp-server-tls-certificate`, `domain-key` key file). */
  readonly checkFile?: boolean;
  /** Petrel's own extension, not in PowerMTA. */
  readonly extension?: boolean;
  /** Functional area, for grouping in the docs ("listeners", "relay", "tls", "delivery", …). */
  readonly area: string;
}
