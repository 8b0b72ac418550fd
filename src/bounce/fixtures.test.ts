/**
 * Golden fixtures: every `test/fixtures/bounce/{dsn,arf}/*.eml` must parse to its `.expect.json`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { parseBounce } from './parse-dsn.js';
import { parseArf } from './parse-arf.js';

const root = new URL('../../test/fixtures/bounce/', import.meta.url);
const JMRP_MAP = [{ type: 'f', header: 'X-HmXmrOriginalRecipient', field: 'rcpt' }];

function fixtures(dir: string): string[] {
  return fs.readdirSync(new URL(dir, root)).filter((f) => f.endsWith('.eml')).sort();
}

function load(dir: string, name: string): { raw: Buffer; expected: unknown } {
  const raw = fs.readFileSync(new URL(`${dir}${name}`, root));
  const expected = JSON.parse(fs.readFileSync(new URL(`${dir}${name.replace(/\.eml$/, '.expect.json')}`, root), 'utf8')) as unknown;
  return { raw, expected };
}

test('the fixture sets cover the formats asked for', () => {
  assert.deepEqual(
    ['exim', 'gmail', 'outlook', 'postfix', 'qmail', 'yahoo'].filter((f) => !fixtures('dsn/').includes(`${f}.eml`)),
    [],
  );
  assert.deepEqual(fixtures('arf/'), ['aol.eml', 'comcast.eml', 'mailru.eml', 'microsoft-jmrp.eml', 'yahoo.eml']);
});

for (const name of fixtures('dsn/')) {
  test(`bounce fixture ${name}`, async () => {
    const { raw, expected } = load('dsn/', name);
    const parsed = await parseBounce(raw, { bounceDomain: 'bounce.example.com' });
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), expected);
    assert.notEqual(parsed.kind, 'unparseable');
    assert.ok(parsed.recipients.length > 0);
    for (const r of parsed.recipients) assert.ok(r.finalRecipient && r.status && r.category, JSON.stringify(r));
  });
}

for (const name of fixtures('arf/')) {
  test(`ARF fixture ${name}`, async () => {
    const { raw, expected } = load('arf/', name);
    const parsed = await parseArf(raw, { bounceDomain: 'bounce.example.com', mapHeaderToField: JMRP_MAP });
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), expected);
    assert.equal(parsed.kind, 'arf');
    assert.equal(parsed.feedbackType, 'abuse');
    assert.ok(parsed.jobId);
  });
}

test('without map-header-to-field, the JMRP report has no recipient; other record types are ignored', async () => {
  const { raw } = load('arf/', 'microsoft-jmrp.eml');
  const plain = await parseArf(raw);
  assert.equal(plain.originalRcptTo, undefined);
  assert.equal(plain.mapped, undefined);
  assert.equal(plain.originalHeaders['x-hmxmroriginalrecipient'], '<ivy@hotmail.com>');
  const wrongType = await parseArf(raw, { mapHeaderToField: [{ type: 'd', header: 'X-HmXmrOriginalRecipient', field: 'rcpt' }] });
  assert.equal(wrongType.originalRcptTo, undefined);
  // A mapping wins over the report's own field, and unknown fields land in `mapped` only.
  const { raw: yahoo } = load('arf/', 'yahoo.eml');
  const mapped = await parseArf(yahoo, { mapHeaderToField: [{ header: 'header_X-Virtual-MTA', field: 'vmta' }, { header: 'To', field: 'rcpt' }, { header: 'X-EnvId', field: 'envId' }, { header: 'X-Absent', field: 'jobId' }] });
  assert.deepEqual(mapped.mapped, { vmta: 'vmta-us1', rcpt: 'hank@yahoo.com', envId: 'env-1001' });
  assert.deepEqual(mapped.originalRcptTo, ['hank@yahoo.com']);
  assert.equal(mapped.jobId, 'spring-2024');
});

test('a bounce is not a feedback report, and a complaint is not a bounce', async () => {
  const { raw: bounce } = load('dsn/', 'gmail.eml');
  const asArf = await parseArf(bounce);
  assert.equal(asArf.kind, 'unparseable');
  assert.match(asArf.reason ?? '', /feedback-report/);
  assert.equal(asArf.originalHeaders['x-job'], 'spring-2024');
  const { raw: complaint } = load('arf/', 'yahoo.eml');
  const asBounce = await parseBounce(complaint);
  assert.equal(asBounce.kind, 'unparseable');
});
