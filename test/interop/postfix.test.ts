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
import * as crypto from 'node:crypto';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { startPrivatePostfix, testDir, type PrivatePostfix } from '../harness/postfix.js';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { INTEROP_CONFIG, headerOf, requireTool } from './config.js';

const POSTFIX_NAME = 'pf.petrel.test';

let petrel: RunningPetrel;
let postfix: PrivatePostfix | undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const attempts = Math.ceil(timeoutMs / 100);
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Postfix on 127.0.0.1:<free port>, relaying everything to `[127.0.0.1]:relayPort` with opportunistic TLS. */
async function startPostfix(relayPort: number): Promise<PrivatePostfix> {
  return startPrivatePostfix({
    dir: testDir('postfix'),
    listen: [{ host: '127.0.0.1', port: await freePort() }],
    main: {
      local_recipient_maps: '',
      myhostname: POSTFIX_NAME,
      mydomain: 'petrel.test',
      relayhost: `[127.0.0.1]:${relayPort}`,
      smtp_tls_security_level: 'may',
      smtp_tls_loglevel: '1',
    },
  });
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
      const log = pf.readLog() || '(no maillog)';
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
      return pf.readLog().split('\n').find((l) => l.includes('status=sent') && l.includes(`queued as ${id}`));
    });
    assert.match(line, /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
    assert.match(pf.readLog(), /TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23] with cipher/);
  });
});
