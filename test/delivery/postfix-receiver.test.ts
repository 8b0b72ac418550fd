/**
 * End to end with a real receiving MTA: a private Postfix instance (Debian's
 * postfix, own config, queue and log under a directory this test creates)
 * listens on 127.0.0.5 and delivers `pf.example.test` into a Maildir through
 * its virtual(8) agent. Petrel finds it through the test DNS
 * (`pf.example.test MX mx.pf.example.test`, A 127.0.0.5, `default-smtp-port`
 * = Postfix's port) and delivers to it; Postfix's own log must then show
 * `status=sent` for the recipient, and the Maildir must hold the message.
 * A recipient Postfix refuses (550, `check_recipient_access`) is bounced by
 * Petrel with Postfix's reply.
 *
 * Postfix is stopped through its own config (`postfix -c DIR stop`) and its
 * directory removed, whatever the outcome.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDnsServer } from '../harness/dns-server.js';
import { ROOT, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { Outcomes, sleep, submit, until } from './helpers.js';

const HOST = '127.0.0.5';

interface PrivatePostfix {
  readonly dir: string;
  readonly port: number;
  readonly maillog: string;
  readonly maildir: string;
  stop(): Promise<void>;
}

function postfixCmd(etc: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync('postfix', ['-c', etc, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function idOf(flag: '-u' | '-g', user: string): number {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8', timeout: 5000 });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`id ${flag} ${user} failed: ${r.stderr}`);
  return n;
}

/** Postfix on 127.0.0.5:<free port>, final destination for pf.example.test (virtual mailboxes, one Maildir). */
async function startPostfix(): Promise<PrivatePostfix> {
  // Not under /tmp (world-writable: Postfix refuses it); 0755 so the postfix user can reach its queue.
  const base = path.join(ROOT, '.test-tmp');
  const dir = path.join(base, `postfix-rx-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const mail = path.join(dir, 'mail');
  for (const d of [etc, queue, data, mail]) fs.mkdirSync(d, { mode: 0o755 });
  const uid = idOf('-u', 'postfix');
  const gid = idOf('-g', 'postfix');
  spawnSync('chown', ['-R', 'postfix', data], { timeout: 10_000, stdio: 'ignore' });
  fs.chownSync(mail, uid, gid);
  const port = await freePort(HOST);
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
      'inet_interfaces = loopback-only',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'myhostname = mx.pf.example.test',
      'mydomain = pf.example.test',
      'mydestination =',
      'relay_domains =',
      'local_recipient_maps =',
      'virtual_mailbox_domains = pf.example.test',
      `virtual_mailbox_base = ${mail}`,
      'virtual_mailbox_maps = static:inbox/',
      `virtual_uid_maps = static:${uid}`,
      `virtual_gid_maps = static:${gid}`,
      'virtual_minimum_uid = 1',
      'smtpd_recipient_restrictions = check_recipient_access inline:{ { reject-me@pf.example.test = 550 5.1.1 No such user here } }, permit_mynetworks, reject',
      'smtp_dns_support_level = disabled',
      'disable_dns_lookups = yes',
      'smtpd_peername_lookup = no',
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${dir}`,
      'biff = no',
      'maximal_queue_lifetime = 1h',
      'bounce_queue_lifetime = 1h',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(etc, 'master.cf'),
    [
      `${HOST}:${port} inet n - n - - smtpd`,
      'pickup    unix  n       -       n       60      1       pickup',
      'cleanup   unix  n       -       n       -       0       cleanup',
      'qmgr      unix  n       -       n       300     1       qmgr',
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
      'virtual   unix  -       n       n       -       -       virtual',
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
    const check = postfixCmd(etc, ['check']);
    const log = fs.existsSync(maillog) ? fs.readFileSync(maillog, 'utf8') : '';
    postfixCmd(etc, ['stop']);
    removeDir();
    throw new Error(`postfix -c ${etc} start failed (${started.status}): ${started.out}\ncheck: ${check.out}\nlog: ${log}`);
  }
  const pidFile = path.join(queue, 'pid', 'master.pid');
  let pid = 0;
  const stop = async (): Promise<void> => {
    postfixCmd(etc, ['stop']);
    for (let i = 0; i < 200 && pid > 0 && fs.existsSync(`/proc/${pid}`); i++) await sleep(50);
    removeDir();
  };
  try {
    pid = await until(
      'Postfix master.pid',
      () => {
        const n = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
        return Number.isInteger(n) && n > 0 ? n : undefined;
      },
      30_000,
    );
    await until(
      'Postfix to greet',
      async () => {
        try {
          const c = await SmtpTestClient.connect(port, HOST);
          const g = await c.read();
          c.close();
          return g?.code === 220 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, port, maillog, maildir: path.join(mail, 'inbox'), stop };
}

let dns: TestDnsServer;
let postfix: PrivatePostfix | undefined;
let petrel: RunningPetrel;
let out: Outcomes;

before(async () => {
  const r = spawnSync('postfix', ['-c', '/nonexistent', 'status'], { timeout: 10_000, stdio: 'ignore' });
  if (r.error) throw new Error('postfix is not installed (Debian package postfix)');
  dns = await TestDnsServer.start();
  postfix = await startPostfix();
  dns.set('pf.example.test', [{ type: 'MX', preference: 10, exchange: 'mx.pf.example.test' }]);
  dns.set('mx.pf.example.test', [{ type: 'A', address: HOST }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain *>
    default-smtp-port ${postfix.port}
    retry-after 30m
    connect-timeout 5s
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  out = new Outcomes(petrel);
});

after(async () => {
  await petrel?.stop(500);
  await postfix?.stop();
  await dns?.stop();
});

test('Petrel delivers to Postfix found by MX; Postfix logs status=sent and the Maildir holds the message; a 550 bounces', async () => {
  const pf = postfix!;
  const tag = crypto.randomBytes(6).toString('hex');
  const m = await submit(petrel.port, 'sender@petrel.test', ['alice@pf.example.test', 'reject-me@pf.example.test'], { body: `Delivered to Postfix, tag ${tag}.\r\n` });
  const [ok, refused] = await Promise.all(m.rids.map((r) => out.outcome(r, { timeoutMs: 20_000 })));
  assert.equal(ok!.type, 'delivered', JSON.stringify(ok));
  assert.match(ok!.reply ?? '', /^250 2\.0\.0 Ok: .*queued as \w+/);
  assert.equal(refused!.type, 'bounced', JSON.stringify(refused));
  assert.match(refused!.reply ?? '', /^550 5\.1\.1 .*No such user here/);

  const queueId = /queued as (\w+)/.exec(ok!.reply ?? '')![1]!;
  const line = await until(
    `Postfix to log status=sent for ${queueId}`,
    () => {
      const log = fs.existsSync(pf.maillog) ? fs.readFileSync(pf.maillog, 'utf8') : '';
      return log.split('\n').find((l) => l.includes(`${queueId}:`) && l.includes('to=<alice@pf.example.test>') && l.includes('status=sent'));
    },
    20_000,
  );
  assert.match(line, /relay=virtual/);
  const log = fs.readFileSync(pf.maillog, 'utf8');
  assert.match(log, new RegExp(`${queueId}: client=\\S+\\[127\\.0\\.0\\.1\\]`), 'the connection came from Petrel on loopback');
  assert.doesNotMatch(log, /reject-me@pf\.example\.test.*status=sent/);

  const fresh = path.join(pf.maildir, 'new');
  const file = await until('the message in the Maildir', () => (fs.existsSync(fresh) ? fs.readdirSync(fresh).map((f) => path.join(fresh, f)).find((f) => fs.readFileSync(f, 'utf8').includes(tag)) : undefined), 10_000);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^Delivered-To: alice@pf\.example\.test$/m);
  assert.match(text, /^Subject: delivery suite$/m);
  assert.match(text, /^Received: from relay\.petrel\.test /m, 'Postfix saw Petrel\'s EHLO name');
});
