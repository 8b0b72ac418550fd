/**
 * @module config/values-domain
 *
 * Parsers for the domain-shaped types: `domain-pattern`, `email`, `domain-key`, `mx-rollup` and
 * `domain-macro`; plus `matchDomainPattern(pattern, domain, macros)`.
 *
 * Domain patterns come out lower-cased (DNS names are case-insensitive, and so are PowerMTA's
 * `<domain>` matches): `*`, `example.com`, `[*.]example.com` (the domain and its subdomains),
 * `*.example.com` (subdomains only), `$macro`, `$a.$b`, `$sub.rr.com`, `[192.0.2.0/24]`, special
 * names in braces (`{sparkpost}`) and queue names (`gmail.rollup`). Macro names are lower-cased
 * too, here and in `domain-macro`, so `$ISP` and `$isp` are one macro.
 */
import type { DomainKey, DomainMacro, DomainPattern, MxRollup, ValueInput, ValueResult } from './types.js';
import { EXPECTED } from './values-expected.js';
import {
  checkHostname,
  exactWords,
  fail,
  noSpacesInItems,
  normalizeDomain,
  ok,
  oneWord,
  splitCommaList,
  splitWords,
  templateLeftover,
  unterminatedQuote,
  withHint,
  wordPiece,
} from './values-common.js';
import type { Piece } from './values-common.js';
import { cidrContains, readCidr } from './values-net.js';

const MACRO_PART = /^\$[a-z0-9_-]+$/;
const BRACED_NAME = /^\{[a-z0-9_.-]+\}$/;

/** A host name, checked and lower-cased, or an error located in the raw text. */
function readHostname(piece: Piece, expected: string): ValueResult<string> {
  const problem = checkHostname(piece.text);
  if (problem) return fail(problem.message, expected, piece.offset + problem.index, piece.text);
  return ok(normalizeDomain(piece.text));
}

/** Read one domain pattern (a single word). */
export function readDomainPattern(piece: Piece, expected: string = EXPECTED['domain-pattern']): ValueResult<DomainPattern> {
  const { offset } = piece;
  const text = piece.text;
  const lower = text.toLowerCase();
  const leftover = templateLeftover(text);
  if (leftover) return fail(withHint(`'${text}' is not a domain pattern`, leftover), expected, offset, text);
  if (lower === '*') return ok({ kind: 'any', text });
  if (lower.startsWith('[*.]')) {
    const domain = readHostname({ text: lower.slice(4), offset: offset + 4 }, expected);
    return domain.ok ? ok({ kind: 'suffix', domain: domain.value, includeSelf: true, text }) : domain;
  }
  if (lower.startsWith('[')) {
    if (!lower.endsWith(']')) return fail(`'${text}' has no closing ']'`, expected, offset, text);
    const inner = lower.slice(1, -1).replace(/^ipv6:/, '');
    const cidr = readCidr({ text: inner, offset: offset + 1 + (lower.slice(1, -1).length - inner.length) }, expected);
    return cidr.ok ? ok({ kind: 'ip-literal', cidr: cidr.value, text }, cidr.warnings) : cidr;
  }
  if (lower.startsWith('*.')) {
    const domain = readHostname({ text: lower.slice(2), offset: offset + 2 }, expected);
    return domain.ok ? ok({ kind: 'suffix', domain: domain.value, includeSelf: false, text }) : domain;
  }
  const star = lower.indexOf('*');
  if (star >= 0) return fail(`'*' is only allowed as *, *.domain or [*.]domain; found '${text}'`, expected, offset + star, text);
  if (lower.startsWith('{')) {
    if (BRACED_NAME.test(lower)) return ok({ kind: 'exact', domain: lower, text });
    return fail(`'${text}' is not a valid special name such as {sparkpost}`, expected, offset, text);
  }
  if (lower.includes('$')) {
    const parts = lower.split('.');
    let at = offset;
    for (const part of parts) {
      if (part.startsWith('$') ? !MACRO_PART.test(part) : checkHostname(part) !== undefined) {
        return fail(`'${part}' is not a macro name ($name) or a domain label`, expected, at, part);
      }
      at += part.length + 1;
    }
    return ok({ kind: 'macro', parts, text });
  }
  const domain = readHostname({ text: lower, offset }, expected);
  return domain.ok ? ok({ kind: 'exact', domain: domain.value, text }) : domain;
}

