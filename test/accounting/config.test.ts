/**
 * `Accounting.fromConfig` on a realistic PowerMTA configuration
 * (test/fixtures/config/realistic/bounce-fbl.conf, paths moved into a temp
 * directory, the bounce handler replaced by `tee`): three outputs, their
 * record types, columns and file-handling settings; and a block Petrel
 * cannot use is refused with its position.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Accounting, AccountingError, isAccountingError } from '../../src/accounting/index.js';
import { DEFAULT_FIELDS } from '../../src/accounting/records.js';
import { config, event, readCsv, tempDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/config/realistic/bounce-fbl.conf', import.meta.url));

describe('fromConfig with a real PowerMTA accounting configuration', () => {
  it('opens the CSV files and the pipe of bounce-fbl.conf and writes what each asks for', async () => {
    const tmp = tempDir();
    try {
      const handlerOut = path.join(tmp.dir, 'handler.csv');
      const text = readFileSync(FIXTURE, 'utf8')
        .replaceAll('/var/log/petrel/', `${tmp.dir}/`)
        .replace('|/usr/local/bin/bounce-handler --from=""$from""', `|tee -a ${handlerOut}`);
      const acct = await Accounting.fromConfig(config(text), { fallbackDir: tmp.dir, tickMs: 0 });
      const [main, pipe, diag] = acct.sinks;
      assert.deepEqual([main, pipe, diag].map((s) => s!.settings.output.kind), ['csv', 'pipe', 'csv']);
      assert.equal(main!.settings.moveInterval, 5 * 60_000);
      assert.equal(main!.settings.maxSize, 50 * 1024 * 1024);
      assert.equal(main!.settings.deleteAfter, 14 * 86_400_000);
      assert.equal(pipe!.settings.retryInterval, 60_000);
      assert.equal(diag!.settings.moveInterval, 86_400_000);

      const fbl = event('f', 'victim@hotmail.com', {
        envelope: undefined,
        outcome: undefined,
        delivery: undefined,
        extra: { feedbackType: 'abuse', format: 'arf', userAgent: 'Hotmail FBL', orig: 'news@example.com' },
      });
      const rb = event('rb', 'gone@example.org', { outcome: { action: 'failed', status: '5.1.1', diagnostic: 'smtp;550 no such user', category: 'bad-mailbox' }, extra: { dsnReportingMta: 'dns;mx.example.org' } });
      try {
        await acct.record([event('d', 'ok@example.net'), event('b', 'bad@example.net'), rb, fbl, event('t', 'later@example.net')]);
      } finally {
        await acct.close();
      }

      const acctCsv = readCsv(path.join(tmp.dir, 'acct.csv'));
      assert.deepEqual(acctCsv.records.map((r) => r.type), ['d', 'b', 'rb', 'f']);
      assert.deepEqual(acctCsv.header.slice(0, 8), ['type', 'timeLogged', 'orig', 'rcpt', 'vmta', 'jobId', 'dsnStatus', 'header_X-Job']);
      const [d, b, rbRec, f] = acctCsv.records as Record<string, string>[];
      assert.equal(d!['header_X-Job'], 'job-42');
      assert.equal(d!.bounceCat, '', 'd does not carry bounceCat here');
      assert.equal(b!.bounceCat, 'bad-mailbox');
      assert.equal(rbRec!.dsnReportingMta, 'dns;mx.example.org');
      assert.equal(f!.rcpt, 'orig@hotmail.com', 'map-header-to-field f header_X-HmXmrOriginalRecipient rcpt');
      assert.equal(f!.feedbackType, 'abuse');
      assert.equal(f!.header_Subject, 'Hello, "world"');

      const handler = readCsv(handlerOut);
      assert.deepEqual(handler.header.slice(0, 12), ['type', 'timeQueued', 'bounceCat', 'vmta', 'orig', 'rcpt', 'srcMta', 'dlvSourceIp', 'jobId', 'dsnStatus', 'dsnMta', 'dsnDiag']);
      assert.deepEqual(handler.records.map((r) => `${r.type}:${r.rcpt}`), ['b:bad@example.net', 'rb:gone@example.org', 'f:victim@hotmail.com']);
      assert.equal(handler.records[2]!.format, 'arf');

      const diagCsv = readCsv(path.join(tmp.dir, 'diag.csv'));
      assert.deepEqual(diagCsv.header, DEFAULT_FIELDS.t);
      assert.deepEqual(diagCsv.records.map((r) => r.rcpt), ['later@example.net']);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses a block it cannot use, naming file:line:column of every problem', async () => {
    const tmp = tempDir();
    try {
      const c = config(`<acct-file ${tmp.dir}/a.csv>\nrecords d,q\nrecord-fields d rcpt,bogusField\n</acct-file>\n`);
      await assert.rejects(Accounting.fromConfig(c, { fallbackDir: tmp.dir, tickMs: 0 }), (e: unknown) => {
        assert.ok(isAccountingError(e, 'ACCT_CONFIG'));
        assert.ok(e instanceof AccountingError);
        assert.match(e.message, /petrel\.conf:2:\d+: 'q' is not a record type/);
        assert.match(e.message, /petrel\.conf:3:\d+: 'bogusField' is not an accounting field/);
        return true;
      });
    } finally {
      tmp.cleanup();
    }
  });
});
