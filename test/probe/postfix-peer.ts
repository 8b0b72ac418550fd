/**
 * A private Postfix smtpd on 127.0.0.1:<free port> for the probe tests:
 * Debian's Postfix with its own config and queue (the pattern of
 * bench/lib/peers.ts `startPostfix`), plus what a probe looks at:
 * opportunistic STARTTLS with the test certificate `mail.example.test`,
 * and Cyrus SASL advertising AUTH (every installed mechanism, PLAIN and
 * LOGIN among them) only after TLS (`smtpd_tls_auth_only`); nobody can log
 * in, and the probe never tries. It never receives mail in these tests (the probe
 * sends no MAIL), and it is stopped through its own config.
 *
 * The directory lives under the repository (`.test-tmp/`), not /tmp:
 * Postfix refuses a world-writable parent.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT, TLS_DIR, freePort } from '../harness/petrel.js';

export const POSTFIX_NAME = 'probe-postfix.example.test';

export interface PostfixPeer {
  readonly port: number;
  stop(): Promise<void>;
}

export function havePostfix(): boolean {
  return spawnSync('sh', ['-c', 'command -v postfix'], { stdio: 'ignore' }).status === 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function postfix(etc: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync('postfix', ['-c', etc, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Resolves when the port greets with 220 (bounded: 200 tries, 50 ms apart). */
async function waitGreeting(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
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
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`Postfix on ${port} never greeted`);
}

export async function startPostfixPeer(): Promise<PostfixPeer> {
  const base = path.join(ROOT, '.test-tmp');
  const dir = path.join(base, `probe-postfix-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  for (const d of [etc, queue, data]) fs.mkdirSync(d, { mode: 0o755 });
  spawnSync('chown', ['-R', 'postfix', data], { timeout: 10_000, stdio: 'ignore' });
  const port = await freePort();
  fs.writeFileSync(
    path.join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${queue}`,
      `data_directory = ${data}`,
      'command_directory = /usr/sbin',
      'daemon_directory = /usr/lib/postfix/sbin',
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'mydestination =',
      'relay_domains =',
      `myhostname = ${POSTFIX_NAME}`,
      'relayhost =',
      'smtp_dns_support_level = disabled',
      'disable_dns_lookups = yes',
      'smtpd_peername_lookup = no',
      `maillog_file = ${path.join(dir, 'maillog')}`,
      `maillog_file_prefixes = ${dir}`,
      'smtpd_recipient_restrictions = permit_mynetworks, reject',
      'biff = no',
      // What the probe looks at.
      // Certificate then key in one file: the legacy pair of parameters reads it (smtpd_tls_chain_files wants the key first).
      `smtpd_tls_cert_file = ${path.join(TLS_DIR, 'mail.example.test.pem')}`,
      `smtpd_tls_key_file = ${path.join(TLS_DIR, 'mail.example.test.pem')}`,
      'smtpd_tls_security_level = may',
      'smtpd_sasl_auth_enable = yes',
      'smtpd_sasl_type = cyrus',
      'smtpd_sasl_path = smtpd',
      'smtpd_tls_auth_only = yes',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(etc, 'master.cf'),
    [
      `127.0.0.1:${port} inet n - n - - smtpd`,
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
      '',
    ].join('\n'),
  );
  const removeDir = (): void => {
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.rmdirSync(base); // only when no other test still uses it
    } catch {
      /* not empty */
    }
  };
  const pidFile = path.join(queue, 'pid', 'master.pid');
  const stop = async (): Promise<void> => {
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : 0;
    postfix(etc, ['stop']);
    for (let i = 0; i < 200 && pid > 0 && fs.existsSync(`/proc/${pid}`); i++) await sleep(50);
    removeDir();
  };
  postfix(etc, ['set-permissions']);
  const started = postfix(etc, ['start']);
  if (started.status !== 0) {
    await stop();
    throw new Error(`postfix -c ${etc} start failed: ${started.out}`);
  }
  try {
    await waitGreeting(port);
  } catch (e) {
    const log = fs.existsSync(path.join(dir, 'maillog')) ? fs.readFileSync(path.join(dir, 'maillog'), 'utf8') : '';
    await stop();
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  return { port, stop };
}
