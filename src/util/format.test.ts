import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAge, groupThousands } from './format.js';

test('ages show their two largest units, as `petrel show queues` and the monitor print them', () => {
  assert.equal(formatAge(9), '9s');
  assert.equal(formatAge(7 * 60 + 12), '7m12s');
  assert.equal(formatAge(2 * 3600 + 5 * 60 + 59), '2h5m');
  assert.equal(formatAge(3 * 86400 + 4 * 3600 + 1), '3d4h');
  assert.equal(formatAge(3 * 86400 + 4 * 3600, ' '), '3d 4h');
  assert.equal(formatAge(-5), '0s', 'a clock step backwards never shows a negative age');
});

test('counts are grouped by thousands and rounded', () => {
  assert.equal(groupThousands(0), '0');
  assert.equal(groupThousands(999), '999');
  assert.equal(groupThousands(1234567), '1,234,567');
  assert.equal(groupThousands(1499.6), '1,500');
});
