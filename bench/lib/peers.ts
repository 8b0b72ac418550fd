/**
 * bench/lib/peers.ts — the peers a benchmark measures Petrel against, all on
 * loopback and stopped by PID: Petrel itself (a child process with a durable
 * spool), Postfix's smtp-sink (the protocol's ceiling here), and a private
 * Postfix instance (accept-and-hold, or relay to a sink; set up by
 * test/harness/postfix.ts), configured the way shared/reference/baselines.md
 * describes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrivatePostfix } from '../../test/harness/postfix.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CPU (user+sys) in µs of a process, or of a whole process tree incl. reaped children, from /proc. */
export function cpuMicros(pid: number, withChildren = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 1e6 / 100;
    let t = (Number(f[11]) + Number(f[12])) * tick;
    if (withChildren) {
      t += (Number(f[13]) + Number(f[14])) * tick;
      for (const child of childPids(pid)) t += cpuMicros(child, true);
    }
    return t;
  } catch {
    return 0;
  }
}

function childPids(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const c = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (c) out.push(...c.split(' ').map(Number));
    }
    return out;
  } catch {
    return [];
  }
}

export interface Peer {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  /** Counts the whole process tree (Postfix forks). */
  readonly tree: boolean;
  /** Between runs, not timed (empty Postfix's hold queue). */
  reset?(): void;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

export async function startPetrel(dir: string, extraConfig = ''): Promise<Peer> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'petrel.conf');
  fs.writeFileSync(
    conf,
    [`host-name bench.petrel.test`, `resolver-servers 127.0.0.1:9`, `smtp-listener 127.0.0.1:${port}`, `spool ${path.join(dir, 'spool')}`, '<source 127.0.0.1>', '  always-allow-relaying yes', '</source>', extraConfig, ''].join('\n'),
  );
  // Receive-only unless the caller's config routes delivery to loopback; resolver-servers points at a dead
  // loopback port so that no DNS query can ever leave this machine.
  const args = [path.join(ROOT, 'bin', 'petrel.js'), 'start', '--config', conf, ...(/smtp-hosts|route/.test(extraConfig) ? [] : ['--no-delivery'])];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  await waitPort(port);
  return { name: 'petrel', port, pid: child.pid!, tree: false, stop: () => stopChild(child) };
}

export async function startSmtpSink(): Promise<Peer> {
  const port = await freePort();
  const child = spawn('smtp-sink', ['-u', 'nobody', `127.0.0.1:${port}`, '1024'], { stdio: 'ignore' });
  await waitPort(port);
  return { name: 'smtp-sink', port, pid: child.pid!, tree: false, stop: () => stopChild(child) };
}

export function havePostfix(): boolean {
  return spawnSync('sh', ['-c', 'command -v postfix && command -v smtp-source && command -v smtp-sink'], { stdio: 'ignore' }).status === 0;
}

/** A private Postfix instance (config and queue under `dir`, which must not be in world-writable /tmp). */
export async function startPostfix(dir: string, mode: { kind: 'hold' } | { kind: 'relay'; sinkPort: number }): Promise<Peer> {
  const pf = await startPrivatePostfix({
    dir,
    listen: [{ host: '127.0.0.1', port: await freePort(), smtpdOptions: mode.kind === 'hold' ? ['smtpd_client_restrictions=static:HOLD'] : [] }],
    main: {
      myhostname: 'bench-postfix.localhost',
      relayhost: mode.kind === 'relay' ? `[127.0.0.1]:${mode.sinkPort}` : '',
    },
  });
  return {
    name: mode.kind === 'hold' ? 'postfix-accept' : 'postfix-relay',
    port: pf.port,
    pid: pf.pid,
    tree: true,
    reset: () => pf.postsuper(['-d', 'ALL']),
    stop: () => pf.stop(),
  };
}

/** Runs smtp-source against a port; resolves with wall time in ms. */
export function smtpSource(port: number, o: { sessions: number; messages: number; size: number; reuse: boolean }): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.size), '-f', 'sender@example.com', '-t', 'rcpt@example.com', '-M', 'loadgen.localhost'];
    if (o.reuse) args.push('-d');
    args.push(`127.0.0.1:${port}`);
    const t0 = process.hrtime.bigint();
    const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`smtp-source exited ${code}: ${err.slice(0, 500)}`));
      else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
