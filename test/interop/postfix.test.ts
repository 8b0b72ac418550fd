/**
 * Interoperability: a private Postfix instance (Debian's postfix, own
 * config and queue under a directory this test creates) relaying into
 * Petrel: Postfix's SMTP client is the sending MTA, with opportunistic TLS
 * (`smtp_tls_security_level = may`). The message is submitted to Postfix
 * over SMTP; Petrel must end up holding it, with Postfix's Received field
 * below its own and `with ESMTPS` showing the hop was encrypted.
 *
 * Postfix is stopped through its own config (`postfix -c DIR stop`) and
 * its directory removed, whatever the outcome.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { INTEROP_CONFIG, headerOf, requireTool } from './config.js';

const POSTFIX_NAME = 'pf.petrel.test';

let petrel: RunningPetrel;
let postfix: PrivatePostfix | undefined;

interface PrivatePostfix {
  readonly dir: string;
  readonly etc: string;
  readonly port: number;
  readonly maillog: string;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function postfixCmd(etc: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync('postfix', ['-c', etc, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const attempts = Math.ceil(timeoutMs / 100);
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Postfix on 127.0.0.1:<free port>, relaying everything to `[127.0.0.1]:relayPort`. */
async function startPostfix(relayPort: number): Promise<PrivatePostfix> {
  // Not under /tmp (world-writable: Postfix refuses it); 0755 so the postfix user can reach its queue.
  const base = path.join(ROOT, '.test-tmp');
  const dir = path.join(base, `postfix-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  for (const d of [etc, queue, data]) fs.mkdirSync(d, { mode: 0o755 });
  spawnSync('chown', ['-R', 'postfix', data], { timeout: 10_000, stdio: 'ignore' });
  const port = await freePort();
  const maillog = path.join(dir, 'maillog');
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
      'local_recipient_maps =',
      `myhostname = ${POSTFIX_NAME}`,
      'mydomain = petrel.test',
      `relayhost = [127.0.0.1]:${relayPort}`,
      'smtp_tls_security_level = may',
      'smtp_tls_loglevel = 1',
      'smtp_dns_support_level = disabled',
      'disable_dns_lookups = yes',
      'smtp_host_lookup = native',
      'smtpd_peername_lookup = no',
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${dir}`,
      'smtpd_recipient_restrictions = permit_mynetworks, reject',
      'biff = no',
      // A test run must never leave mail waiting for hours.
      'maximal_queue_lifetime = 1h',
      'bounce_queue_lifetime = 1h',
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
  postfixCmd(etc, ['set-permissions']);
  const started = postfixCmd(etc, ['start']);
  if (started.status !== 0) {
    postfixCmd(etc, ['stop']);
    removeDir();
    throw new Error(`postfix -c ${etc} start failed: ${started.out}`);
  }
  const pidFile = path.join(queue, 'pid', 'master.pid');
  let pid = 0;
  const stop = async (): Promise<void> => {
    postfixCmd(etc, ['stop']);
    for (let i = 0; i < 200 && pid > 0 && fs.existsSync(`/proc/${pid}`); i++) await sleep(50);
    removeDir();
  };
  try {
    pid = await waitFor('Postfix master.pid', () => {
      const n = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
      return Number.isInteger(n) && n > 0 ? n : undefined;
    });
    // Ready when its smtpd greets.
    await waitFor('Postfix to greet', async () => {
      try {
        const c = await SmtpTestClient.connect(port);
        const g = await c.read();
        c.close();
        return g?.code === 220 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, etc, port, maillog, stop };
}

before(async () => {
  requireTool('postfix', 'postfix');
  petrel = await startPetrel(INTEROP_CONFIG);
  postfix = await startPostfix(petrel.ports[0]!);
});
after(async () => {
  await postfix?.stop();
  await petrel?.stop();
});

describe('Postfix relaying into Petrel', () => {
  test('a message submitted to Postfix reaches Petrel over TLS; the Received chain shows both hops', async () => {
    const pf = postfix!;
    const before = petrel.mta.spool.stats().messages;
    const tag = crypto.randomBytes(6).toString('hex');
    // Submit to Postfix over SMTP.
    const c = await SmtpTestClient.connect(pf.port);
    try {
      assert.equal((await c.read())?.code, 220);
      assert.equal((await c.cmd('EHLO submitter.example.test')).code, 250);
      assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
      assert.equal((await c.cmd('RCPT TO:<postfix-hop@bounces.example.test>')).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      c.write(`From: sender@example.net\r\nTo: postfix-hop@bounces.example.test\r\nSubject: via postfix ${tag}\r\n\r\nrelayed by Postfix\r\n.\r\n`);
      const r = await c.read();
      assert.equal(r?.code, 250, text(r));
      await c.cmd('QUIT');
    } finally {
      c.close();
    }

    // Postfix delivers on its own schedule: wait (bounded) for Petrel's spool to hold it.
    await waitFor('the message in Petrel', () => (petrel.mta.spool.stats().messages > before ? true : undefined), 60_000).catch((e: Error) => {
      const log = fs.existsSync(pf.maillog) ? fs.readFileSync(pf.maillog, 'utf8') : '(no maillog)';
      throw new Error(`${e.message}\nPostfix maillog:\n${log}`);
    });
    const ids = petrel.mta.spool.listMessages();
    const found: string[] = [];
    for (const id of ids) if ((await headerOf(petrel, id)).includes(`Subject: via postfix ${tag}`)) found.push(id);
    assert.equal(found.length, 1, 'exactly one copy in Petrel');
    const id = found[0]!;

    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info?.envelope.mailFrom, 'sender@example.net');
    assert.deepEqual(info?.recipients.map((r) => r.address), ['postfix-hop@bounces.example.test']);
    assert.equal(info?.envelope.authUser, undefined);

    const header = await headerOf(petrel, id);
    const received = [...header.matchAll(/^Received:(.*\r\n(?:[ \t].*\r\n)*)/gim)].map((m) => m[1]!.replace(/\r\n[ \t]+/g, ' ').trim());
    assert.ok(received.length >= 2, `two Received fields at least:\n${header}`);
    // Top: Petrel received from Postfix (its EHLO name), over TLS, not authenticated.
    assert.match(received[0]!, new RegExp(`^from ${POSTFIX_NAME.replace(/\./g, '\\.')} \\(\\[127\\.0\\.0\\.1\\]\\) by mx\\.petrel\\.test \\(Petrel\\) with ESMTPS \\(version=TLSv1\\.[23] cipher=\\S+\\) id ${id} for <postfix-hop@bounces\\.example\\.test>; `), received[0]);
    // Below: Postfix's own, naming the submitting client and Postfix's host name.
    assert.match(received[1]!, new RegExp(`^from submitter\\.example\\.test .*by ${POSTFIX_NAME.replace(/\./g, '\\.')} \\(Postfix\\) with E?SMTP`), received[1]);

    // Postfix's view: TLS to Petrel, and Petrel's queue id in the 250 reply.
    const line = await waitFor('Postfix to log the delivery', () => {
      const log = fs.existsSync(pf.maillog) ? fs.readFileSync(pf.maillog, 'utf8') : '';
      return log.split('\n').find((l) => l.includes('status=sent') && l.includes(`queued as ${id}`));
    });
    assert.match(line, /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
    const log = fs.readFileSync(pf.maillog, 'utf8');
    assert.match(log, /TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23] with cipher/);
  });
});