export function parseDomainPattern(input: ValueInput): ValueResult<DomainPattern> {
  const expected = EXPECTED['domain-pattern'];
  const word = oneWord(input.raw, expected);
  if (!word.ok) {
    return word.message.startsWith('unexpected') ? { ...word, message: `a domain pattern is a single word; ${word.message}` } : word;
  }
  return readDomainPattern(word.value, expected);
}

/** Macro definitions by name (without `$`, lower-case): a Map or a plain record. */
export type MacroTable = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;

function macroValues(macros: MacroTable | undefined, name: string): readonly string[] | undefined {
  if (macros === undefined) return undefined;
  if (macros instanceof Map) return (macros as ReadonlyMap<string, readonly string[]>).get(name);
  return Object.hasOwn(macros, name) ? (macros as Readonly<Record<string, readonly string[]>>)[name] : undefined;
}

/**
 * Does a recipient domain (or a queue name) fall under the pattern? Case and one trailing dot
 * are ignored. A macro pattern matches when some choice of each macro's values, joined by dots
 * with the literal parts, spells the domain; an undefined macro matches nothing.
 */
export function matchDomainPattern(pattern: DomainPattern, domain: string, macros?: MacroTable): boolean {
  const name = normalizeDomain(domain);
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'exact':
      return name === pattern.domain;
    case 'suffix':
      return name.endsWith(`.${pattern.domain}`) || (pattern.includeSelf && name === pattern.domain);
    case 'ip-literal': {
      const literal = /^\[(?:ipv6:)?(.*)\]$/.exec(name);
      return literal !== null && cidrContains(pattern.cidr, literal[1]!);
    }
    case 'macro': {
      let source = '';
      for (const [index, part] of pattern.parts.entries()) {
        if (index > 0) source += '\\.';
        if (!part.startsWith('$')) {
          source += escapeRegex(part);
          continue;
        }
        const values = macroValues(macros, part.slice(1));
        if (values === undefined || values.length === 0) return false;
        source += `(?:${values.map((v) => escapeRegex(normalizeDomain(v))).join('|')})`;
      }
      return new RegExp(`^${source}$`).test(name);
    }
    default: {
      const unreachable: never = pattern;
      return unreachable;
    }
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

// ---- email ----------------------------------------------------------------------

/** `local@domain` (split at the last @, the domain lower-cased) or a bare domain. */
export function parseEmail(input: ValueInput): ValueResult<string> {
  const expected = EXPECTED.email;
  const word = oneWord(input.raw, expected);
  if (!word.ok) return word;
  const { text, offset } = word.value;
  const leftover = templateLeftover(text);
  if (leftover) return fail(withHint(`'${text}' is not an address`, leftover), expected, offset, text);
  if (text.startsWith('<') || text.endsWith('>')) return fail(`write the address without angle brackets: '${text.replace(/^<|>$/g, '')}'`, expected, offset, text);
  const at = text.lastIndexOf('@');
  if (at < 0) return readHostname(word.value, expected);
  if (at === 0) return fail(`the address '${text}' has no local part before '@'`, expected, offset, text);
  const domainPiece = { text: text.slice(at + 1), offset: offset + at + 1 };
  if (domainPiece.text === '') return fail(`the address '${text}' has no domain after '@'`, expected, domainPiece.offset, text);
  if (/^\[.*\]$/.test(domainPiece.text)) {
    const cidr = readCidr({ text: domainPiece.text.slice(1, -1), offset: domainPiece.offset + 1 }, expected);
    if (!cidr.ok) return cidr;
    return ok(`${text.slice(0, at)}@[${cidr.value.address}]`);
  }
  const domain = readHostname(domainPiece, expected);
  return domain.ok ? ok(`${text.slice(0, at)}@${domain.value}`) : domain;
}

// ---- domain-key, mx-rollup, domain-macro -------------------------------------------------

const SELECTOR = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `selector,domain,keyfile` (spaces around commas allowed; `*` as domain = every domain). */
export function parseDomainKey(input: ValueInput): ValueResult<DomainKey> {
  const expected = EXPECTED['domain-key'];
  const raw = input.raw;
  if (raw.trim() === '') return fail('missing value', expected, 0, '');
  const items = splitCommaList(raw, 0, expected);
  if (!items.ok) return items;
  const parts = items.value;
  if (parts.length > 3) {
    return fail(
      `expected 3 comma-separated parts (selector,domain,keyfile) but found ${parts.length}; the 4-part form domain,host,*,key seen in some generated configs is not supported, write selector,domain,keyfile`,
      expected,
      parts[3]!.offset,
      raw.slice(parts[3]!.offset).trim(),
    );
  }
  if (parts.length < 3) {
    const what = parts.length === 1 ? 'domain and key file' : 'key file';
    return fail(`missing ${what}: write selector,domain,keyfile`, expected, raw.trimEnd().length, '');
  }
  const spaced = noSpacesInItems(parts.slice(0, 2), expected);
  if (spaced) return spaced;
  const [selector, domainPiece, keyFile] = parts as [Piece, Piece, Piece];
  if (!SELECTOR.test(selector.text)) return fail(`'${selector.text}' is not a valid DKIM selector`, expected, selector.offset, selector.text);
  let domain = '*';
  if (domainPiece.text !== '*') {
    const read = readHostname(domainPiece, expected);
    if (!read.ok) return read;
    domain = read.value;
  }
  if (keyFile.text === '') return fail('missing key file', expected, keyFile.offset, '');
  return ok({ selector: selector.text, domain, keyFile: keyFile.text });
}

/** `HOSTPATTERN QUEUENAME [rollup-by-ip]` inside `<mx-rollup-list>`. */
export function parseMxRollup(input: ValueInput): ValueResult<MxRollup> {
  const expected = EXPECTED['mx-rollup'];
  const raw = input.raw;
  const words = exactWords(raw, 2, 3, expected, ['host pattern', 'queue name']);
  if (!words.ok) return words;
  const hostPiece = wordPiece(words.value[0]!, raw);
  const wildcard = hostPiece.text.startsWith('*.');
  const host = readHostname(wildcard ? { text: hostPiece.text.slice(2), offset: hostPiece.offset + 2 } : hostPiece, expected);
  if (!host.ok) return host;
  const queuePiece = wordPiece(words.value[1]!, raw);
  const queue = readDomainPattern(queuePiece, expected);
  if (!queue.ok) return queue;
  if (queue.value.kind !== 'exact') return fail(`'${queuePiece.text}' is not a queue name`, expected, queuePiece.offset, queuePiece.text);
  const flagWord = words.value[2];
  if (flagWord !== undefined && flagWord.text.toLowerCase() !== 'rollup-by-ip') {
    return fail(`unknown option '${flagWord.text}' (only rollup-by-ip is allowed here)`, expected, flagWord.offset, flagWord.text);
  }
  return ok({ host: wildcard ? `*.${host.value}` : host.value, queue: queue.value.domain, byIp: flagWord !== undefined });
}

/** `NAME dom1, dom2,dom3` → {name, domains}; the name and the domains lower-cased. */
export function parseDomainMacro(input: ValueInput): ValueResult<DomainMacro> {
  const expected = EXPECTED['domain-macro'];
  const raw = input.raw;
  const words = splitWords(raw);
  const quoteError = unterminatedQuote(words, raw, expected);
  if (quoteError) return quoteError;
  const nameWord = words[0];
  if (nameWord === undefined) return fail('missing value', expected, 0, '');
  const name = nameWord.text.replace(/^\$/, '').toLowerCase();
  if (!/^[a-z0-9_-]+$/.test(name) || nameWord.text.endsWith(',')) {
    return fail(`'${nameWord.text}' is not a macro name (letters, digits, _ and -)`, expected, nameWord.offset, nameWord.text);
  }
  if (words.length === 1) return fail(`the macro '${name}' has no domains`, expected, nameWord.end, '');
  const items = splitCommaList(raw.slice(nameWord.end), nameWord.end, expected);
  if (!items.ok) return items;
  const spaced = noSpacesInItems(items.value, expected);
  if (spaced) return spaced;
  const domains: string[] = [];
  for (const item of items.value) {
    const domain = readHostname(item, expected);
    if (!domain.ok) return domain;
    domains.push(domain.value);
  }
  return ok({ name, domains });
}
