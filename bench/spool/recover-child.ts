/**
 * @module bench/spool/recover-child
 *
 * Run by bench/spool.bench.ts with `--expose-gc`: opens (recovers) a spool in
 * a fresh process and prints one JSON line with the recovery time, the
 * memory the open spool holds (heap + external after GC, minus the same
 * before opening), and the mean time of `takeBatch` + `release` on random
 * queues.
 *
 * Usage: node --expose-gc --import tsx bench/spool/recover-child.ts <dir> <probes>
 */
import { Spool } from '../../src/spool/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function held(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const [dir, probesText] = process.argv.slice(2);
const before = held();
const t0 = performance.now();
const spool = await Spool.open({ path: dir!, minFreeBytes: 0 });
const recoverMs = performance.now() - t0;
const after = held();
const queues = spool.queueNames();
const probes = Number(probesText ?? 2000);
let seed = 12345;
const pick = (): string => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return queues[seed % queues.length]!;
};
let leased = 0;
const t1 = performance.now();
for (let i = 0; i < probes; i++) {
  const batch = await spool.takeBatch(pick(), 10);
  const ids = batch.flatMap((m) => m.recipients.map((r) => r.id));
  leased += ids.length;
  spool.release(ids);
}
const takeUs = ((performance.now() - t1) * 1000) / probes;
const recipients = spool.recovery.recipients;
console.log(
  JSON.stringify({
    recipients,
    messages: spool.recovery.messages,
    queues: queues.length,
    recoverMs: Math.round(recoverMs),
    bytesRead: spool.recovery.bytesRead,
    heldBytes: after - before,
    bytesPerRecipient: Math.round((after - before) / recipients),
    indexArrayBytes: spool.stats().indexArrayBytes,
    takeBatchUs: Math.round(takeUs),
    takeUsPerRecipient: Number(((takeUs * probes) / Math.max(1, leased)).toFixed(1)),
    leasedPerProbe: leased / probes,
  }),
);
await spool.close();
