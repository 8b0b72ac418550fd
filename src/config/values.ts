/**
 * @module config/values
 *
 * The typed value parsers of the configuration language: one per `ValueTypeName` (see
 * `types.ts` for the syntax and result shape of each), gathered in `VALUE_PARSERS`, with
 * `EXPECTED` phrases for error messages, and the helpers other modules need.
 *
 * Contract: a parser never throws on any input; it returns `{ok: true, value, warnings?}` or
 * `{ok: false, message, expected, offset, text}` where `offset` indexes `ValueInput.raw` and
 * `message` names the problem ("unknown time unit 'x' in '10x'"). The loader prefixes the
 * directive name and turns offsets into line:column.
 *
 * The parsers live in sibling files by concern:
 *  - `values-common.ts`: tokenizing (`splitWords`, `unquote`, `splitCommaList`), result helpers;
 *  - `values-scalar.ts`: bool, int, int-unlimited, size, word, enum, path, include, string, string-list, free;
 *  - `values-time.ts`: duration, duration-list, rate, data-rate;
 *  - `values-net.ts`: ip, cidr, listener, host-list, source-host, http-access, cidr-rate, cidr-int;
 *  - `values-domain.ts`: domain-pattern, email, domain-key, mx-rollup, domain-macro;
 *  - `values-regex.ts`: regex (Perl `/re/` → RegExp);
 *  - `values-rules.ts`: pattern-rule, header-pattern-rule, category-rule, record-fields,
 *    map-header-to-field, rewrite-rule, pickup.
 */
import type { ValueParser, ValueTypeName } from './types.js';
import { parseDomainKey, parseDomainMacro, parseDomainPattern, parseEmail, parseMxRollup } from './values-domain.js';
import {
  parseCidr,
  parseCidrInt,
  parseCidrRate,
  parseHostList,
  parseHttpAccess,
  parseIp,
  parseListener,
  parseSourceHost,
} from './values-net.js';
import { parseAddressPattern, parseRegex } from './values-regex.js';
import {
  parseCategoryRule,
  parseHeaderPatternRule,
  parseMapHeaderToField,
  parsePatternRule,
  parsePickup,
  parseRecordFields,
  parseRewriteRule,
} from './values-rules.js';
import {
  parseBool,
  parseEnum,
  parseFree,
  parseInclude,
  parseInteger,
  parseIntUnlimited,
  parsePath,
  parseSize,
  parseString,
  parseStringList,
  parseWord,
} from './values-scalar.js';
import { parseDataRate, parseDuration, parseDurationList, parseRate } from './values-time.js';

export { EXPECTED } from './values-expected.js';
export { splitWords, unquote, splitCommaList, checkHostname, templateLeftover } from './values-common.js';
export type { Piece, WordToken } from './values-common.js';
export * from './values-scalar.js';
export * from './values-time.js';
export * from './values-net.js';
export * from './values-domain.js';
export * from './values-regex.js';
export * from './values-rules.js';

/** Every value type's parser. `include` only checks its path: the parser expands it. */
export const VALUE_PARSERS: Readonly<Record<ValueTypeName, ValueParser>> = {
  bool: parseBool,
  duration: parseDuration,
  'duration-list': parseDurationList,
  rate: parseRate,
  'data-rate': parseDataRate,
  size: parseSize,
  int: parseInteger,
  'int-unlimited': parseIntUnlimited,
  ip: parseIp,
  'address-pattern': parseAddressPattern,
  cidr: parseCidr,
  listener: parseListener,
  'host-list': parseHostList,
  'domain-pattern': parseDomainPattern,
  regex: parseRegex,
  string: parseString,
  'string-list': parseStringList,
  word: parseWord,
  enum: parseEnum,
  path: parsePath,
  email: parseEmail,
  'source-host': parseSourceHost,
  'domain-key': parseDomainKey,
  'http-access': parseHttpAccess,
  'cidr-rate': parseCidrRate,
  'cidr-int': parseCidrInt,
  'pattern-rule': parsePatternRule,
  'header-pattern-rule': parseHeaderPatternRule,
  'category-rule': parseCategoryRule,
  'record-fields': parseRecordFields,
  'map-header-to-field': parseMapHeaderToField,
  'rewrite-rule': parseRewriteRule,
  'mx-rollup': parseMxRollup,
  pickup: parsePickup,
  'domain-macro': parseDomainMacro,
  include: parseInclude,
  free: parseFree,
};
