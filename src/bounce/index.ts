/**
 * @module bounce
 *
 * Bounce handling, pure (no I/O besides reading the shipped rules file once):
 *  - categories and classification: `BOUNCE_CATEGORIES`, `classify`, `parseRuleFile`, `defaultRules`;
 *  - DSN composition (RFC 3464 / RFC 6533): `composeDsn`;
 *  - incoming reports: `parseBounce` (DSNs and plain-text bounces), `parseArf` (RFC 5965);
 *  - VERP: `decodeVerp`, `encodeVerp`, `parseVerp`.
 * Each file's header states its contracts.
 */
export { BOUNCE_CATEGORIES, CATEGORY_MEANINGS, isBuiltinCategory, isValidCategoryName } from './categories.js';
export type { BounceCategory, Category } from './categories.js';
export { classify, classificationSubject, deriveStatus } from './classify.js';
export type { Classification, ClassifyInput } from './classify.js';
export { DEFAULT_RULES_FILE, defaultRules, parseRuleFile } from './rules.js';
export type { RuleFile, RuleFileProblem } from './rules.js';
export { composeDsn, dsnSubject } from './dsn.js';
export type { DsnAction, DsnInput, DsnRecipient } from './dsn.js';
export { parseDeliveryStatus } from './dsn-fields.js';
export type { DeliveryStatus, DeliveryStatusRecipient } from './dsn-fields.js';
export { parseBounce } from './parse-dsn.js';
export type { BounceRecipient, ParseBounceOptions, ParsedBounce } from './parse-dsn.js';
export { parseArf } from './parse-arf.js';
export type { ArfOptions, HeaderFieldMapping, ParsedArf } from './parse-arf.js';
export { decodeVerp, encodeVerp, parseVerp } from './verp.js';
export type { Verp } from './verp.js';
