import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { classify, classificationSubject, deriveStatus } from './classify.js';
import { DEFAULT_RULES_FILE, defaultRules, parseRuleFile } from './rules.js';
import { BOUNCE_CATEGORIES, CATEGORY_MEANINGS, isBuiltinCategory, isValidCategoryName } from './categories.js';

test('the category list is PowerMTA\'s 17 names, each with a meaning, plus success', () => {
  assert.equal(BOUNCE_CATEGORIES.length, 17);
  assert.equal(new Set(BOUNCE_CATEGORIES).size, 17);
  for (const c of BOUNCE_CATEGORIES) assert.ok(CATEGORY_MEANINGS[c].length > 0);
  assert.ok(isBuiltinCategory('success'));
  assert.ok(!isBuiltinCategory('AOL-RTR-block'));
  assert.ok(isValidCategoryName('AOL-RTR-block'));
  assert.ok(!isValidCategoryName('bad category'));
});

test('the default rules file parses cleanly, uses only built-in categories and ends with // other', () => {
  const parsed = parseRuleFile(fs.readFileSync(DEFAULT_RULES_FILE, 'utf8'));
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(parsed.warnings, []);
  assert.ok(parsed.rules.length > 80);
  for (const rule of parsed.rules) assert.ok(isBuiltinCategory(rule.category), `${rule.source} → ${rule.category}`);
  const last = parsed.rules.at(-1)!;
  assert.equal(last.source, '//');
  assert.equal(last.category, 'other');
  // Only the last rule is a catch-all: otherwise the rules after it would be dead.
  assert.equal(parsed.rules.filter((r) => r.regex.test('') && r.regex.test('x;y')).length, 1);
  assert.equal(defaultRules().length, parsed.rules.length);
});

test('the status rules come after the provider text rules and before the basic-code rules', () => {
  const sources = defaultRules().map((r) => r.source);
  const firstStatus = sources.indexOf('/^[45]\\.1\\.(0|1|3|4|6);/');
  const gmail = sources.indexOf('/email account that you tried to reach does not exist/');
  const basic = sources.findIndex((s) => s.includes('421\\b'));
  assert.ok(gmail > 0 && firstStatus > gmail && basic > firstStatus, `${gmail} ${firstStatus} ${basic}`);
});

test('first match wins', () => {
  const { rules } = parseRuleFile('/user unknown/ bad-mailbox\n/unknown/ other\n/^5\\.1\\.1;/ routing-errors\n');
  assert.equal(classify({ status: '5.1.1', diagnostic: 'smtp;550 5.1.1 User unknown' }, rules).category, 'bad-mailbox');
  assert.equal(classify({ status: '5.1.1', diagnostic: 'smtp;550 5.1.1 address unknown' }, rules).category, 'other');
  assert.equal(classify({ status: '5.1.1', diagnostic: 'smtp;550 5.1.1 no' }, rules).category, 'routing-errors');
  // A provider text rule beats the status code it came with (Orange's "mailbox full" under 5.1.1).
  assert.equal(classify({ diagnostic: '552 5.1.1 Boite du destinataire pleine. Recipient mailbox full. OFR_417 [417]' }).category, 'quota-issues');
  assert.equal(classify({ diagnostic: '550 5.1.1 Invalid recipient' }).category, 'bad-mailbox');
});

test('user-defined categories and rules replace the defaults (PowerMTA semantics)', () => {
  const { rules, errors } = parseRuleFile(
    ['<bounce-category-patterns>', '  /RTR:BB/ AOL-RTR-block   # AOL open-proxy block', '  /^2\\.\\d+\\.\\d+;/ success_delivered', '</bounce-category-patterns>'].join('\n'),
  );
  assert.deepEqual(errors, []);
  assert.equal(rules.length, 2);
  const aol = classify({ diagnostic: '554- (RTR:BB) The IP address you are using to connect to AOL is an open proxy' }, rules);
  assert.deepEqual([aol.category, aol.rule], ['AOL-RTR-block', '/RTR:BB/']);
  assert.equal(classify({ status: '2.0.0', diagnostic: 'smtp;250 ok' }, rules).category, 'success_delivered');
  // No catch-all in the user's list and no default behind it: other, with no rule.
  const none = classify({ status: '5.1.1', diagnostic: 'smtp;550 5.1.1 User unknown' }, rules);
  assert.equal(none.category, 'other');
  assert.equal(none.rule, undefined);
  // The defaults, given explicitly behind the user's rules, still apply.
  assert.equal(classify({ status: '5.1.1', diagnostic: 'smtp;550 5.1.1 User unknown' }, [...rules, ...defaultRules()]).category, 'bad-mailbox');
});

test('patterns are case-insensitive unless they start with (?-i), as in the configuration', () => {
  const { rules } = parseRuleFile('/(?-i)SPAM/ spam-related\n/spam/ content-related\n');
  assert.equal(classify({ diagnostic: '550 SPAM' }, rules).category, 'spam-related');
  assert.equal(classify({ diagnostic: '550 Spam' }, rules).category, 'content-related');
});

