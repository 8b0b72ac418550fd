/**
 * bench/relay.bench.ts — `npm run bench:relay [-- --quick] [-- --reps N] [-- --messages N]`
 *
 * End-to-end durable relay: smtp-source injects N messages (1 KB, 20
 * sessions, many per connection) into the relay, which delivers them to
 * Postfix's smtp-sink started with `-M N` (it exits after the N-th message:
 * that exit is the end time). Measured in the same run, interleaved per
 * repetition, for Petrel (durable spool, `smtp-hosts [127.0.0.1]:SINK`, no
 * DNS) and for a stock private Postfix relaying to its own sink
 * (`relayhost = [127.0.0.1]:SINK`). Prints messages/s, CPU per relayed
 * message (the relay's whole process, or Postfix's process tree), and the
 * ratio Petrel / Postfix. Everything on 127.0.0.1, stopped by PID.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpuMicros, freePort, havePostfix, median, ROOT, smtpSource, startPetrel, startPostfix, waitPort, type Peer } from './lib/peers.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const reps = Number(args[args.indexOf('--reps') + 1]) || (quick ? 1 : 3);
const messages = Number(args[args.indexOf('--messages') + 1]) || (quick ? 3000 : 6000);

/** Starts smtp-sink on a fixed port that exits after `n` messages; resolves with the exit time. */
async function sinkFor(port: number, n: number): Promise<{ done: Promise<bigint>; stop: () => void }> {
  const child = spawn('smtp-sink', ['-u', 'nobody', '-M', String(n), `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  const done = new Promise<bigint>((resolve) => child.once('exit', () => resolve(process.hrtime.bigint())));
  await waitPort(port);
  return { done, stop: () => child.kill('SIGKILL') };
}

async function run(peer: Peer, sinkPort: number): Promise<{ rate: number; cpu: number }> {
  peer.reset?.();
  const sink = await sinkFor(sinkPort, messages);
  const cpu0 = cpuMicros(peer.pid, peer.tree);
  const t0 = process.hrtime.bigint();
  const timeout = setTimeout(() => sink.stop(), 600_000);
  await smtpSource(peer.port, { sessions: 20, messages, size: 1000, reuse: true });
  const t1 = await sink.done;
  clearTimeout(timeout);
  const cpu = cpuMicros(peer.pid, peer.tree) - cpu0;
  return { rate: (messages / Number(t1 - t0)) * 1e9, cpu: cpu / messages };
}

async function main(): Promise<void> {
  if (!havePostfix()) {
    console.error('bench:relay needs Debian postfix (smtp-source, smtp-sink, postfix): run scripts/install-test-deps.sh');
    process.exit(2);
  }
  const work = path.join(ROOT, '.bench-tmp', `relay-${process.pid}`);
  fs.mkdirSync(work, { recursive: true });
  const petrelSink = await freePort();
  const postfixSink = await freePort();
  const peers: Peer[] = [];
  try {
    const petrel = await startPetrel(
      path.join(work, 'petrel'),
      ['<domain *>', `  smtp-hosts [127.0.0.1]:${petrelSink}`, '  use-starttls no', '  max-smtp-out 20', '  max-msg-per-connection 0', '  connection-idle-timeout 5s', '</domain>'].join('\n'),
    );
    peers.push(petrel);
    const postfix = await startPostfix(path.join(work, 'postfix'), { kind: 'relay', sinkPort: postfixSink });
    peers.push(postfix);
    const res = { petrel: [] as Array<{ rate: number; cpu: number }>, postfix: [] as Array<{ rate: number; cpu: number }> };
    // Warm-up (not counted): JIT, connection caches and the spool's first segment, for both relays.
    await run(petrel, petrelSink);
    await run(postfix, postfixSink);
    for (let r = 0; r < reps; r++) {
      res.petrel.push(await run(petrel, petrelSink));
      res.postfix.push(await run(postfix, postfixSink));
      console.error(`repetition ${r + 1}/${reps}: Petrel ${res.petrel[r]!.rate.toFixed(0)} msg/s, Postfix ${res.postfix[r]!.rate.toFixed(0)} msg/s`);
    }
    const ratio = median(res.petrel.map((p, i) => p.rate / res.postfix[i]!.rate));
    console.log(`\nbench:relay — ${messages} messages × ${reps} repetition(s), 1 KB, 20 sessions, smtp-source → relay → smtp-sink\n`);
    console.log('| relay | msg/s (median) | CPU µs per relayed message |');
    console.log('|---|---:|---:|');
    console.log(`| Petrel (durable spool) | ${median(res.petrel.map((x) => x.rate)).toFixed(0)} | ${median(res.petrel.map((x) => x.cpu)).toFixed(0)} |`);
    console.log(`| Postfix 3.7 | ${median(res.postfix.map((x) => x.rate)).toFixed(0)} | ${median(res.postfix.map((x) => x.cpu)).toFixed(0)} |`);
    console.log(`\nPetrel / Postfix: ${ratio.toFixed(2)} (median of per-repetition ratios)`);
  } finally {
    for (const p of peers.reverse()) await p.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench:relay failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
