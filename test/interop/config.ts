/**
 * Shared pieces of the interoperability tests: the configuration every
 * file starts Petrel with (PowerMTA syntax: a relay-for-our-domains port,
 * a submission port with STARTTLS + AUTH required, and an implicit-TLS
 * port), and small helpers to run real third-party tools with a timeout,
 * closed stdin, and a clear failure when the tool is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import type { RunningPetrel } from '../harness/petrel.js';

/** `openssl passwd -6 -salt abcdefgh hunter2` */
export const BOB_HASH = '$6$abcdefgh$M/eYsB4rVXAm3ZNc88J.UD9rCKAT6FB1rahiwJCHtEndQNORCub5qhjxn50qbqVVthkM.9HpEwtf0t.iV9uH0/';

/** PORT = "25" (relay for our domains only), PORT2 = "587" (STARTTLS + AUTH), PORT3 = "465" (implicit TLS). */
export const INTEROP_CONFIG = `
host-name mx.petrel.test
smtp-listener 127.0.0.1:{{PORT}}
smtp-listener 127.0.0.1:{{PORT2}} source=submission
smtp-listener 127.0.0.1:{{PORT3}} tls=implicit source=submission
smtp-server-tls-certificate {{TLS}}/mail.example.test.pem
relay-domain bounces.example.test
<smtp-user alice>
    password "s3cret pass"
    source {auth}
</smtp-user>
<smtp-user bob>
    password-hash ${BOB_HASH}
</smtp-user>
<source {auth}>
    always-allow-relaying yes
</source>
<source submission>
    require-auth yes
    require-starttls-before-auth yes
</source>
<source 0/0>
    always-allow-relaying no
    allow-unencrypted-plain-auth no
</source>
`;

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Fails the test with the Debian/npm package to install when `cmd` is not
 * on PATH (the README's `npm run test:all` installs them).
 */
export function requireTool(cmd: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', timeout: 5000 });
  assert.equal(r.status, 0, `'${cmd}' is not installed: install the Debian package '${pkg}' (npm run test:all does)`);
}

/** Runs a program to completion: stdin is `input` (or closed), killed after `timeoutMs`. */
export function run(cmd: string, args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Ids of messages the spool got since `before` (a list taken earlier). */
export function newMessages(petrel: RunningPetrel, before: readonly string[]): string[] {
  const seen = new Set(before);
  return petrel.mta.spool.listMessages().filter((id) => !seen.has(id));
}

/** The message's header section (up to the blank line) as text. */
export async function headerOf(petrel: RunningPetrel, id: string): Promise<string> {
  const body = (await petrel.mta.spool.readBody(id)).toString('utf8');
  const end = body.indexOf('\r\n\r\n');
  return end < 0 ? body : body.slice(0, end + 2);
}

/** The first Received field, unfolded. */
export function firstReceived(header: string): string {
  const m = /^Received:(.*\r\n(?:[ \t].*\r\n)*)/im.exec(header);
  assert.ok(m, `no Received field in:\n${header}`);
  return m[1]!.replace(/\r\n[ \t]+/g, ' ').trim();
}