test('parseRuleFile reports bad lines with their numbers and keeps the good ones; never throws', () => {
  const parsed = parseRuleFile('# comment\n/ok/ other\n/(?>atomic)/ spam-related\nno-slashes bad-mailbox\n/x/\n/y/ two words\n\n/#550/ policy-related\n');
  assert.deepEqual(parsed.rules.map((r) => r.source), ['/ok/']);
  assert.deepEqual(parsed.errors.map((e) => e.line), [3, 4, 5, 6, 8]);
  assert.match(parsed.errors[0]!.message, /atomic/);
  assert.doesNotThrow(() => parseRuleFile('\u0000/\\/\n'.repeat(100)));
});

test('the subject line: status, derived status and the diagnostic type', () => {
  assert.equal(classificationSubject({ status: '5.1.1 (bad destination mailbox address)', diagnostic: 'smtp; 550 5.1.1 nope' }), '5.1.1;smtp;550 5.1.1 nope');
  assert.equal(classificationSubject({ diagnostic: '550-5.1.1 The email account\r\n550 5.1.1 does not exist' }), '5.1.1;smtp;550-5.1.1 The email account 550 5.1.1 does not exist');
  assert.equal(classificationSubject({ diagnostic: 'x-unix; Host not found' }), ';x-unix;Host not found');
  assert.equal(classificationSubject({ code: 421 }), '4.0.0;smtp;421');
  assert.equal(classificationSubject({ diagnostic: '554 delivery error' }), '5.0.0;smtp;554 delivery error');
  assert.equal(classificationSubject({}), ';');
  assert.equal(deriveStatus({ status: '4.04.007' }), '4.4.7');
  assert.equal(deriveStatus({ status: 'garbage', code: 550 }), '5.0.0');
  assert.equal(deriveStatus({ code: 99 }), '');
});

test('classification of hostile input is bounded and never throws', () => {
  const huge = `550 ${'a '.repeat(2_000_000)}user unknown`;
  const started = Date.now();
  const result = classify({ diagnostic: huge });
  assert.ok(Date.now() - started < 2000);
  assert.ok(result.subject.length <= 4096 + 16);
  // The text after the cut is not seen: only the basic code decides.
  assert.equal(result.category, 'other');
  const weird = [{ status: 5 as unknown as string }, { diagnostic: {} as unknown as string }, null as unknown as object, { code: Number.NaN }];
  for (const input of weird) assert.doesNotThrow(() => classify(input as never));
  assert.equal(classify({ diagnostic: '\u0000\u0001550 5.7.1 relay access denied\u0007' }).category, 'relaying-issues');
});

/** RFC 3463 / IANA codes with a text that no text rule knows: the status rules alone decide. */
const STATUS_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['5.1.0', 'bad-mailbox'],
  ['5.1.1', 'bad-mailbox'],
  ['5.1.2', 'bad-domain'],
  ['5.1.3', 'bad-mailbox'],
  ['5.1.4', 'bad-mailbox'],
  ['5.1.6', 'bad-mailbox'],
  ['5.1.7', 'invalid-sender'],
  ['5.1.8', 'invalid-sender'],
  ['5.1.10', 'bad-domain'],
  ['5.2.1', 'inactive-mailbox'],
  ['4.2.2', 'quota-issues'],
  ['5.2.3', 'content-related'],
  ['5.2.4', 'routing-errors'],
  ['4.3.1', 'other'],
  ['5.3.4', 'content-related'],
  ['5.3.5', 'bad-configuration'],
  ['4.4.1', 'no-answer-from-host'],
  ['4.4.2', 'bad-connection'],
  ['4.4.3', 'routing-errors'],
  ['5.4.4', 'routing-errors'],
  ['5.4.6', 'routing-errors'],
  ['4.4.7', 'message-expired'],
  ['5.5.2', 'protocol-errors'],
  ['5.6.1', 'content-related'],
  ['5.7.0', 'policy-related'],
  ['5.7.1', 'policy-related'],
  ['5.7.7', 'content-related'],
  ['5.7.8', 'bad-configuration'],
  ['5.7.11', 'bad-configuration'],
  ['5.7.13', 'inactive-mailbox'],
  ['5.7.16', 'content-related'],
  ['5.7.17', 'bad-mailbox'],
  ['5.7.18', 'bad-domain'],
  ['5.7.26', 'policy-related'],
  ['5.7.27', 'invalid-sender'],
  ['4.7.28', 'spam-related'],
  ['2.0.0', 'success'],
  ['2.6.0', 'success'],
  ['5.9.9', 'other'],
];

function statusInput(status: string) {
  return { status, diagnostic: `smtp;${status[0]}50 ${status} status test` };
}

for (const [status, category] of STATUS_TABLE) {
  test(`enhanced status ${status} → ${category}`, () => {
    assert.equal(classify(statusInput(status)).category, category);
  });
}

test('every default rule is pinned: reached by the reply corpus or the status table', () => {
  const corpus = fs
    .readFileSync(new URL('../../test/fixtures/bounce/replies.tsv', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map(([, status, diagnostic]) => (status ? { status, diagnostic: diagnostic! } : { diagnostic: diagnostic! }));
  const reached = new Set([...corpus, ...STATUS_TABLE.map(([s]) => statusInput(s))].map((input) => classify(input).rule));
  const dead = defaultRules().filter((r) => !reached.has(r.source)).map((r) => `${r.source} ${r.category}`);
  assert.deepEqual(dead, []);
});
