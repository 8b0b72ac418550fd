/**
 * @module config/directives-defaults.test
 *
 * Every built-in default in the directive table parses with the directive's
 * own value type, and the parsed values mean what PowerMTA documents. A
 * default that did not parse would surface as a wrong or missing value in
 * `petrel show settings` and in resolution, so this is checked for every
 * row, not sampled.
 *
 * Kept apart from directives.test.ts because it depends on `values.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIRECTIVES, findDirective } from './directives.js';
import type { DirectiveSpec, ScopeName } from './types.js';
import { VALUE_PARSERS } from './values.js';

function parseDefault(spec: DirectiveSpec): unknown {
  assert.ok(spec.default !== undefined);
  const res = VALUE_PARSERS[spec.type]({
    raw: spec.default,
    directive: spec.name,
    ...(spec.enumValues ? { enumValues: spec.enumValues } : {}),
  });
  assert.ok(res.ok, `default '${spec.default}' of ${spec.name} does not parse as ${spec.type}: ${res.ok ? '' : res.message}`);
  return res.value;
}

function defaultOf(name: string, scope: ScopeName = 'domain'): unknown {
  const spec = findDirective(name, scope);
  assert.ok(spec, `${name} not in ${scope}`);
  return parseDefault(spec);
}

test('every default in the table parses with its directive\'s type', () => {
  const withDefault = DIRECTIVES.filter((s) => s.default !== undefined);
  assert.ok(withDefault.length > 40, 'the §2.5 defaults are present');
  for (const spec of withDefault) parseDefault(spec);
});

test('every enum value in the table is accepted by the enum parser', () => {
  for (const spec of DIRECTIVES.filter((s) => s.type === 'enum')) {
    for (const v of spec.enumValues ?? []) {
      const res = VALUE_PARSERS.enum({ raw: v, directive: spec.name, enumValues: spec.enumValues });
      assert.ok(res.ok, `${spec.name}: ${v}`);
    }
  }
});

test('defaults mean what PowerMTA documents', () => {
  const HOUR = 3_600_000;
  assert.equal(defaultOf('max-smtp-out'), 20);
  assert.equal(defaultOf('bounce-after'), 108 * HOUR, 'bounce-after 4d12h');
  assert.deepEqual(defaultOf('retry-after'), [10 * 60_000]);
  assert.equal(defaultOf('connect-timeout'), 2 * 60_000);
  assert.equal(defaultOf('backoff-to-normal-after'), Infinity, 'never');
  assert.equal(defaultOf('max-msg-rate'), 'unlimited');
  assert.equal(defaultOf('max-errors-per-connection'), Infinity);
  assert.equal(defaultOf('smtp-553-means-invalid-mailbox'), true);
  assert.equal(defaultOf('smtp-421-means-mx-unavailable'), false);
  assert.deepEqual(defaultOf('max-cold-virtual-mta-msg'), { count: 0, perMs: 24 * HOUR });
  assert.equal(defaultOf('always-allow-relaying', 'source'), false, 'a source never relays unless told to');
});
