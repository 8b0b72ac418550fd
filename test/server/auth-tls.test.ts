/**
 * STARTTLS, implicit TLS and AUTH against a running Petrel: what is offered
 * when, the SASL exchanges, the policy that ties a user to a <source>, the
 * failure limiter, and that no credential ever reaches the log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cramMd5Digest, encodeBase64 } from '../../src/smtp/sasl.js';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { startPetrel, TLS_DIR, type RunningPetrel } from '../harness/petrel.js';

const SHA512_HUNTER2 = '$6$abcdefgh$M/eYsB4rVXAm3ZNc88J.UD9rCKAT6FB1rahiwJCHtEndQNORCub5qhjxn50qbqVVthkM.9HpEwtf0t.iV9uH0/'; // openssl passwd -6 -salt abcdefgh hunter2

const CONFIG = `
host-name mx.petrel.test
smtp-listener 127.0.0.1:{{PORT}}
smtp-listener 127.0.0.1:{{PORT2}} source=submission
smtp-listener 127.0.0.1:{{PORT3}} tls=implicit source=submission
smtp-server-tls-certificate {{TLS}}/mail.example.test.pem
<smtp-user alice>
    password "s3cret pass"
    source {auth}
</smtp-user>
<smtp-user bob>
    password-hash ${SHA512_HUNTER2}
    source trusted-bob
</smtp-user>
<source {auth}>
    always-allow-relaying yes
</source>
<source trusted-bob>
    always-allow-relaying yes
    default-virtual-mta vm-bob
</source>
<virtual-mta vm-bob>
    smtp-source-host 127.0.0.3 bob.example.test
</virtual-mta>
<source submission>
    require-auth yes
    require-starttls-before-auth yes
</source>
<source 127.0.0.9>
    allow-unencrypted-plain-auth yes
    smtp-max-auth-failure-rate 3/min
</source>
<source 0/0>
    always-allow-relaying no
    allow-unencrypted-plain-auth no
    smtp-max-auth-failure-rate 3/min
</source>
`;

let petrel: RunningPetrel;
before(async () => {
  petrel = await startPetrel(CONFIG);
});
after(async () => {
  await petrel.stop();
});

async function open(port: number, localAddress?: string): Promise<SmtpTestClient> {
  const c = await SmtpTestClient.connect(port, '127.0.0.1', localAddress ? { localAddress } : {});
  assert.equal((await c.read())?.code, 220);
  return c;
}

async function starttls(c: SmtpTestClient): Promise<string[]> {
  assert.match(text(await c.cmd('STARTTLS')), /^220 2\.0\.0 /);
  await c.startTls();
  const r = await c.cmd('EHLO client.example.test');
  return [...r.lines];
}

const plain = (u: string, p: string): string => encodeBase64(`\0${u}\0${p}`);

describe('STARTTLS', () => {
  test('offered before TLS, not after; EHLO state is reset; Received shows the TLS version', async () => {
    const c = await open(petrel.ports[0]!);
    const before = [...(await c.cmd('EHLO client.example.test')).lines];
    assert.ok(before.includes('STARTTLS'));
    assert.ok(!before.some((l) => l.startsWith('AUTH PLAIN')), 'no PLAIN/LOGIN in clear');
    assert.ok(before.includes('AUTH CRAM-MD5'), 'CRAM-MD5 keeps the password off the wire');
    const afterTls = await starttls(c);
    assert.ok(!afterTls.includes('STARTTLS'));
    assert.ok(afterTls.includes('AUTH PLAIN LOGIN CRAM-MD5'));
    // RFC 3207 §4.2: the state from before TLS is gone; a MAIL works after the new EHLO.
    assert.equal((await c.cmd('MAIL FROM:<a@example.test>')).code, 250);
    assert.match(text(await c.cmd('RCPT TO:<x@example.com>')), /^550 5\.7\.1 /, 'TLS alone is no licence to relay');
    c.close();
  });

  test('STARTTLS discards whatever the client pipelined after it (CVE-2011-0411)', async () => {
    const c = await open(petrel.ports[0]!);
    await c.cmd('EHLO client.example.test');
    c.write('STARTTLS\r\nMAIL FROM:<injected@example.test>\r\n');
    assert.match(text(await c.read()), /^220 2\.0\.0 /);
    await c.startTls();
    // The injected MAIL was thrown away: without EHLO a MAIL is out of sequence, and no earlier reply is waiting.
    const r = await c.cmd('MAIL FROM:<a@example.test>');
    assert.match(text(r), /^503 5\.5\.1 Send EHLO/);
    c.close();
  });

  test('STARTTLS twice is refused; a broken handshake does not hurt the server', async () => {
    const c = await open(petrel.ports[0]!);
    await c.cmd('EHLO client.example.test');
    await starttls(c);
    assert.match(text(await c.cmd('STARTTLS')), /^503 5\.5\.1 /);
    c.close();
    const bad = await open(petrel.ports[0]!);
    await bad.cmd('EHLO x');
    await bad.cmd('STARTTLS');
    bad.write(Buffer.from('this is not a TLS ClientHello\r\n'.repeat(10)));
    await bad.waitClosed();
    const ok = await open(petrel.ports[0]!);
    assert.equal((await ok.cmd('NOOP')).code, 250);
    ok.close();
  });
});

describe('AUTH', () => {
  test('PLAIN after STARTTLS: 235, then relaying is allowed through the user\'s source', async () => {
    const c = await open(petrel.ports[1]!);
    await c.cmd('EHLO client.example.test');
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test>')), /^530 5\.7\.0 /, 'require-auth on the submission listener');
    await starttls(c);
    assert.match(text(await c.cmd(`AUTH PLAIN ${plain('alice', 's3cret pass')}`)), /^235 2\.7\.0 /);
    assert.equal((await c.cmd('MAIL FROM:<alice@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<someone@example.com>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    c.write('Subject: hi\r\n\r\nbody\r\n.\r\n');
    const r = await c.read();
    const id = /queued as (\S+)/.exec(r!.lines[0]!)![1]!;
    const body = (await petrel.mta.spool.readBody(id)).toString();
    assert.match(body, /with ESMTPSA \(version=TLSv1\.[23] cipher=\S+\) \(authenticated as alice\) id /);
    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info!.envelope.authUser, 'alice');
    c.close();
  });

  test('AUTH is refused before STARTTLS where require-starttls-before-auth', async () => {
    const c = await open(petrel.ports[1]!);
    const lines = [...(await c.cmd('EHLO client.example.test')).lines];
    assert.ok(!lines.some((l) => l.startsWith('AUTH')), 'AUTH not offered before TLS');
    assert.match(text(await c.cmd(`AUTH PLAIN ${plain('alice', 's3cret pass')}`)), /^538 5\.7\.11 /);
    c.close();
  });

  test('LOGIN and the initial-response form; CRAM-MD5 for a clear password; a hash-only user cannot use CRAM-MD5', async () => {
    const c = await open(petrel.ports[1]!);
    await c.cmd('EHLO x');
    await starttls(c);
    assert.match(text(await c.cmd('AUTH LOGIN')), /^334 VXNlcm5hbWU6/);
    assert.match(text(await c.cmd(encodeBase64('bob'))), /^334 UGFzc3dvcmQ6/);
    assert.match(text(await c.cmd(encodeBase64('hunter2'))), /^235 2\.7\.0 /);
    assert.match(text(await c.cmd('AUTH PLAIN')), /^503 5\.5\.1 Already authenticated/);
    c.close();

    const d = await open(petrel.ports[0]!);
    await d.cmd('EHLO x');
    const ch = await d.cmd('AUTH CRAM-MD5');
    assert.equal(ch.code, 334);
    const challenge = Buffer.from(ch.lines[0]!, 'base64').toString();
    assert.match(challenge, /^<[0-9a-f]+\.\d+@mx\.petrel\.test>$/);
    assert.match(text(await d.cmd(encodeBase64(`alice ${cramMd5Digest(challenge, 's3cret pass')}`))), /^235 2\.7\.0 /);
    d.close();

    const e = await open(petrel.ports[0]!);
    await e.cmd('EHLO x');
    const ch2 = Buffer.from((await e.cmd('AUTH CRAM-MD5')).lines[0]!, 'base64').toString();
    assert.match(text(await e.cmd(encodeBase64(`bob ${cramMd5Digest(ch2, 'hunter2')}`))), /^535 5\.7\.8 /);
    e.close();
  });

  test("the user's source decides its VMTA (source NAME in <smtp-user>)", async () => {
    const raw = await SmtpTestClient.connect(petrel.ports[2]!);
    await assert.rejects(raw.read(1000), /no reply/, 'a plain connection to the implicit-TLS port gets no greeting in clear');
    raw.close();
    const t = await SmtpTestClient.connectTls(petrel.ports[2]!, '127.0.0.1', { servername: 'mail.example.test' });
    assert.equal((await t.read())?.code, 220);
    await t.cmd('EHLO x');
    assert.match(text(await t.cmd(`AUTH PLAIN ${plain('bob', 'hunter2')}`)), /^235 /);
    await t.cmd('MAIL FROM:<bob@example.test>');
    await t.cmd('RCPT TO:<r@example.org>');
    await t.cmd('DATA');
    t.write('Subject: via bob\r\n\r\nx\r\n.\r\n');
    const id = /queued as (\S+)/.exec((await t.read())!.lines[0]!)![1]!;
    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info!.envelope.vmta, 'vm-bob');
    assert.equal(info!.recipients[0]!.queue, 'example.org/vm-bob');
    t.close();
  });

  test('cancel, bad base64, unknown mechanism', async () => {
    const c = await open(petrel.ports[0]!, '127.0.0.9');
    await c.cmd('EHLO x');
    assert.equal((await c.cmd('AUTH LOGIN')).code, 334);
    assert.match(text(await c.cmd('*')), /^501 5\.7\.0 /);
    assert.match(text(await c.cmd('AUTH PLAIN !!!notbase64')), /^501 5\.5\.4 /);
    assert.match(text(await c.cmd('AUTH GSSAPI')), /^504 5\.5\.4 /);
    c.close();
  });

  test('failures are slowed and then cut off per client IP; no password ever reaches the log', async () => {
    const c = await open(petrel.ports[0]!, '127.0.0.9');
    await c.cmd('EHLO x');
    const wrong = plain('alice', 'wrong-password-XYZZY');
    assert.match(text(await c.cmd(`AUTH PLAIN ${wrong}`)), /^535 5\.7\.8 /);
    assert.match(text(await c.cmd(`AUTH PLAIN ${wrong}`)), /^535 5\.7\.8 /);
    const third = await c.cmd(`AUTH PLAIN ${wrong}`);
    assert.match(text(third), /^535 5\.7\.8 /);
    const cut = await c.read();
    assert.match(text(cut), /^421 4\.7\.0 /);
    await c.waitClosed();
    const again = await open(petrel.ports[0]!, '127.0.0.9');
    await again.cmd('EHLO x');
    const r = await again.cmd(`AUTH PLAIN ${plain('alice', 's3cret pass')}`);
    assert.match(text(r), /^421 4\.7\.0 /, 'still blocked, even with the right password');
    const log = petrel.logLines.join('');
    for (const secret of ['wrong-password-XYZZY', 's3cret pass', 'hunter2', wrong, plain('alice', 's3cret pass')]) assert.ok(!log.includes(secret), `log must not contain ${secret}`);
    assert.ok(petrel.logLines.some((l) => /"user":"alice"/.test(l) && /"msg":"auth failed"/.test(l)), "the failure is logged with the user name");
  });
});

test('the TLS fixture is what the server presents', () => {
  assert.ok(fs.existsSync(path.join(TLS_DIR, 'mail.example.test.pem')));
});
