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
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { startPrivatePostfix, testDir, type PrivatePostfix } from '../harness/postfix.js';
import { Outcomes, submit, until } from './helpers.js';

const HOST = '127.0.0.5';

function idOf(flag: '-u' | '-g', user: string): number {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8', timeout: 5000 });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`id ${flag} ${user} failed: ${r.stderr}`);
  return n;
}

/** Postfix on 127.0.0.5:<free port>, final destination for pf.example.test (virtual mailboxes, one Maildir). */
async function startPostfix(): Promise<PrivatePostfix & { maildir: string }> {
  const uid = idOf('-u', 'postfix');
  const gid = idOf('-g', 'postfix');
  const dir = testDir('postfix-rx');
  const mail = path.join(dir, 'mail');
  fs.mkdirSync(mail, { recursive: true, mode: 0o755 });
  fs.chownSync(mail, uid, gid);
  const pf = await startPrivatePostfix({
    dir,
    // 127.0.0.5 is not 127.0.0.1: `loopback-only` lets master bind the address its master.cf line names.
    listen: [{ host: HOST, port: await freePort(HOST) }],
    main: {
      inet_interfaces: 'loopback-only',
      myhostname: 'mx.pf.example.test',
      mydomain: 'pf.example.test',
      local_recipient_maps: '',
      virtual_mailbox_domains: 'pf.example.test',
      virtual_mailbox_base: mail,
      virtual_mailbox_maps: 'static:inbox/',
      virtual_uid_maps: `static:${uid}`,
      virtual_gid_maps: `static:${gid}`,
      virtual_minimum_uid: '1',
      smtpd_recipient_restrictions: 'check_recipient_access inline:{ { reject-me@pf.example.test = 550 5.1.1 No such user here } }, permit_mynetworks, reject',
    },
    master: ['virtual   unix  -       n       n       -       -       virtual'],
  });
  return Object.assign(pf, { maildir: path.join(mail, 'inbox') });
}

let dns: TestDnsServer;
let postfix: (PrivatePostfix & { maildir: string }) | undefined;
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
      return pf.readLog().split('\n').find((l) => l.includes(`${queueId}:`) && l.includes('to=<alice@pf.example.test>') && l.includes('status=sent'));
    },
    20_000,
  );
  assert.match(line, /relay=virtual/);
  const log = pf.readLog();
  assert.match(log, new RegExp(`${queueId}: client=\\S+\\[127\\.0\\.0\\.1\\]`), 'the connection came from Petrel on loopback');
  assert.doesNotMatch(log, /reject-me@pf\.example\.test.*status=sent/);

  const fresh = path.join(pf.maildir, 'new');
  const file = await until('the message in the Maildir', () => (fs.existsSync(fresh) ? fs.readdirSync(fresh).map((f) => path.join(fresh, f)).find((f) => fs.readFileSync(f, 'utf8').includes(tag)) : undefined), 10_000);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^Delivered-To: alice@pf\.example\.test$/m);
  assert.match(text, /^Subject: delivery suite$/m);
  assert.match(text, /^Received: from relay\.petrel\.test /m, 'Postfix saw Petrel\'s EHLO name');
});
