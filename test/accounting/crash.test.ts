/**
 * Crash test of the durability contract: a child process records outcomes
 * through `Accounting.record()` and prints each acknowledgement; the test
 * kills it with SIGKILL at a seeded random moment, several rounds on the
 * same files, and checks that
 * - every acknowledged record is in the CSV and the JSON-lines file, whole
 *   (every field as written);
 * - a line that does not parse can only be the unacknowledged tail of the
 *   round, and the next open moves it aside: at the end every line parses.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Accounting } from '../../src/accounting/index.js';
import { crashConfig, expectedFields } from './crash-writer.js';
import { config, parseCsv, readCsv, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROUNDS = Number(process.env.PETREL_ACCT_CRASH_ROUNDS ?? 6);
const SEED = Number(process.env.PETREL_ACCT_CRASH_SEED ?? 20261129);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function runChild(dir: string, keyBase: number, writers: number, killAfterMs: number, acked: Set<number>, errors: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(keyBase), String(writers)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'READY') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('A ')) acked.add(Number(line.slice(2)));
        else errors.push(line);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: ${code} ${errors.join('; ')}`));
      else resolve();
    });
  });
}

/** Keys of the whole lines of the CSV file, checking each against what was written; the unparseable tail, if any. */
function csvKeys(file: string): { keys: Set<number>; tail: string } {
  const text = readFileSync(file, 'utf8');
  const cut = text.endsWith('\n') ? text.length : text.lastIndexOf('\n') + 1;
  const [header, ...rows] = parseCsv(text.slice(0, cut));
  assert.deepEqual(header, ['type', 'rcpt', 'jobId', 'dsnDiag', 'header_X-Job']);
  const keys = new Set<number>();
  for (const row of rows) {
    const key = Number(row[2]);
    assert.deepEqual(Object.fromEntries(header!.map((h, i) => [h, row[i]])), expectedFields(key), `record ${key} is not whole`);
    keys.add(key);
  }
  return { keys, tail: text.slice(cut) };
}

function jsonKeys(file: string): Set<number> {
  const keys = new Set<number>();
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // after the last newline: empty, or an unacknowledged torn tail
  for (const line of lines) {
    const rec = JSON.parse(line) as Record<string, string>;
    assert.deepEqual(rec, expectedFields(Number(rec.jobId)));
    keys.add(Number(rec.jobId));
  }
  return keys;
}

describe('accounting durability under SIGKILL', () => {
  it(`keeps every acknowledged record across ${ROUNDS} random kills (seed ${SEED})`, { timeout: 120_000 }, async (t) => {
    const tmp = tempDir('petrel-acct-crash-');
    const random = rng(SEED);
    const acked = new Set<number>();
    const errors: string[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const killAfter = 20 + Math.floor(random() * 300);
        const writers = [1, 8, 64][Math.floor(random() * 3)]!;
        await runChild(tmp.dir, (round + 1) * 1_000_000, writers, killAfter, acked, errors);
        assert.deepEqual(errors, [], `round ${round}: the writer reported errors`);
        const { keys, tail } = csvKeys(path.join(tmp.dir, 'acct.csv'));
        for (const k of acked) assert.ok(keys.has(k), `round ${round}: acknowledged record ${k} missing from the CSV`);
        if (tail !== '') assert.ok(!acked.has(Number(/^d,\d+@/.test(tail) ? tail.split(',')[2] : NaN)), `round ${round}: torn tail was acknowledged`);
        const jkeys = jsonKeys(path.join(tmp.dir, 'acct.jsonl'));
        for (const k of acked) assert.ok(jkeys.has(k), `round ${round}: acknowledged record ${k} missing from the JSON lines`);
      }
      // A last open repairs any torn tail; then every line of both files parses.
      const acct = await Accounting.fromConfig(config(crashConfig(tmp.dir)), { fallbackDir: tmp.dir, tickMs: 0 });
      await acct.close();
      const { records } = readCsv(path.join(tmp.dir, 'acct.csv'));
      for (const r of records) assert.deepEqual(r, expectedFields(Number(r.jobId)));
      assert.ok(readFileSync(path.join(tmp.dir, 'acct.csv'), 'utf8').endsWith('\n'));
      assert.ok(readFileSync(path.join(tmp.dir, 'acct.jsonl'), 'utf8').endsWith('\n'));
      t.diagnostic(`acknowledged: ${acked.size}; in the file: ${records.length}; torn tails moved aside: ${existsSync(path.join(tmp.dir, 'acct.csv.torn'))}`);
      assert.ok(acked.size > ROUNDS * 10, `too few acknowledgements to mean anything: ${acked.size}`);
    } finally {
      tmp.cleanup();
    }
  });
});
