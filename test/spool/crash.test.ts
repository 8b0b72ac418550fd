/**
 * Crash test (issue 3 §7): a child process commits messages from many
 * concurrent writers and records outcomes; the test kills it with SIGKILL at
 * a seeded random moment, reopens the spool and checks that
 * - every message whose commit was acknowledged is present and intact, byte
 *   for byte, unless all its recipients were being delivered (an outcome
 *   was submitted for each);
 * - every recipient acknowledged as delivered is never queued again;
 * - every message present (acknowledged or not) is whole: right body, right
 *   recipients; nothing is half-present;
 * - recovery reports no damage (kill -9 can only tear the tail).
 * The same spool directory goes through every round, so recovery of a
 * recovered spool is tested too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Spool } from '../../src/spool/index.js';
import { CRASH_SPOOL_OPTIONS, recipientsForKey, sizeForKey } from './crash-writer.js';
import { bodyFor, recordingLogger, rng, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROUNDS = Number(process.env.PETREL_CRASH_ROUNDS ?? 12);
const SEED = Number(process.env.PETREL_CRASH_SEED ?? 20240601);

interface RoundLog {
  acked: Map<string, number>;
  delivered: Set<string>;
  mayBeDelivered: Set<string>;
  deferred: Set<string>;
  errors: string[];
}

function runChild(dir: string, keyBase: number, writers: number, killAfterMs: number, log: RoundLog): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(keyBase), String(writers)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
        const [tag, a, b] = line.split(' ');
        if (tag === 'READY') timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (tag === 'A') log.acked.set(a!, Number(b));
        else if (tag === 'D') log.delivered.add(a!);
        else if (tag === 'P') log.mayBeDelivered.add(a!);
        else if (tag === 'F') log.deferred.add(a!);
        else if (tag === 'E' || tag === 'X') log.errors.push(line);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: code ${code} ${signal ?? ''}`));
      else resolve();
    });
  });
}

describe('spool crash safety under SIGKILL', () => {
  it(`keeps every acknowledged commit across ${ROUNDS} random kills (seed ${SEED})`, { timeout: 240_000 }, async (t) => {
    const tmp = tempDir('petrel-crash-');
    const random = rng(SEED);
    const log: RoundLog = { acked: new Map(), delivered: new Set(), mayBeDelivered: new Set(), deferred: new Set(), errors: [] };
    let totalAcked = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const before = log.acked.size;
        const killAfter = 30 + Math.floor(random() * 400);
        const writers = [1, 10, 50, 100][Math.floor(random() * 4)]!;
        await runChild(tmp.dir, (round + 1) * 1_000_000, writers, killAfter, log);
        assert.deepEqual(log.errors, [], `round ${round}: the writer logged errors`);
        totalAcked += log.acked.size - before;

        const logger = recordingLogger();
        const spool = await Spool.open({ path: tmp.dir, ...CRASH_SPOOL_OPTIONS, logger });
        try {
          assert.equal(spool.recovery.corruptRegions, 0, `round ${round}: ${JSON.stringify(logger.lines)}`);
          assert.equal(spool.recovery.missingBodies, 0, `round ${round}: ${JSON.stringify(logger.lines)}`);
          // Every acknowledged message is there unless all of it was delivered.
          for (const [id, key] of log.acked) {
            const n = recipientsForKey(key);
            // A kill right after the commit of the last outcome but before its D
            // line leaves the message finished with only P lines printed.
            const allDelivered = Array.from({ length: n }, (_, i) => `${id}.${i}`).every((r) => log.mayBeDelivered.has(r));
            const info = await spool.getMessage(id);
            if (!info) {
              assert.ok(allDelivered, `round ${round}: acknowledged message ${id} (key ${key}) lost`);
              log.acked.delete(id); // finished; nothing more to check
              continue;
            }
            for (const r of info.recipients) {
              if (log.delivered.has(r.id)) assert.equal(r.state, 'delivered', `round ${round}: ${r.id} delivered but ${r.state}`);
              else if (log.deferred.has(r.id)) assert.ok(r.attempts >= 1, `round ${round}: deferral of ${r.id} lost`);
            }
          }
          // Everything present is whole (acknowledged or not).
          for (const id of spool.listMessages()) {
            const info = (await spool.getMessage(id))!;
            const key = Number(info.envelope.jobId);
            assert.equal(info.recipients.length, recipientsForKey(key), `round ${round}: ${id} recipients`);
            assert.equal(info.size, sizeForKey(key));
            assert.ok((await spool.readBody(id)).equals(bodyFor(key, sizeForKey(key))), `round ${round}: ${id} body differs`);
          }
        } finally {
          await spool.close();
        }
      }
      t.diagnostic(`acknowledged commits: ${totalAcked}; outcomes acknowledged: ${log.delivered.size + log.deferred.size}`);
      assert.ok(totalAcked > ROUNDS, `too few commits acknowledged to mean anything: ${totalAcked}`);
    } finally {
      if (process.env.PETREL_CRASH_KEEP) console.log('kept', tmp.dir);
      else tmp.cleanup();
    }
  });
});
