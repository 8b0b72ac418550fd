/**
 * A private Postfix instance (Debian's postfix, run as root): its own
 * config, queue, data directory and log under `dir`, its smtpd on the
 * loopback address(es) and port(s) the caller chose, no DNS, and stopped
 * through its own config (`postfix -c DIR stop`) with `dir` removed.
 *
 * What every private instance needs is here once: the minimal `main.cf`
 * (directories, `mail_owner`, `setgid_group`, IPv4 only, a `maillog_file`,
 * no DNS lookups, short queue lifetimes), the standard `master.cf` services,
 * `postfix set-permissions`, the data directory owned by `postfix`, start,
 * wait for the master pid and for each smtpd to greet, stop and clean up.
 * What a caller wants on top (relayhost, restrictions, TLS, SASL, virtual
 * mailboxes, `inet_interfaces = loopback-only` for 127.0.0.5 …) it passes
 * as `main` settings (which replace a default of the same name in place),
 * `smtpdOptions` of a listener (`-o name=value` on its master.cf line) and
 * extra `master` lines.
 *
 * `dir` must not be inside a world-writable directory such as /tmp (Postfix
 * refuses it); `testDir()` gives a fresh one under the repository's
 * `.test-tmp/`, which is removed too once the last instance there is gone.
 * This module has no dependency on Petrel's own sources, so the benchmarks
 * (bench/lib/peers.ts) use it as well.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where tests put private Postfix directories: in the repository, not world-writable /tmp. */
export const TEST_TMP = path.join(ROOT, '.test-tmp');

export interface PostfixListener {
  /** A loopback address, e.g. '127.0.0.1' or '127.0.0.5'. */
  host: string;
  port: number;
  /** `name=value` settings for this smtpd only, written as `-o name=value` on its master.cf line. */
  smtpdOptions?: string[];
}

export interface PrivatePostfixOptions {
  /** The instance's directory (created 0755 if missing, removed by `stop()`). */
  dir: string;
  /** One smtpd per entry (at least one). */
  listen: PostfixListener[];
  /** main.cf settings added to, or replacing, the defaults below ('' writes `name =`). */
  main?: Record<string, string>;
  /** Extra master.cf lines (e.g. the `virtual` delivery agent). */
  master?: string[];
  /** How long start may wait for the master pid, then for each smtpd's greeting (default 30 s each). */
  timeoutMs?: number;
}

