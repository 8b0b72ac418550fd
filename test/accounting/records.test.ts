/**
 * Unit tests of the record model: dsnStatus texts, time formats, field
 * selection (`*`, `!field`, header_), settings from `<acct-file>` blocks,
 * CSV quoting.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDsnStatus } from '../../src/accounting/dsn-status.js';
import { csvField, csvRow } from '../../src/accounting/csv-file.js';
import { DEFAULT_FIELDS, fieldValue, headerReader } from '../../src/accounting/records.js';
import { checkAccountingConfig, resolveRecordFields, settingsFromBlock } from '../../src/accounting/settings.js';
import { fileStamp, isoTime, nextBoundary, parseFileStamp, pmtaTime } from '../../src/accounting/times.js';
import { config, event, parseCsv } from './helpers.js';

describe('dsnStatus', () => {
  it('adds the RFC 3463 description the way PowerMTA writes it', () => {
    assert.equal(formatDsnStatus('5.1.1'), '5.1.1 (bad destination mailbox address)');
    assert.equal(formatDsnStatus('5.1.2'), '5.1.2 (bad destination system: no such domain)');
    assert.equal(formatDsnStatus('4.0.0'), '4.0.0 (undefined status)');
    assert.equal(formatDsnStatus('2.0.0'), '2.0.0 (success)');
    assert.equal(formatDsnStatus('4.4.7'), '4.4.7 (delivery time expired)');
    assert.equal(formatDsnStatus('5.7.1'), '5.7.1 (delivery not authorized, message refused)');
    assert.equal(formatDsnStatus('4.2.2'), '4.2.2 (mailbox full)');
  });
  it('falls back to the subject, then leaves anything else alone', () => {
    assert.equal(formatDsnStatus('5.7.26'), '5.7.26 (other or undefined security status)');
    assert.equal(formatDsnStatus('5.9.9'), '5.9.9 (undefined status)');
    assert.equal(formatDsnStatus('5.1.1 (already described)'), '5.1.1 (already described)');
    assert.equal(formatDsnStatus(''), '');
  });
});

describe('times', () => {
  it('writes PowerMTA local time with the offset, and ISO 8601 UTC', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Etc/GMT-2'; // POSIX sign: UTC+2
      const t = Date.UTC(2016, 4, 28, 23, 10, 51, 400);
      assert.equal(pmtaTime(t), '2016-05-29 01:10:51+0200');
      assert.equal(isoTime(t), '2016-05-28T23:10:51Z');
      assert.equal(fileStamp(t), '2016-05-29-0110');
      assert.equal(parseFileStamp('2016-05-29-0110'), Date.UTC(2016, 4, 28, 23, 10));
      // 1d rotates at local midnight.
      assert.equal(nextBoundary(t, 86_400_000), Date.UTC(2016, 4, 29, 22, 0));
      process.env.TZ = 'America/New_York';
      assert.equal(pmtaTime(Date.UTC(2017, 8, 7, 15, 50, 25)), '2017-09-07 11:50:25-0400');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('record-fields', () => {
  it('expands * to the defaults in place and drops !fields, type always first', () => {
    const r = resolveRecordFields('d', ['*', '!dsnDiag', 'header_X-Job']);
    assert.ok(r.ok);
    assert.deepEqual(r.fields, [...DEFAULT_FIELDS.d.filter((f) => f !== 'dsnDiag'), 'header_X-Job']);
    const own = resolveRecordFields('b', ['timeQueued', 'BOUNCECAT', 'type', 'rcpt', 'bounceCat']);
    assert.ok(own.ok);
    assert.deepEqual(own.fields, ['type', 'timeQueued', 'bounceCat', 'rcpt']);
    const onlyDrops = resolveRecordFields('t', ['!dlvTlsCipher']);
    assert.ok(onlyDrops.ok);
    assert.equal(onlyDrops.fields.length, DEFAULT_FIELDS.t.length - 1);
    assert.deepEqual(resolveRecordFields('d', ['rcpt', 'noSuchField']), { ok: false, bad: 'noSuchField' });
  });

  it('gives PowerMTA default layouts: 26 columns for d/b/t/tq, f with orig at 7 and rcpt at 8', () => {
    assert.equal(DEFAULT_FIELDS.t.length, 26);
    assert.deepEqual(DEFAULT_FIELDS.t.slice(0, 5), ['type', 'timeLogged', 'timeQueued', 'orig', 'rcpt']);
    assert.equal(DEFAULT_FIELDS.t[21], 'queue');
    assert.equal(DEFAULT_FIELDS.f.indexOf('orig'), 7);
    assert.equal(DEFAULT_FIELDS.f.indexOf('rcpt'), 8);
    assert.equal(DEFAULT_FIELDS.f.indexOf('format'), 4);
  });
});

describe('settings from <acct-file>', () => {
  it('unions columns in records order and keeps single-type files in PowerMTA order', () => {
    const c = config(`<acct-file /tmp/a.csv>
records b
record-fields b timeQueued,bounceCat,vmta,orig,rcpt
</acct-file>
<acct-file /tmp/b.csv>
records d,b
record-fields d timeLogged,rcpt,dsnStatus
record-fields b timeLogged,rcpt,bounceCat,dsnDiag
</acct-file>
<acct-file /tmp/c.jsonl>
records all
</acct-file>
<acct-file /tmp/d.csv>
records feedback-loop,rs
</acct-file>
`);
    const [a, b, c2, d] = c.acctFiles.map((blk) => settingsFromBlock(blk).settings!);
    assert.deepEqual(a!.columns, ['type', 'timeQueued', 'bounceCat', 'vmta', 'orig', 'rcpt']);
    assert.deepEqual(b!.columns, ['type', 'timeLogged', 'rcpt', 'dsnStatus', 'bounceCat', 'dsnDiag']);
    assert.equal(c2!.output.kind, 'jsonl');
    assert.equal(c2!.records.size, 7);
    assert.deepEqual([...d!.records], ['f']);
    assert.equal(a!.sync, true);
    assert.equal(a!.isoTimes, false);
    assert.deepEqual([...settingsFromBlock(c.acctFiles[0]!).settings!.records], ['b']);
  });

  it('defaults to d,b and reports unknown fields and types with their position', () => {
    const c = config(`<acct-file /tmp/a.csv>
</acct-file>
<acct-file /tmp/b.csv>
records d,x
record-fields d rcpt,dsnDiagnostic
</acct-file>
`);
    assert.deepEqual([...settingsFromBlock(c.acctFiles[0]!).settings!.records], ['d', 'b']);
    const problems = checkAccountingConfig(c);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!.message, /'x' is not a record type/);
    assert.equal(problems[0]!.pos.line, 4);
    assert.match(problems[1]!.message, /'dsnDiagnostic' is not an accounting field/);
  });
});

describe('field values and CSV', () => {
  it('quotes commas and quotes, flattens newlines, and parses back', () => {
    assert.equal(csvField('250 ok'), '250 ok');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    const row = csvRow(['b', 'a,b', 'say "hi"', '', 'x']);
    assert.deepEqual(parseCsv(row), [['b', 'a,b', 'say "hi"', '', 'x']]);
  });

  it('reads headers lazily, once, unfolded; mapped headers win over derived values', () => {
    const asked: string[] = [];
    const e = event('f', 'rcpt@example.net', {
      headers: (n) => {
        asked.push(n);
        return n.toLowerCase() === 'subject' ? 'multi\r\n line\nsubject' : n === 'X-HmXmrOriginalRecipient' ? 'real@hotmail.com' : undefined;
      },
      extra: { feedbackType: 'abuse' },
    });
    const h = headerReader(e);
    const ctx = { formatTime: isoTime, mapped: new Map([['rcpt', 'X-HmXmrOriginalRecipient']]) };
    assert.equal(fieldValue(e, 'header_Subject', ctx, h), 'multi line subject');
    assert.equal(fieldValue(e, 'header_SUBJECT', ctx, h), 'multi line subject');
    assert.equal(fieldValue(e, 'rcpt', ctx, h), 'real@hotmail.com');
    assert.equal(fieldValue(e, 'feedbackType', ctx, h), 'abuse');
    assert.equal(fieldValue(e, 'header_X-Missing', ctx, h), '');
    assert.deepEqual(asked, ['Subject', 'X-HmXmrOriginalRecipient', 'X-Missing']);
    const none = event('d', 'a@b.c', { headers: () => { throw new Error('must not be read'); } });
    assert.equal(fieldValue(none, 'dsnStatus', { formatTime: isoTime }, headerReader(none)), '2.0.0 (success)');
  });
});

describe('docs/accounting.md', () => {
  it('documents every field, record type and error code', async () => {
    const { readFileSync } = await import('node:fs');
    const { FIELDS, RECORD_TYPES, ACCT_ERROR_CODES } = await import('../../src/accounting/index.js');
    const doc = readFileSync(new URL('../../docs/accounting.md', import.meta.url), 'utf8');
    const missing = [...Object.keys(FIELDS), ...RECORD_TYPES, ...Object.keys(ACCT_ERROR_CODES)].filter((name) => !doc.includes(`| \`${name}\` |`));
    assert.deepEqual(missing, []);
  });
});
