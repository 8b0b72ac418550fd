/**
 * CSV and JSON-lines files through `Accounting`: parsed back with the test's
 * own CSV parser; header stability; field selection; header_ fields and
 * map-header-to-field; iso-times; record filters; permissions; rotation on
 * a FakeClock (move-interval, max-size, delete-after, move-to); torn-tail
 * repair and a changed layout at open.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Accounting, DEFAULT_FIELDS } from '../../src/accounting/index.js';
import { FakeClock } from '../../src/util/clock.js';
import { memoryLogger } from '../../src/util/log.js';
import { config, event, readCsv, tempDir } from './helpers.js';

async function withAcct<T>(text: (dir: string) => string, fn: (a: Accounting, dir: string, clock: FakeClock) => Promise<T>, clock = new FakeClock(Date.UTC(2026, 10, 29, 12, 58))): Promise<T> {
  const tmp = tempDir();
  const acct = await Accounting.fromConfig(config(text(tmp.dir)), { clock, fallbackDir: tmp.dir, tickMs: 0 });
  try {
    return await fn(acct, tmp.dir, clock);
  } finally {
    await acct.close();
    tmp.cleanup();
  }
}

describe('CSV accounting file', () => {
  it('writes the default columns with one header line, quoting what needs it', async () => {
    await withAcct(
      (d) => `<acct-file ${d}/acct.csv>\nrecords d,b,t\n</acct-file>\n`,
      async (acct, dir) => {
        await acct.record([event('d', 'a@example.net'), event('b', 'b@example.net'), event('r', 'ignored@example.net')]);
        await acct.record([event('t', 'c@example.net', { outcome: { action: 'delayed', status: '4.7.0', diagnostic: 'smtp;421 4.7.0 [TS01] "deferred",\r\n try later' } })]);
        const { header, records, text } = readCsv(path.join(dir, 'acct.csv'));
        assert.deepEqual(header, DEFAULT_FIELDS.d);
        assert.equal(text.split('\n').length, 5, 'header + 3 records + final newline: one record per line');
        assert.deepEqual(records.map((r) => r.type), ['d', 'b', 't']);
        const [d, b, t] = records as [Record<string, string>, Record<string, string>, Record<string, string>];
        assert.equal(d.rcpt, 'a@example.net');
        assert.equal(d.orig, 'sender@example.com');
        assert.equal(d.dsnStatus, '2.0.0 (success)');
        assert.equal(d.dlvEsmtpAvailable, 'PIPELINING,8BITMIME,SIZE,STARTTLS');
        assert.equal(d.dlvSize, '4202');
        assert.equal(d.queue, 'example.net/mta02-range16');
        assert.equal(d.rcvSmtpUser, 'alice');
        assert.match(d.timeLogged!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{4}$/);
        assert.equal(b.dsnStatus, '5.1.1 (bad destination mailbox address)');
        assert.equal(b.dsnDiag, 'smtp;550 5.1.1 <x>: no such user, sorry');
        assert.equal(b.bounceCat, 'bad-mailbox');
        assert.equal(t.dsnDiag, 'smtp;421 4.7.0 [TS01] "deferred", try later');
        assert.ok(text.includes('"PIPELINING,8BITMIME,SIZE,STARTTLS"'));
      },
    );
  });

  it('selects fields per type with *, !field, header_X-Job and map-header-to-field; header stays stable', async () => {
    const text = (d: string): string => `<acct-file ${d}/acct.csv>
records d,b,f
record-fields d timeLogged,orig,rcpt,header_X-Job
record-fields b *,!dsnDiag,!dlvTlsCipher,header_x-job
record-fields f rcpt,feedbackType,header_Subject
map-header-to-field f header_X-HmXmrOriginalRecipient rcpt
</acct-file>
`;
    const tmp = tempDir();
    try {
      const open = (): Promise<Accounting> => Accounting.fromConfig(config(text(tmp.dir)), { fallbackDir: tmp.dir, tickMs: 0 });
      let acct = await open();
      await acct.record([event('d', 'a@example.net'), event('b', 'b@example.net'), event('f', 'c@example.net', { extra: { feedbackType: 'abuse' } })]);
      await acct.close();
      acct = await open();
      await acct.record([event('d', 'd@example.net')]);
      await acct.close();
      const { header, records, text: body } = readCsv(path.join(tmp.dir, 'acct.csv'));
      const bCols = DEFAULT_FIELDS.b.filter((f) => f !== 'dsnDiag' && f !== 'dlvTlsCipher');
      assert.deepEqual(header, ['type', 'timeLogged', 'orig', 'rcpt', 'header_X-Job', ...bCols.filter((f) => !['type', 'timeLogged', 'orig', 'rcpt'].includes(f)), 'feedbackType', 'header_Subject']);
      assert.equal(body.split('\n').filter((l) => l.startsWith('type,')).length, 1, 'one header line across reopen');
      assert.equal(records.length, 4);
      const [d, b, f, d2] = records as Record<string, string>[];
      assert.equal(d!['header_X-Job'], 'job-42');
      assert.equal(d!.dsnStatus, '', 'd does not carry dsnStatus in this file');
      assert.equal(b!['header_X-Job'], 'job-42');
      assert.equal(b!.dsnStatus, '5.1.1 (bad destination mailbox address)');
      assert.equal(f!.rcpt, 'orig@hotmail.com', 'map-header-to-field');
      assert.equal(f!.feedbackType, 'abuse');
      assert.equal(f!['header_Subject'], 'Hello, "world"');
      assert.equal(f!.orig, '');
      assert.equal(d2!.rcpt, 'd@example.net');
    } finally {
      tmp.cleanup();
    }
  });

  it('iso-times yes writes ISO 8601 UTC; no writes PowerMTA local time', async () => {
    await withAcct(
      (d) => `<acct-file ${d}/iso.csv>\nrecords d\nrecord-fields d timeLogged,timeQueued\niso-times yes\n</acct-file>\n<acct-file ${d}/pmta.csv>\nrecords d\nrecord-fields d timeLogged\niso-times no\n</acct-file>\n`,
      async (acct, dir) => {
        const e = event('d', 'a@example.net');
        await acct.record([e]);
        const iso = readCsv(path.join(dir, 'iso.csv')).records[0]!;
        assert.equal(iso.timeLogged, '2016-05-28T23:10:51Z');
        assert.equal(iso.timeQueued, '2016-05-28T21:00:00Z');
        const pm = readCsv(path.join(dir, 'pmta.csv')).records[0]!.timeLogged!;
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})([+-]\d{2})(\d{2})$/.exec(pm);
        assert.ok(m, pm);
        assert.equal(Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`), e.time);
      },
    );
  });

  it('filters record types per file: records all, feedback-loop, and the d,b default', async () => {
    await withAcct(
      (d) => `<acct-file ${d}/all.csv>\nrecords all\n</acct-file>\n<acct-file ${d}/fbl.csv>\nrecords feedback-loop\n</acct-file>\n<acct-file ${d}/default.csv>\n</acct-file>\n`,
      async (acct, dir) => {
        const types = ['d', 'b', 't', 'tq', 'r', 'rb', 'f'] as const;
        await acct.record(types.map((t) => event(t, `${t}@example.net`)));
        assert.deepEqual(readCsv(path.join(dir, 'all.csv')).records.map((r) => r.type), [...types]);
        assert.deepEqual(readCsv(path.join(dir, 'fbl.csv')).records.map((r) => r.type), ['f']);
        assert.deepEqual(readCsv(path.join(dir, 'default.csv')).records.map((r) => r.type), ['d', 'b']);
        assert.equal(acct.wants('tq'), true);
      },
    );
  });

  it('creates files 0640, or 0644 with world-readable yes', async () => {
    await withAcct(
      (d) => `<acct-file ${d}/private.csv>\n</acct-file>\n<acct-file ${d}/public.csv>\nworld-readable yes\n</acct-file>\n`,
      async (_acct, dir) => {
        assert.equal(statSync(path.join(dir, 'private.csv')).mode & 0o777, 0o640);
        assert.equal(statSync(path.join(dir, 'public.csv')).mode & 0o777, 0o644);
      },
    );
  });

  it('writes JSON lines for a .jsonl file, same values, no header', async () => {
    await withAcct(
      (d) => `<acct-file ${d}/acct.jsonl>\nrecords d,b\nrecord-fields b rcpt,dsnStatus,dsnDiag,header_X-Job\niso-times yes\n</acct-file>\n`,
      async (acct, dir) => {
        await acct.record([event('d', 'a@example.net'), event('b', 'b@example.net', { outcome: { action: 'failed', status: '5.1.1', diagnostic: 'line1\nline2, "q"' } })]);
        const lines = readFileSync(path.join(dir, 'acct.jsonl'), 'utf8').trimEnd().split('\n');
        assert.equal(lines.length, 2);
        const [d, b] = lines.map((l) => JSON.parse(l) as Record<string, string>);
        assert.deepEqual(Object.keys(d!), DEFAULT_FIELDS.d);
        assert.equal(d!.timeLogged, '2016-05-28T23:10:51Z');
        assert.deepEqual(b, { type: 'b', rcpt: 'b@example.net', dsnStatus: '5.1.1 (bad destination mailbox address)', dsnDiag: 'line1 line2, "q"', 'header_X-Job': 'job-42' });
      },
    );
  });
});

describe('rotation on a FakeClock', () => {
  const stamps = (dir: string): string[] => readdirSync(dir).filter((n) => /^acct-\d{4}/.test(n)).sort();

  it('move-interval renames the file with its start time into move-to, header in each file', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      await withAcct(
        (d) => `<acct-file ${d}/acct.csv>\nrecords d\nmove-interval 1h\nmove-to ${d}/done\n</acct-file>\n`,
        async (acct, dir, clock) => {
          await acct.record([event('d', '1@example.net')]);
          clock.advance(60_000); // 12:59
          await acct.tick();
          assert.deepEqual(existsSync(path.join(dir, 'done')) ? stamps(path.join(dir, 'done')) : [], []);
          clock.advance(60_000); // 13:00: boundary
          await acct.tick();
          assert.deepEqual(stamps(path.join(dir, 'done')), ['acct-2026-11-29-1258.csv']);
          await acct.record([event('d', '2@example.net')]);
          clock.advance(3_600_000); // 14:00; rotation by the next write, no tick needed
          await acct.record([event('d', '3@example.net')]);
          assert.deepEqual(stamps(path.join(dir, 'done')), ['acct-2026-11-29-1258.csv', 'acct-2026-11-29-1300.csv']);
          const first = readCsv(path.join(dir, 'done', 'acct-2026-11-29-1258.csv'));
          const second = readCsv(path.join(dir, 'done', 'acct-2026-11-29-1300.csv'));
          const current = readCsv(path.join(dir, 'acct.csv'));
          assert.deepEqual([first, second, current].map((f) => f.records.map((r) => r.rcpt)), [['1@example.net'], ['2@example.net'], ['3@example.net']]);
          assert.deepEqual(current.header, first.header);
        },
      );
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('max-size rotates before a write would pass the limit; delete-after removes old rotated files', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      await withAcct(
        (d) => `<acct-file ${d}/acct.csv>\nrecords d\nrecord-fields d rcpt\nmax-size 100\ndelete-after 2h\n</acct-file>\n`,
        async (acct, dir, clock) => {
          // header "type,rcpt\n" = 10 bytes; each record "d,NN@example.net\n" = 17 bytes → 5 records fit in 100.
          for (let i = 10; i < 22; i++) {
            await acct.record([event('d', `${i}@example.net`)]);
            clock.advance(60_000);
          }
          const rotated = stamps(dir);
          assert.deepEqual(rotated, ['acct-2026-11-29-1258.csv', 'acct-2026-11-29-1303.csv']);
          for (const f of [...rotated, 'acct.csv']) assert.ok(statSync(path.join(dir, f)).size <= 100, f);
          const all = [...rotated, 'acct.csv'].flatMap((f) => readCsv(path.join(dir, f)).records.map((r) => r.rcpt));
          assert.deepEqual(all, Array.from({ length: 12 }, (_, i) => `${i + 10}@example.net`));
          // An unrelated file with a similar name is never touched.
          writeFileSync(path.join(dir, 'acct-notes.csv'), 'x\n');
          clock.advance(2 * 3_600_000 - 8 * 60_000); // 15:02: the 12:58 file is older than 2h, the 13:03 one not
          await acct.tick();
          assert.deepEqual(stamps(dir), ['acct-2026-11-29-1303.csv']);
          clock.advance(10 * 60_000);
          await acct.tick();
          assert.deepEqual(stamps(dir), []);
          assert.ok(existsSync(path.join(dir, 'acct-notes.csv')));
          assert.ok(existsSync(path.join(dir, 'acct.csv')));
        },
      );
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('opening an existing file', () => {
  it('moves a torn (unacknowledged) last line aside and keeps every whole record', async () => {
    const tmp = tempDir();
    try {
      const text = `<acct-file ${tmp.dir}/acct.csv>\nrecords d\nrecord-fields d rcpt\n</acct-file>\n`;
      let acct = await Accounting.fromConfig(config(text), { fallbackDir: tmp.dir, tickMs: 0 });
      await acct.record([event('d', 'a@example.net'), event('d', 'b@example.net')]);
      await acct.close();
      appendFileSync(path.join(tmp.dir, 'acct.csv'), 'd,"half a rec');
      const log = memoryLogger();
      acct = await Accounting.fromConfig(config(text), { fallbackDir: tmp.dir, tickMs: 0, log });
      await acct.record([event('d', 'c@example.net')]);
      await acct.close();
      const { records } = readCsv(path.join(tmp.dir, 'acct.csv'));
      assert.deepEqual(records.map((r) => r.rcpt), ['a@example.net', 'b@example.net', 'c@example.net']);
      assert.equal(readFileSync(path.join(tmp.dir, 'acct.csv.torn'), 'utf8'), 'd,"half a rec\n');
      assert.ok(log.lines.some((l) => l.includes('torn last line')));
    } finally {
      tmp.cleanup();
    }
  });

  it('rotates away a file written with another column layout', async () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'acct.csv');
      writeFileSync(file, 'type,rcpt\nd,old@example.net\n');
      const acct = await Accounting.fromConfig(config(`<acct-file ${file}>\nrecords d\nrecord-fields d rcpt,dsnStatus\n</acct-file>\n`), { fallbackDir: tmp.dir, tickMs: 0 });
      await acct.record([event('d', 'new@example.net')]);
      await acct.close();
      assert.deepEqual(readCsv(file).header, ['type', 'rcpt', 'dsnStatus']);
      const moved = readdirSync(tmp.dir).filter((n) => /^acct-\d{4}-\d{2}-\d{2}-\d{4}\.csv$/.test(n));
      assert.equal(moved.length, 1);
      assert.deepEqual(readCsv(path.join(tmp.dir, moved[0]!)).records, [{ type: 'd', rcpt: 'old@example.net' }]);
    } finally {
      tmp.cleanup();
    }
  });
});
