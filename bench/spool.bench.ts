/**
 * @module bench/spool.bench
 *
 * `npm run bench:spool [-- --quick] [-- --runs N] [-- --recipients N] [-- --rcpts-per-msg N] [-- --scale-only]`
 *
 * 1. Acknowledged durable commits per second (commit() resolved ⇒ fdatasync
 *    done) for 1, 10 and 100 concurrent writers at 2 KB, 20 KB and 200 KB,
 *    against an fsync-per-message baseline (each message its own file,
 *    write + fsync + close, same writers) measured in the same run. Median
 *    of `runs` repetitions, cases interleaved.
 * 2. Memory and recovery for 1,000,000 queued recipients across 10,000
 *    queues (100,000 messages × 10 recipients, 2 KB bodies): bytes held per
 *    recipient after GC, restart-and-recover time, and takeBatch latency at
 *    that size versus a 10,000-recipient spool (it must not grow).
 *
 * Bounded: every case is time-boxed; a full run takes about 3–5 minutes,
 * `--quick` under a minute (200,000 recipients, one run, shorter cases).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spool } from '../src/spool/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argNum = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = argNum('--runs', quick ? 1 : 3);
const CASE_MS = quick ? 700 : 2000;
const RECIPIENTS = argNum('--recipients', quick ? 200_000 : 1_000_000);
/** Recipients per message in the scale test (10 by default; 1 is the worst case for memory). */
const PER_MSG = argNum('--rcpts-per-msg', 10);
const SKIP_COMMITS = args.includes('--scale-only');
const WRITERS = [1, 10, 100];
const SIZES = [2 * 1024, 20 * 1024, 200 * 1024];
const ROOT = mkdtempSync(path.join(tmpdir(), 'petrel-bench-'));
const CHILD = fileURLToPath(new URL('./spool/recover-child.ts', import.meta.url));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function spoolCase(writers: number, size: number): Promise<{ rate: number; avgBatch: number }> {
  const dir = await fsp.mkdtemp(path.join(ROOT, 'spool-'));
  const spool = await Spool.open({ path: dir, minFreeBytes: 0 });
  const body = Buffer.alloc(size, 0x61);
  const deadline = performance.now() + CASE_MS;
  let acked = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, i) => {
      while (performance.now() < deadline) {
        const w = spool.createMessage({ mailFrom: 'bench@example.org', recipients: [{ address: `r${i}@d${i % 10}.example` }] });
        w.write(body);
        await w.commit();
        acked++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const { flushes, items } = spool.stats().commits;
  await spool.close();
  await fsp.rm(dir, { recursive: true, force: true });
  return { rate: acked / secs, avgBatch: items / Math.max(1, flushes) };
}

async function fsyncCase(writers: number, size: number): Promise<number> {
  const dir = await fsp.mkdtemp(path.join(ROOT, 'fsync-'));
  const body = Buffer.alloc(size, 0x61);
  const deadline = performance.now() + CASE_MS;
  let acked = 0;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        const fh = await fsp.open(path.join(dir, String(n++)), 'w');
        await fh.write(body, 0, body.length, 0);
        await fh.sync();
        await fh.close();
        acked++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await fsp.rm(dir, { recursive: true, force: true });
  return acked / secs;
}

async function populate(dir: string, recipients: number, perMsg: number): Promise<void> {
  const spool = await Spool.open({ path: dir, minFreeBytes: 0 });
  const messages = Math.ceil(recipients / perMsg);
  const body = Buffer.alloc(2048, 0x62);
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      for (;;) {
        const m = next++;
        if (m >= messages) return;
        const w = spool.createMessage({
          mailFrom: 'bulk@example.org',
          recipients: Array.from({ length: perMsg }, (_, i) => ({ address: `user${m}@d${(m * perMsg + i) % 10_000}.example` })),
          jobId: `job${m % 100}`,
        });
        w.write(body);
        await w.commit();
      }
    }),
  );
  await spool.close();
}