export interface PrivatePostfix {
  readonly dir: string;
  readonly etc: string;
  readonly queue: string;
  /** The master process (its children are Postfix's daemons). */
  readonly pid: number;
  /** The first listener's port, and all of them in `listen` order. */
  readonly port: number;
  readonly ports: number[];
  readonly maillog: string;
  /** The maillog so far ('' while there is none). */
  readLog(): string;
  /** Runs `postsuper -c ETC ...args` (e.g. `['-d', 'ALL']` empties the queue); throws if it fails. */
  postsuper(args: readonly string[]): void;
  /** `postfix -c ETC stop`, waits (bounded) for the master to exit, removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export function havePostfix(): boolean {
  return spawnSync('sh', ['-c', 'command -v postfix'], { stdio: 'ignore' }).status === 0;
}

/** A fresh directory name under `.test-tmp/` (not created): `<prefix>-<pid>-<random>`. */
export function testDir(prefix: string): string {
  return path.join(TEST_TMP, `${prefix}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const MASTER_SERVICES = [
  'pickup    unix  n       -       n       60      1       pickup',
  'cleanup   unix  n       -       n       -       0       cleanup',
  'qmgr      unix  n       -       n       300     1       qmgr',
  'tlsmgr    unix  -       -       n       1000?   1       tlsmgr',
  'rewrite   unix  -       -       n       -       -       trivial-rewrite',
  'bounce    unix  -       -       n       -       0       bounce',
  'defer     unix  -       -       n       -       0       bounce',
  'trace     unix  -       -       n       -       0       bounce',
  'verify    unix  -       -       n       -       1       verify',
  'flush     unix  n       -       n       1000?   0       flush',
  'proxymap  unix  -       -       n       -       -       proxymap',
  'smtp      unix  -       -       n       -       -       smtp',
  'relay     unix  -       -       n       -       -       smtp',
  'showq     unix  n       -       n       -       -       showq',
  'error     unix  -       -       n       -       -       error',
  'retry     unix  -       -       n       -       -       error',
  'discard   unix  -       -       n       -       -       discard',
  'local     unix  -       n       n       -       -       local',
  'anvil     unix  -       -       n       -       1       anvil',
  'scache    unix  -       -       n       -       1       scache',
  'postlog   unix-dgram n  -       n       -       1       postlogd',
];

function mainCf(dir: string, queue: string, data: string, maillog: string, extra: Record<string, string>): string {
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: queue,
    data_directory: data,
    command_directory: '/usr/sbin',
    daemon_directory: '/usr/lib/postfix/sbin',
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    mydestination: '',
    relay_domains: '',
    relayhost: '',
    smtp_dns_support_level: 'disabled',
    disable_dns_lookups: 'yes',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    maillog_file: maillog,
    maillog_file_prefixes: dir,
    smtpd_recipient_restrictions: 'permit_mynetworks, reject',
    biff: 'no',
    // A test run must never leave mail waiting for hours.
    maximal_queue_lifetime: '1h',
    bounce_queue_lifetime: '1h',
    ...extra,
  };
  return `${Object.entries(settings).map(([k, v]) => (v === '' ? `${k} =` : `${k} = ${v}`)).join('\n')}\n`;
}

/** Resolves true once host:port answers with a 220 greeting (one attempt). */
function greets(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('data', (d: Buffer) => {
      s.end('QUIT\r\n');
      s.destroy();
      resolve(d.toString('latin1').startsWith('220'));
    });
    s.once('error', () => resolve(false));
  });
}

export async function startPrivatePostfix(opts: PrivatePostfixOptions): Promise<PrivatePostfix> {
  if (opts.listen.length === 0) throw new Error('startPrivatePostfix: no listener');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = path.resolve(opts.dir);
  // 0755 all the way down so that the postfix user can reach its queue.
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const maillog = path.join(dir, 'maillog');
  for (const d of [etc, queue, data]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  spawnSync('chown', ['-R', 'postfix', data], { timeout: 10_000, stdio: 'ignore' });
  fs.writeFileSync(path.join(etc, 'main.cf'), mainCf(dir, queue, data, maillog, opts.main ?? {}));
  const smtpd = opts.listen.map((l) => [`${l.host}:${l.port} inet n - n - - smtpd`, ...(l.smtpdOptions ?? []).map((o) => `-o ${o}`)].join(' '));
  fs.writeFileSync(path.join(etc, 'master.cf'), `${[...smtpd, ...MASTER_SERVICES, ...(opts.master ?? [])].join('\n')}\n`);

  const readLog = (): string => (fs.existsSync(maillog) ? fs.readFileSync(maillog, 'utf8') : '');
  const pidFile = path.join(queue, 'pid', 'master.pid');
  const readPid = (): number => {
    const n = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
    return Number.isInteger(n) && n > 0 ? n : 0;
  };
  let pid = 0;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const master = pid || readPid();
    run('postfix', ['-c', etc, 'stop']);
    for (let i = 0; i < 200 && master > 0 && fs.existsSync(`/proc/${master}`); i++) await sleep(50);
    fs.rmSync(dir, { recursive: true, force: true });
    if (path.dirname(dir) === TEST_TMP) {
      try {
        fs.rmdirSync(TEST_TMP); // only when no other test still uses it
      } catch {
        /* not empty */
      }
    }
  };
  const fail = async (why: string): Promise<never> => {
    const check = run('postfix', ['-c', etc, 'check']).out;
    const log = readLog();
    await stop();
    throw new Error(`private Postfix in ${dir}: ${why}${check ? `\npostfix check: ${check}` : ''}${log ? `\nmaillog:\n${log}` : ''}`);
  };

  run('postfix', ['-c', etc, 'set-permissions']);
  const started = run('postfix', ['-c', etc, 'start']);
  if (started.status !== 0) return fail(`postfix -c ${etc} start failed (${started.status}): ${started.out}`);
  for (const end = Date.now() + timeoutMs; (pid = readPid()) === 0; await sleep(100)) {
    if (Date.now() > end) return fail('timed out waiting for master.pid');
  }
  for (const l of opts.listen) {
    for (const end = Date.now() + timeoutMs; !(await greets(l.host, l.port)); await sleep(50)) {
      if (Date.now() > end) return fail(`${l.host}:${l.port} never greeted`);
    }
  }
  const ports = opts.listen.map((l) => l.port);
  return {
    dir,
    etc,
    queue,
    pid,
    port: ports[0]!,
    ports,
    maillog,
    readLog,
    postsuper: (args) => {
      const r = run('postsuper', ['-c', etc, ...args]);
      if (r.status !== 0) throw new Error(`postsuper -c ${etc} ${args.join(' ')} failed (${r.status}): ${r.out}`);
    },
    stop,
  };
}
