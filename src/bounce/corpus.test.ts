/**
 * The reply corpus: every line of test/fixtures/bounce/replies.tsv must get its category from the
 * default rules, one test per line (so a failure names the reply).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { classify } from './classify.js';
import { isBuiltinCategory } from './categories.js';

interface Row {
  readonly line: number;
  readonly category: string;
  readonly status: string;
  readonly diagnostic: string;
  readonly provider: string;
}

const file = new URL('../../test/fixtures/bounce/replies.tsv', import.meta.url);
const rows: Row[] = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .map((text, index) => ({ text, line: index + 1 }))
  .filter(({ text }) => text.trim() !== '' && !text.startsWith('#'))
  .map(({ text, line }) => {
    const [category = '', status = '', diagnostic = '', provider = ''] = text.split('\t');
    return { line, category, status, diagnostic, provider };
  });

test('the corpus has at least 80 replies, each with a known category and provider', () => {
  assert.ok(rows.length >= 80, `only ${rows.length} rows`);
  for (const row of rows) {
    assert.ok(isBuiltinCategory(row.category), `line ${row.line}: unknown category ${row.category}`);
    assert.ok(row.diagnostic !== '' && row.provider !== '', `line ${row.line}: missing column`);
  }
  const providers = new Set(rows.map((r) => r.provider));
  for (const p of ['gmail', 'outlook', 'office365', 'hotmail', 'yahoo', 'aol', 'icloud', 'comcast', 'orange', 'free', 'gmx', 'web.de', 'mail.ru', 'yandex', 'qq']) {
    assert.ok(providers.has(p), `no reply from ${p}`);
  }
});

for (const row of rows) {
  test(`replies.tsv:${row.line} ${row.provider} → ${row.category}: ${row.diagnostic.slice(0, 70)}`, () => {
    const input = row.status === '' ? { diagnostic: row.diagnostic } : { status: row.status, diagnostic: row.diagnostic };
    const result = classify(input);
    assert.equal(result.category, row.category, `subject: ${result.subject}\nrule: ${result.rule}`);
  });
}

test('every category but the catch-all is reached by some corpus line', () => {
  const reached = new Set(rows.map((r) => classify(r.status ? { status: r.status, diagnostic: r.diagnostic } : { diagnostic: r.diagnostic }).category));
  for (const c of ['bad-mailbox', 'bad-domain', 'inactive-mailbox', 'quota-issues', 'policy-related', 'spam-related', 'routing-errors', 'protocol-errors', 'content-related', 'message-expired', 'no-answer-from-host', 'bad-connection', 'bad-configuration', 'invalid-sender', 'relaying-issues', 'virus-related', 'other', 'success']) {
    assert.ok(reached.has(c), `no corpus line reaches ${c}`);
  }
});