interface ChildReport {
  recipients: number;
  messages: number;
  queues: number;
  recoverMs: number;
  bytesRead: number;
  heldBytes: number;
  bytesPerRecipient: number;
  indexArrayBytes: number;
  takeBatchUs: number;
  takeUsPerRecipient: number;
  leasedPerProbe: number;
}

function recoverInChild(dir: string): ChildReport {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, dir, '2000'], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildReport;
}

async function main(): Promise<void> {
  console.log(`# Spool benchmark (${quick ? 'quick' : 'full'}; ${RUNS} run(s) per case, ${CASE_MS} ms each; node ${process.version})`);
  console.log(`# spool dir under ${ROOT}\n`);
  const spoolRates = new Map<string, number[]>();
  const batches = new Map<string, number[]>();
  const fsyncRates = new Map<string, number[]>();
  for (let run = 0; run < (SKIP_COMMITS ? 0 : RUNS); run++) {
    for (const size of SIZES) {
      for (const writers of WRITERS) {
        const key = `${writers}/${size}`;
        const s = await spoolCase(writers, size);
        const f = await fsyncCase(writers, size);
        (spoolRates.get(key) ?? spoolRates.set(key, []).get(key)!).push(s.rate);
        (batches.get(key) ?? batches.set(key, []).get(key)!).push(s.avgBatch);
        (fsyncRates.get(key) ?? fsyncRates.set(key, []).get(key)!).push(f);
      }
    }
  }
  if (!SKIP_COMMITS) console.log('| size | writers | spool commits/s (median) | min–max | avg msgs per fdatasync | fsync per message, msgs/s | ratio |');
  if (!SKIP_COMMITS) console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const size of SKIP_COMMITS ? [] : SIZES) {
    for (const writers of WRITERS) {
      const key = `${writers}/${size}`;
      const s = spoolRates.get(key)!;
      const f = median(fsyncRates.get(key)!);
      console.log(
        `| ${size / 1024} KB | ${writers} | ${fmt(median(s))} | ${fmt(Math.min(...s))}–${fmt(Math.max(...s))} | ${median(batches.get(key)!).toFixed(1)} | ${fmt(f)} | ${(median(s) / f).toFixed(1)}× |`,
      );
    }
  }

  console.log(`\n## ${fmt(RECIPIENTS)} recipients across 10,000 queues, ${PER_MSG} per message, 2 KB bodies`);
  const big = path.join(ROOT, 'big');
  const t0 = performance.now();
  await populate(big, RECIPIENTS, PER_MSG);
  console.log(`populated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const small = path.join(ROOT, 'small');
  await populate(small, 10_000, PER_MSG);
  const reports: ChildReport[] = [];
  for (let i = 0; i < RUNS; i++) reports.push(recoverInChild(big));
  const smallReport = recoverInChild(small);
  const r = reports[0]!;
  console.log('| recipients | messages | queues | recover (median) | bytes held per recipient (median) | index arrays | takeBatch(10) µs | µs per leased recipient |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${fmt(r.recipients)} | ${fmt(r.messages)} | ${fmt(r.queues)} | ${(median(reports.map((x) => x.recoverMs)) / 1000).toFixed(2)} s | ${fmt(median(reports.map((x) => x.bytesPerRecipient)))} | ${fmt(r.indexArrayBytes / r.recipients)} B/rcpt | ${fmt(median(reports.map((x) => x.takeBatchUs)))} | ${median(reports.map((x) => x.takeUsPerRecipient)).toFixed(1)} |`,
  );
  console.log(
    `| ${fmt(smallReport.recipients)} | ${fmt(smallReport.messages)} | ${fmt(smallReport.queues)} | ${(smallReport.recoverMs / 1000).toFixed(2)} s | ${fmt(smallReport.bytesPerRecipient)} | ${fmt(smallReport.indexArrayBytes / smallReport.recipients)} B/rcpt | ${fmt(smallReport.takeBatchUs)} | ${smallReport.takeUsPerRecipient.toFixed(1)} |`,
  );
  console.log(`\n(recovery read ${fmt(r.bytesRead / 1048576)} MiB of log)`);
}

try {
  await main();
} finally {
  rmSync(ROOT, { recursive: true, force: true });
}
