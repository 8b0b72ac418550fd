/**
 * The pipe form `<acct-file |command>` with real `/bin/sh` children: records
 * (CSV, header first) reach the program; a program that exits is restarted
 * after retry-interval and gets the header again; while it cannot run,
 * records go to the fallback file (nothing dropped) and are replayed to the
 * next program that starts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Accounting } from '../../src/accounting/index.js';
import type { PipeSink } from '../../src/accounting/pipe.js';
import { config, event, parseCsv, readCsv, tempDir } from './helpers.js';

/** Polls until `cond()` holds; fails after a generous guard (not a timing assertion: the guard only stops a hang). */
async function until(cond: () => boolean, what: string, guardMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > guardMs) throw new Error(`never happened: ${what}`);
    await sleep(10);
  }
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

describe('<acct-file |command>', () => {
  it('streams CSV records, header first, to one long-lived program', async () => {
    const tmp = tempDir();
    try {
      const out = path.join(tmp.dir, 'out.csv');
      const acct = await Accounting.fromConfig(config(`<acct-file |tee -a ${out}>\nrecords b,d\nrecord-fields b timeQueued,bounceCat,vmta,orig,rcpt,dsnStatus,dsnDiag\n</acct-file>\n`), {
        fallbackDir: tmp.dir,
        tickMs: 0,
      });
      await acct.record([event('b', 'a@example.net'), event('d', 'skipped-by-columns@example.net')]);
      await acct.record([event('b', 'b@example.net')]);
      const sink = acct.sinks[0] as PipeSink;
      await acct.close();
      assert.equal(sink.starts, 1);
      const { header, records } = readCsv(out);
      assert.deepEqual(header.slice(0, 8), ['type', 'timeQueued', 'bounceCat', 'vmta', 'orig', 'rcpt', 'dsnStatus', 'dsnDiag']);
      // A bounce handler that reads by position (bounceRecord[5] = rcpt) sees PowerMTA's layout.
      const raw = parseCsv(readFileSync(out, 'utf8'));
      assert.equal(raw[1]![5], 'a@example.net');
      assert.equal(raw[1]![2], 'bad-mailbox');
      assert.deepEqual(records.map((r) => `${r.type}:${r.rcpt}`), ['b:a@example.net', 'd:skipped-by-columns@example.net', 'b:b@example.net']);
      assert.equal(existsSync(sink.fallbackPath), false, 'no fallback file while the program runs');
    } finally {
      tmp.cleanup();
    }
  });

  it('restarts a program that exits, after retry-interval, and sends it the header again', async () => {
    const tmp = tempDir();
    try {
      const out = path.join(tmp.dir, 'out.txt');
      const script = path.join(tmp.dir, 'one.sh');
      // Reads the header and one record, keeps the record, exits with an error.
      writeFileSync(script, '#!/bin/sh\nIFS= read -r header || exit 0\nIFS= read -r line || exit 0\nprintf "%s|%s\\n" "$header" "$line" >> "$1"\nexit 3\n');
      const acct = await Accounting.fromConfig(config(`<acct-file |/bin/sh ${script} ${out}>\nrecords d\nrecord-fields d rcpt\n</acct-file>\n`), {
        fallbackDir: tmp.dir,
        tickMs: 0,
        pipe: { retryIntervalMs: 30, resendWindowMs: 0 },
      });
      const sink = acct.sinks[0] as PipeSink;
      try {
        for (let i = 1; i <= 3; i++) {
          await acct.record([event('d', `${i}@example.net`)]);
          await until(() => lines(out).length === i, `record ${i} kept`);
          await until(() => sink.starts === i + 1, `restart ${i}`);
        }
      } finally {
        await acct.close();
      }
      assert.deepEqual(lines(out), ['type,rcpt|d,1@example.net', 'type,rcpt|d,2@example.net', 'type,rcpt|d,3@example.net']);
    } finally {
      tmp.cleanup();
    }
  });

  it('puts records in the fallback file while the program cannot run, then replays them to it', async () => {
    const tmp = tempDir();
    try {
      const out = path.join(tmp.dir, 'out.csv');
      const script = path.join(tmp.dir, 'gate.sh');
      writeFileSync(script, '#!/bin/sh\n[ -f "$1.go" ] || exit 1\nexec cat >> "$1"\n');
      const acct = await Accounting.fromConfig(config(`<acct-file |/bin/sh ${script} ${out}>\nrecords d\nrecord-fields d rcpt\n</acct-file>\n`), {
        fallbackDir: tmp.dir,
        tickMs: 0,
        pipe: { retryIntervalMs: 600_000, maxBuffered: 2, holdMs: 50 },
      });
      const sink = acct.sinks[0] as PipeSink;
      try {
        await until(() => sink.state === 'down', 'the program failed to start');
        // Three lines at once: more than maxBuffered, straight to the fallback file.
        await acct.record([event('d', '1@example.net'), event('d', '2@example.net'), event('d', '3@example.net')]);
        assert.deepEqual(readCsv(sink.fallbackPath).records.map((r) => r.rcpt), ['1@example.net', '2@example.net', '3@example.net']);
        // One line: waits holdMs, then goes to the fallback file too.
        await acct.record([event('d', '4@example.net')]);
        assert.deepEqual(readCsv(sink.fallbackPath).records.map((r) => r.rcpt), ['1@example.net', '2@example.net', '3@example.net', '4@example.net']);
        assert.equal(existsSync(out), false);
        writeFileSync(`${out}.go`, '');
        sink.restart();
        await until(() => !existsSync(sink.fallbackPath), 'fallback file replayed and removed');
        await acct.record([event('d', '5@example.net')]);
      } finally {
        await acct.close();
      }
      const { header, records } = readCsv(out);
      assert.deepEqual(header, ['type', 'rcpt']);
      assert.deepEqual(records.map((r) => r.rcpt), ['1@example.net', '2@example.net', '3@example.net', '4@example.net', '5@example.net']);
    } finally {
      tmp.cleanup();
    }
  });

  it('writes again what a program that died may not have read (a failing script loses nothing)', async () => {
    const tmp = tempDir();
    try {
      const script = path.join(tmp.dir, 'broken.sh');
      // Starts, reads nothing, fails (think: a PHP path error).
      writeFileSync(script, '#!/bin/sh\nsleep 0.3\nexit 255\n');
      const acct = await Accounting.fromConfig(config(`<acct-file |/bin/sh ${script}>\nrecords d\nrecord-fields d rcpt\n</acct-file>\n`), {
        fallbackDir: tmp.dir,
        tickMs: 0,
        pipe: { retryIntervalMs: 600_000 },
      });
      const sink = acct.sinks[0] as PipeSink;
      try {
        await until(() => sink.state === 'running', 'the program started');
        await acct.record([event('d', '1@example.net'), event('d', '2@example.net')]);
        await until(() => sink.state === 'down', 'the program died');
        await until(() => existsSync(sink.fallbackPath) && readCsv(sink.fallbackPath).records.length === 2, 'lines in the fallback file');
        assert.deepEqual(readCsv(sink.fallbackPath).records.map((r) => r.rcpt), ['1@example.net', '2@example.net']);
      } finally {
        await acct.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
