/**
 * bench/inbound.bench.ts — `npm run bench:inbound [-- --quick] [-- --reps N]`
 *
 * Postfix's smtp-source against, in the same run and interleaved per repetition:
 *   - Petrel (child process, durable spool: 250 only after fsync);
 *   - smtp-sink (discards: the protocol's ceiling on this machine);
 *   - a stock private Postfix accepting into its queue (on hold, 1 fsync per message).
 * At 1, 20 and 100 sessions, 1 KB and 20 KB messages, many and one message
 * per connection. Prints messages/s, Petrel's CPU µs per message, and the
 * ratios Petrel/Postfix and Petrel/smtp-sink (medians over repetitions).
 * Everything runs on 127.0.0.1 and is stopped by PID at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpuMicros, havePostfix, median, ROOT, smtpSource, startPetrel, startPostfix, startSmtpSink, type Peer } from './lib/peers.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const reps = Number(args[args.indexOf('--reps') + 1]) || (quick ? 1 : 3);
const targetSeconds = quick ? 0.8 : 2;

interface Case {
  readonly sessions: number;
  readonly size: number;
  readonly reuse: boolean;
}
const cases: Case[] = [];
for (const size of [1000, 20000]) for (const sessions of [1, 20, 100]) for (const reuse of [true, false]) cases.push({ sessions, size, reuse });
const label = (c: Case): string => `${c.size / 1000}KB s=${c.sessions} ${c.reuse ? 'reuse' : '1/conn'}`;

async function main(): Promise<void> {
  if (!havePostfix()) {
    console.error('bench:inbound needs Debian postfix (smtp-source, smtp-sink, postfix): run scripts/install-test-deps.sh');
    process.exit(2);
  }
  const work = path.join(ROOT, '.bench-tmp', `inbound-${process.pid}`);
  fs.mkdirSync(work, { recursive: true });
  const peers: Peer[] = [];
  try {
    peers.push(await startPetrel(path.join(work, 'petrel')));
    peers.push(await startSmtpSink());
    peers.push(await startPostfix(path.join(work, 'postfix'), { kind: 'hold' }));
    const results = new Map<string, Map<string, { rate: number[]; cpu: number[] }>>();
    // Message counts are calibrated on Petrel so that each of its runs lasts about targetSeconds.
    const counts = new Map<Case, number>();
    for (const c of cases) {
      const probe = Math.max(c.sessions * 4, 200);
      const ms = await smtpSource(peers[0]!.port, { ...c, messages: probe });
      counts.set(c, Math.max(c.sessions * 2, Math.min(50_000, Math.round((probe / ms) * 1000 * targetSeconds))));
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const c of cases) {
        for (const peer of peers) {
          const n = counts.get(c)!;
          peer.reset?.();
          const cpu0 = cpuMicros(peer.pid, peer.tree);
          const ms = await smtpSource(peer.port, { ...c, messages: n });
          const cpu = cpuMicros(peer.pid, peer.tree) - cpu0;
          const byCase = results.get(label(c)) ?? new Map();
          results.set(label(c), byCase);
          const r = byCase.get(peer.name) ?? { rate: [], cpu: [] };
          byCase.set(peer.name, r);
          r.rate.push((n / ms) * 1000);
          r.cpu.push(cpu / n);
        }
      }
      console.error(`repetition ${rep + 1}/${reps} done`);
    }
    const rows = ['| case | Petrel msg/s | Petrel CPU µs/msg | Postfix accept msg/s | Postfix CPU µs/msg | smtp-sink msg/s | Petrel / Postfix | Petrel / smtp-sink |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
    for (const [name, byPeer] of results) {
      const p = byPeer.get('petrel')!;
      const pf = byPeer.get('postfix-accept')!;
      const sink = byPeer.get('smtp-sink')!;
      const ratio = (a: number[], b: number[]): number => median(a.map((x, i) => x / b[i]!));
      rows.push(
        `| ${name} | ${median(p.rate).toFixed(0)} | ${median(p.cpu).toFixed(0)} | ${median(pf.rate).toFixed(0)} | ${median(pf.cpu).toFixed(0)} | ${median(sink.rate).toFixed(0)} | ${ratio(p.rate, pf.rate).toFixed(2)} | ${ratio(p.rate, sink.rate).toFixed(2)} |`,
      );
    }
    console.log(`\nbench:inbound — ${reps} repetition(s), medians; ratios computed within each repetition\n`);
    console.log(rows.join('\n'));
  } finally {
    for (const p of peers.reverse()) await p.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench:inbound failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
