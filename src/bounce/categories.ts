/**
 * @module bounce/categories
 *
 * The closed list of bounce categories (STYLE habit 17): PowerMTA's 17 names, as its user's guide
 * spells them, plus `success`, which the default `<bounce-category-patterns>` list gives to 2.x.x
 * statuses.
 *
 * Exports:
 *  - `BOUNCE_CATEGORIES`: the 17 failure categories, in the guide's order of the table.
 *  - `BounceCategory`: their union; `Category`: `BounceCategory | 'success'`.
 *  - `CATEGORY_MEANINGS`: one plain-English line per category (for DSN texts, docs and the monitor).
 *  - `isBuiltinCategory(name)`: true for the 18 names above.
 *  - `isValidCategoryName(name)`: the shape a user-defined category must have
 *    (the same shape `config/values-rules.ts` accepts in `<bounce-category-patterns>`).
 *
 * Contract: a classification result is a `string`, because `<bounce-category-patterns>` may name
 * categories of its own (`AOL-RTR-block`); the default rules file only ever yields a `Category`,
 * which a test checks line by line.
 */

export const BOUNCE_CATEGORIES = [
  'bad-mailbox',
  'bad-domain',
  'inactive-mailbox',
  'quota-issues',
  'policy-related',
  'spam-related',
  'routing-errors',
  'protocol-errors',
  'content-related',
  'message-expired',
  'no-answer-from-host',
  'bad-connection',
  'bad-configuration',
  'invalid-sender',
  'relaying-issues',
  'virus-related',
  'other',
] as const;

export type BounceCategory = (typeof BOUNCE_CATEGORIES)[number];

/** Every category the built-in rules can produce. */
export type Category = BounceCategory | 'success';

export const CATEGORY_MEANINGS: Readonly<Record<Category, string>> = Object.freeze({
  'bad-mailbox': 'the address does not exist',
  'bad-domain': 'the domain does not exist or does not accept mail',
  'inactive-mailbox': 'the mailbox exists but is disabled, suspended or expired',
  'quota-issues': 'the mailbox is full or over its storage or rate quota',
  'policy-related': 'the receiving system refused the message by policy',
  'spam-related': 'the receiving system considered the message or its sender spam, or the sending IP is on a blocklist',
  'routing-errors': 'the message could not be routed to its destination',
  'protocol-errors': 'the SMTP conversation failed on a protocol error',
  'content-related': 'the message content, size or format was refused',
  'message-expired': 'the message could not be delivered before it expired',
  'no-answer-from-host': 'the receiving host did not answer',
  'bad-connection': 'the connection to the receiving host failed or was lost',
  'bad-configuration': 'the receiving host is misconfigured',
  'invalid-sender': 'the sender address or domain was refused',
  'relaying-issues': 'the receiving host refused to relay the message',
  'virus-related': 'the message was found to contain a virus',
  other: 'the failure did not match any known category',
  success: 'the message was delivered',
});

const BUILTIN: ReadonlySet<string> = new Set<string>([...BOUNCE_CATEGORIES, 'success']);

export function isBuiltinCategory(name: string): name is Category {
  return BUILTIN.has(name);
}

/** Same shape as `config/values-rules.ts`'s CATEGORY check. */
const CATEGORY_SHAPE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function isValidCategoryName(name: string): boolean {
  return CATEGORY_SHAPE.test(name);
}
