/**
 * Connection limits, timeouts, graceful stop and spool trouble, as a client
 * sees them: each ends in the right 4xx reply, and the server goes on
 * serving everyone else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { startPetrel } from '../harness/petrel.js';

async function greet(port: number, localAddress?: string): Promise<{ c: SmtpTestClient; code: number | undefined; line: string }> {
  const c = await SmtpTestClient.connect(port, '127.0.0.1', localAddress ? { localAddress } : {});
  const r = await c.read();
  return { c, code: r?.code, line: text(r) };
}

test('total-max-smtp-in and the per-IP max-smtp-in: 421 4.7.0 over the limit', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
total-max-smtp-in 4
<source 127.0.0.20>
    max-smtp-in 2
</source>
`);
  try {
    const a = await greet(p.port, '127.0.0.20');
    const b = await greet(p.port, '127.0.0.20');
    assert.equal(a.code, 220);
    assert.equal(b.code, 220);
    const third = await greet(p.port, '127.0.0.20');
    assert.match(third.line, /^421 4\.7\.0 .*Too many connections/);
    await third.c.waitClosed();
    // Another IP still gets in, up to the total.
    const d = await greet(p.port, '127.0.0.21');
    const e = await greet(p.port, '127.0.0.22');
    assert.equal(d.code, 220);
    assert.equal(e.code, 220);
    const f = await greet(p.port, '127.0.0.23');
    assert.match(f.line, /^421 4\.7\.0 /);
    // A slot frees when a client leaves.
    a.c.write('QUIT\r\n');
    await a.c.waitClosed();
    await new Promise((r) => setTimeout(r, 50));
    const g = await greet(p.port, '127.0.0.20');
    assert.equal(g.code, 220);
    for (const x of [b, d, e, g]) x.c.close();
  } finally {
    await p.stop();
  }
});

test('an idle client is dropped with 421 4.4.2 after the command timeout', async () => {
  const p = await startPetrel('smtp-listener 127.0.0.1:{{PORT}}\n', { timeouts: { command: 300, data: 300, tlsHandshake: 300 } });
  try {
    const { c } = await greet(p.port);
    assert.match(text(await c.read(5000)), /^421 4\.4\.2 /);
    await c.waitClosed();
  } finally {
    await p.stop();
  }
});

test('graceful stop: a transaction in progress finishes and is stored; idle and new clients get 421', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
`);
  const busy = await greet(p.port);
  const idle = await greet(p.port);
  await busy.c.cmd('EHLO x');
  await busy.c.cmd('MAIL FROM:<a@example.test>');
  await busy.c.cmd('RCPT TO:<b@example.com>');
  assert.equal((await busy.c.cmd('DATA')).code, 354);
  busy.c.write('Subject: in flight during shutdown\r\n\r\n');
  const stopping = p.mta.server.stop(5000);
  assert.match(text(await idle.c.read()), /^421 4\.3\.2 /);
  const late = await SmtpTestClient.connect(p.port);
  assert.match(text(await late.read()), /^421 4\.3\.2 /, 'a new client is told to come back later');
  await late.waitClosed();
  busy.c.write('the end\r\n.\r\n');
  const done = await busy.c.read();
  assert.match(text(done), /^250 2\.0\.0 Ok: queued as /);
  const id = /queued as (\S+)/.exec(done!.lines[0]!)![1]!;
  assert.match(text(await busy.c.cmd('MAIL FROM:<a@example.test>')), /^421 4\.3\.2 /, 'the next transaction is refused');
  await stopping;
  assert.ok(await p.mta.spool.getMessage(id), 'the message accepted during the stop is in the spool');
  await p.stop();
});

test('below min-free-space, new mail is refused with 452 4.3.1 at MAIL FROM', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
min-free-space 100000G
<source 127.0.0.1>
    always-allow-relaying yes
</source>
`);
  try {
    const { c } = await greet(p.port);
    await c.cmd('EHLO x');
    assert.match(text(await c.cmd('MAIL FROM:<a@example.test>')), /^452 4\.3\.1 /);
    assert.equal((await c.cmd('NOOP')).code, 250, 'the session goes on; the client retries later');
    c.close();
  } finally {
    await p.stop();
  }
});

test('a listener can carry its own <source> policy (source=NAME)', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
smtp-listener 127.0.0.1:{{PORT2}} source=inbound-bounces
relay-domain bounces.example.test
<source inbound-bounces>
    always-allow-relaying no
    max-message-size 1K
</source>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
`);
  try {
    const a = await greet(p.ports[0]!);
    await a.c.cmd('EHLO x');
    await a.c.cmd('MAIL FROM:<a@example.test>');
    assert.equal((await a.c.cmd('RCPT TO:<x@example.com>')).code, 250, 'loopback may relay on the first listener');
    const b = await greet(p.ports[1]!);
    const ehlo = await b.c.cmd('EHLO x');
    assert.ok(ehlo.lines.includes('SIZE 1024'), 'the listener source sets max-message-size');
    await b.c.cmd('MAIL FROM:<a@example.test>');
    assert.match(text(await b.c.cmd('RCPT TO:<x@example.com>')), /^550 5\.7\.1 /, 'the named source wins over the IP match');
    assert.equal((await b.c.cmd('RCPT TO:<x@bounces.example.test>')).code, 250);
    a.c.close();
    b.c.close();
  } finally {
    await p.stop();
  }
});
