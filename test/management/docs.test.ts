/**
 * Keeps docs/management.md honest (STYLE habit 15): every API error code
 * with its HTTP status, every CLI verb with the pmta command it replaces,
 * and every v1 endpoint file are documented.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../harness/petrel.js';
import { ERROR_STATUS } from '../../src/management/errors.js';
import { VERBS } from '../../src/cli/commands/register.js';

const doc = fs.readFileSync(path.join(ROOT, 'docs', 'management.md'), 'utf8');

test('every error code is in the docs with its status', () => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), code);
  }
});

test('every CLI verb is in the docs table, with the pmta command it replaces', () => {
  for (const v of VERBS) {
    assert.ok(doc.includes(`\`petrel ${v.words.join(' ')}`), v.words.join(' '));
    const pmta = v.pmta.startsWith('pmta ') ? v.pmta.split(' ').slice(0, 3).join(' ') : undefined;
    if (pmta) assert.ok(doc.includes(pmta), `${v.words.join(' ')}: ${pmta}`);
  }
});

test('every v1 endpoint file is registered and every path is in the docs', () => {
  const dir = path.join(ROOT, 'src', 'management', 'api', 'v1');
  const index = fs.readFileSync(path.join(dir, 'index.ts'), 'utf8');
  for (const f of fs.readdirSync(dir)) {
    if (['index.ts', 'common.ts', 'types.ts', 'headers.ts'].includes(f)) continue;
    assert.ok(index.includes(`'./${f.replace(/\.ts$/, '.js')}'`), `${f} is registered`);
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/\$\{PREFIX\}\/([^`]+)`/g)) {
      const p = m[1]!.replace(/:action$/, 'pause');
      assert.ok(doc.includes(`\`${p}`), `${f}: ${p}`);
    }
  }
});
