/**
 * Scripted SMTP dialogues against a running Petrel on loopback: every reply
 * code path of the session, the relay policy, and what ends up in the spool.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { startPetrel, type RunningPetrel } from '../harness/petrel.js';

const CONFIG = `
host-name mx.petrel.test
smtp-listener 127.0.0.1:{{PORT}}
relay-domain bounces.example.test
relay-address abuse@fbl.example.test
relay-address /^unsub-[0-9]+@lists\\.example\\.test$/
<virtual-mta vm1>
    smtp-source-host 127.0.0.2 vm1.example.test
</virtual-mta>
<source 127.0.0.1>
    always-allow-relaying yes
    process-x-virtual-mta yes
    process-x-job yes
    max-message-size 2M
    max-rcpt-per-message 3
</source>
<source 127.0.0.5>
    smtp-service no
</source>
<source 127.0.0.6>
    require-auth yes
</source>
<source 0/0>
    always-allow-relaying no
    max-errors-per-connection 5
</source>
`;

let petrel: RunningPetrel;
before(async () => {
  petrel = await startPetrel(CONFIG);
});
after(async () => {
  await petrel.stop();
});

async function client(localAddress?: string): Promise<SmtpTestClient> {
  const c = await SmtpTestClient.connect(petrel.port, '127.0.0.1', localAddress ? { localAddress } : {});
  const greeting = await c.read();
  assert.equal(greeting?.code, 220, text(greeting));
  return c;
}

async function ehlo(c: SmtpTestClient): Promise<string[]> {
  const r = await c.cmd('EHLO client.example.test');
  assert.equal(r.code, 250);
  return [...r.lines];
}

function queuedId(r: { lines: readonly string[] }): string {
  const m = /queued as (\S+)/.exec(r.lines[0] ?? '');
  assert.ok(m, `no id in ${r.lines[0]}`);
  return m[1]!;
}

describe('greeting and EHLO', () => {
  test('banner and EHLO name come from host-name; extensions advertised', async () => {
    const c = await SmtpTestClient.connect(petrel.port);
    const g = await c.read();
    assert.match(text(g), /^220 mx\.petrel\.test ESMTP/);
    const lines = await ehlo(c);
    assert.match(lines[0]!, /^mx\.petrel\.test Hello client\.example\.test \[127\.0\.0\.1\]/);
    for (const k of ['PIPELINING', 'SIZE 2097152', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'CHUNKING']) assert.ok(lines.includes(k), `${k} in ${lines.join('|')}`);
    assert.ok(!lines.some((l) => l.startsWith('STARTTLS')), 'no STARTTLS without a certificate');
    assert.ok(!lines.some((l) => l.startsWith('AUTH')), 'no AUTH without users');
    c.close();
  });

  test('HELO works; ESMTP parameters are then refused', async () => {
    const c = await client();
    assert.equal((await c.cmd('HELO old.example.test')).code, 250);
    const r = await c.cmd('MAIL FROM:<a@example.test> SIZE=100');
    assert.equal(r.code, 555, text(r));
    c.close();
  });

  test('smtp-service no refuses the client at the greeting', async () => {
    const c = await SmtpTestClient.connect(petrel.port, '127.0.0.1', { localAddress: '127.0.0.5' });
    const g = await c.read();
    assert.match(text(g), /^554 5\.3\.2 /);
    await c.waitClosed();
  });
});

describe('sequence and syntax', () => {
  test('MAIL before EHLO, RCPT before MAIL, DATA before RCPT, a second MAIL', async () => {
    const c = await client();
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test>')), /^503 5\.5\.1 /);
    await ehlo(c);
    assert.match(text(await c.cmd('RCPT TO:<b@example.test>')), /^503 5\.5\.1 /);
    assert.match(text(await c.cmd('DATA')), /^503 5\.5\.1 /);
    assert.equal((await c.cmd('MAIL FROM:<a@example.test>')).code, 250);
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test>')), /^503 5\.5\.1 Sender already specified/);
    assert.match(text(await c.cmd('DATA')), /^554 5\.5\.1 /);
    c.close();
  });

  test('syntax errors carry enhanced codes', async () => {
    const c = await client();
    await ehlo(c);
    assert.match(text(await c.cmd('MAIL FROM:a@example.test')), /^501 5\.5\.4|^501 5\.1\.7/);
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test> FOO=BAR')), /^555 5\.5\.4/);
    assert.match(text(await c.cmd('XYZZY')), /^500 5\.5\.1 /);
    c.close();
  });

  test('VRFY never reveals, EXPN is refused, HELP, NOOP, RSET, QUIT', async () => {
    const c = await client();
    assert.match(text(await c.cmd('VRFY root')), /^252 2\.1\.5 /);
    assert.match(text(await c.cmd('EXPN staff')), /^502 5\.5\.1 /);
    assert.match(text(await c.cmd('HELP')), /^214 2\.0\.0 /);
    assert.match(text(await c.cmd('NOOP')), /^250 2\.0\.0 /);
    assert.match(text(await c.cmd('RSET')), /^250 2\.0\.0 /);
    assert.match(text(await c.cmd('QUIT')), /^221 2\.0\.0 /);
    await c.waitClosed();
  });

  test('too many errors: 421 4.7.0 and the connection closes', async () => {
    const c = await client('127.0.0.2');
    for (let i = 0; i < 4; i++) assert.equal((await c.cmd(`BOGUS${i}`)).code, 500);
    const last = await c.cmd('BOGUS5');
    assert.equal(last.code, 500);
    assert.match(text(await c.read()), /^421 4\.7\.0 /);
    await c.waitClosed();
  });

  test('an over-long command line gets 500 5.5.2; a flood without CRLF is cut off', async () => {
    const c = await client('127.0.0.2');
    assert.match(text(await c.cmd('NOOP ' + 'x'.repeat(600))), /^500 5\.5\.2 Line too long/);
    c.write(Buffer.alloc(64 * 1024, 0x41));
    let r;
    do r = await c.read();
    while (r && r.code === 500);
    assert.match(text(r), /^500 5\.5\.2 Line too long; closing|^421 4\.7\.0 |\(closed\)/);
    await c.waitClosed();
    // The server is still serving everyone else.
    const d = await client();
    assert.equal((await d.cmd('NOOP')).code, 250);
    d.close();
  });
});

describe('relay policy', () => {
  test('an untrusted client may not relay; relay-domain and relay-address are accepted', async () => {
    const c = await client('127.0.0.2');
    await ehlo(c);
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    assert.match(text(await c.cmd('RCPT TO:<victim@example.com>')), /^550 5\.7\.1 Relaying denied/);
    assert.match(text(await c.cmd('RCPT TO:<bounce+x@bounces.example.test>')), /^250 2\.1\.5 /);
    assert.match(text(await c.cmd('RCPT TO:<abuse@fbl.example.test>')), /^250 2\.1\.5 /);
    assert.match(text(await c.cmd('RCPT TO:<unsub-42@lists.example.test>')), /^250 2\.1\.5 /);
    assert.match(text(await c.cmd('RCPT TO:<unsub-x@lists.example.test>')), /^550 5\.7\.1 /);
    assert.match(text(await c.cmd('RCPT TO:<postmaster>')), /^250 2\.1\.5 /);
    c.close();
  });

  test('routing tricks in the address never open a relay', async () => {
    const c = await client('127.0.0.2');
    await ehlo(c);
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    const tricks = [
      'RCPT TO:<victim%example.com@bounces.example.test.evil.example>',
      'RCPT TO:<"victim@example.com"@evil.example>',
      'RCPT TO:<@bounces.example.test:victim@example.com>',
      'RCPT TO:<example.com!victim@evil.example>',
      'RCPT TO:<victim@EXAMPLE.COM.>',
      'RCPT TO:<victim@[192.0.2.1]>',
    ];
    for (const t of tricks) {
      const r = await c.cmd(t);
      assert.notEqual(r.code, 250, `${t} must not be accepted: ${text(r)}`);
    }
    // The same tricks pointed AT a relay domain are judged by their real domain: accepted.
    assert.equal((await c.cmd('RCPT TO:<victim%example.com@bounces.example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<"a@example.com"@BOUNCES.example.test.>')).code, 250);
    c.close();
  });

  test('require-auth refuses unauthenticated mail at MAIL', async () => {
    const c = await client('127.0.0.6');
    await ehlo(c);
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test>')), /^530 5\.7\.0 /);
    c.close();
  });
});

describe('message intake', () => {
  test('DATA: 250 only with an id, the message is in the spool with Received and Message-ID', async () => {
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<alice@example.test> RET=HDRS ENVID=env42');
    await c.cmd('RCPT TO:<bob@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.com');
    assert.equal((await c.cmd('DATA')).code, 354);
    c.write('Subject: hello\r\nX-Job: job-7\r\nX-Virtual-MTA: vm1\r\n\r\n..leading dot\r\nbody line\r\n.\r\n');
    const r = await c.read();
    assert.match(text(r), /^250 2\.0\.0 Ok: queued as /);
    const id = queuedId(r!);
    const info = await petrel.mta.spool.getMessage(id);
    assert.ok(info, 'message in the spool');
    assert.equal(info.envelope.mailFrom, 'alice@example.test');
    assert.equal(info.envelope.vmta, 'vm1');
    assert.equal(info.envelope.jobId, 'job-7');
    assert.equal(info.envelope.mailParams?.ret, 'HDRS');
    assert.equal(info.envelope.mailParams?.envid, 'env42');
    assert.equal(info.envelope.sourceIp, '127.0.0.1');
    assert.deepEqual(info.recipients[0]!.notify, ['FAILURE', 'DELAY']);
    assert.equal(info.recipients[0]!.orcpt, 'rfc822;bob@example.com');
    assert.equal(info.recipients[0]!.queue, 'example.com/vm1');
    const body = (await petrel.mta.spool.readBody(id)).toString('latin1');
    assert.match(body, /^Received: from client\.example\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.petrel\.test \(Petrel\) with ESMTP id \S+\r\n\tfor <bob@example\.com>; \w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000\r\n/);
    assert.match(body, /\r\nSubject: hello\r\n/);
    assert.doesNotMatch(body, /X-Virtual-MTA/i, 'X-Virtual-MTA is removed after reading');
    assert.doesNotMatch(body, /X-Job/i);
    assert.match(body, new RegExp(`\\r\\nMessage-ID: <${id}@mx\\.petrel\\.test>\\r\\n`));
    assert.match(body, /\r\nDate: /);
    assert.match(body, /\r\n\r\n\.leading dot\r\nbody line\r\n$/, 'dot-unstuffed body, byte for byte');
    c.close();
  });

  test('pipelined MAIL, RCPT, RCPT, DATA and the body in one write: replies in order', async () => {
    const c = await client();
    await ehlo(c);
    c.write('MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n');
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 354);
    c.write('Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n');
    const id = queuedId((await c.read())!);
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 354);
    c.write('\r\nsecond\r\n.\r\nQUIT\r\n');
    assert.equal((await c.read())!.code, 250);
    assert.equal((await c.read())!.code, 221);
    const info = await petrel.mta.spool.getMessage(id);
    assert.deepEqual(info!.recipients.map((r) => r.queue).sort(), ['example.com/{default}', 'example.org/{default}']);
  });

  test('BDAT: chunks make one message, byte for byte; 250 for each chunk', async () => {
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<a@example.test> BODY=8BITMIME');
    await c.cmd('RCPT TO:<b@example.com>');
    const part1 = 'Subject: chunked\r\n\r\nfirst part with a lone\nLF is fine in BDAT, ';
    const part2 = 'and .\r\n. dots are not stuffed\r\n';
    c.write(`BDAT ${Buffer.byteLength(part1)}\r\n${part1}`);
    assert.match(text(await c.read()), /^250 2\.0\.0 /);
    c.write(`BDAT ${Buffer.byteLength(part2)} LAST\r\n${part2}`);
    const r = await c.read();
    const id = queuedId(r!);
    const body = (await petrel.mta.spool.readBody(id)).toString('latin1');
    assert.match(body, /\r\nSubject: chunked\r\n/);
    assert.ok(body.endsWith(`\r\nMessage-ID: <${id}@mx.petrel.test>\r\n\r\nfirst part with a lone\nLF is fine in BDAT, and .\r\n. dots are not stuffed\r\n`), body);
    // After the LAST chunk the transaction is over: another BDAT is out of sequence (its chunk is still read).
    c.write('BDAT 5 LAST\r\nhello');
    assert.match(text(await c.read()), /^503 5\.5\.1 /);
    c.close();
  });

  test('BDAT without MAIL: the chunk is read, then 503, and the session goes on', async () => {
    const c = await client();
    await ehlo(c);
    c.write('BDAT 10\r\n0123456789NOOP\r\n');
    assert.match(text(await c.read()), /^503 5\.5\.1 /);
    assert.equal((await c.read())!.code, 250);
    c.close();
  });

  test('a bare LF in DATA is refused (SMTP smuggling) and nothing is stored', async () => {
    const before = petrel.mta.spool.stats().messages;
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<a@example.test>');
    await c.cmd('RCPT TO:<b@example.com>');
    await c.cmd('DATA');
    c.write('Subject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@example.test>\r\n.\r\n');
    assert.match(text(await c.read()), /^550 5\.5\.2 .*bare <LF>/);
    await c.waitClosed();
    assert.equal(petrel.mta.spool.stats().messages, before);
  });

  test('a text line over 998 octets: 554 5.6.0; the session continues', async () => {
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<a@example.test>');
    await c.cmd('RCPT TO:<b@example.com>');
    await c.cmd('DATA');
    c.write(`Subject: long\r\n\r\n${'y'.repeat(1200)}\r\n.\r\n`);
    assert.match(text(await c.read()), /^554 5\.6\.0 /);
    assert.equal((await c.cmd('NOOP')).code, 250);
    c.close();
  });

  test('max-message-size: 552 5.3.4 at MAIL for a declared SIZE, and after DATA', async () => {
    const c = await client();
    await ehlo(c);
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test> SIZE=5000000')), /^552 5\.3\.4 /);
    await c.cmd('MAIL FROM:<a@example.test>');
    await c.cmd('RCPT TO:<b@example.com>');
    await c.cmd('DATA');
    const line = 'z'.repeat(900) + '\r\n';
    c.write('Subject: big\r\n\r\n' + line.repeat(2500) + '.\r\n');
    assert.match(text(await c.read()), /^552 5\.3\.4 /);
    assert.equal((await c.cmd('NOOP')).code, 250);
    c.close();
  });

  test('max-rcpt-per-message: 452 4.5.3 past the limit', async () => {
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<a@example.test>');
    for (let i = 0; i < 3; i++) assert.equal((await c.cmd(`RCPT TO:<r${i}@example.com>`)).code, 250);
    assert.match(text(await c.cmd('RCPT TO:<r4@example.com>')), /^452 4\.5\.3 /);
    c.close();
  });

  test('SMTPUTF8: a UTF-8 recipient needs SMTPUTF8 on MAIL', async () => {
    const c = await client();
    await ehlo(c);
    await c.cmd('MAIL FROM:<a@example.test>');
    assert.match(text(await c.cmd('RCPT TO:<josé@exámple.com>')), /^553 5\.6\.7 /);
    await c.cmd('RSET');
    assert.equal((await c.cmd('MAIL FROM:<a@example.test> SMTPUTF8')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<josé@exámple.com>')).code, 250);
    c.close();
  });

  test('random bytes from a client never crash the server', async () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20; i++) {
      const c = await client('127.0.0.2');
      const junk = Buffer.from(Array.from({ length: 2000 }, () => Math.floor(rnd() * 256)));
      c.write(junk);
      c.write('\r\nQUIT\r\n');
      await c.waitClosed(15_000).catch(() => c.close());
    }
    const d = await client();
    assert.equal((await d.cmd('NOOP')).code, 250);
    d.close();
  });
});

test('log-commands and log-data: the dialogue and the data are logged for that source, without AUTH secrets', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
    log-commands yes
    log-data yes
    log-connections yes
</source>
`);
  try {
    const c = await SmtpTestClient.connect(p.port);
    await c.read();
    await c.cmd('EHLO logged.example.test');
    await c.cmd('MAIL FROM:<a@example.test>');
    await c.cmd('RCPT TO:<b@example.com>');
    await c.cmd('DATA');
    c.write('Subject: visible in the log\r\n\r\nbody\r\n.\r\n');
    await c.read();
    await c.cmd('QUIT');
    await c.waitClosed();
    await new Promise((r) => setTimeout(r, 50));
    const lines = p.logLines.map((l) => JSON.parse(l) as Record<string, string>);
    assert.ok(lines.some((l) => l['msg'] === 'connection'));
    assert.ok(lines.some((l) => l['msg'] === 'command' && l['line'] === 'EHLO logged.example.test'));
    assert.ok(lines.some((l) => l['msg'] === 'data' && /Subject: visible in the log/.test(l['data'] ?? '')));
    assert.ok(lines.some((l) => l['msg'] === 'disconnect'));
  } finally {
    await p.stop();
  }
});
