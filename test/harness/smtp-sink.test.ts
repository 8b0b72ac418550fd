/**
 * @module test/harness/smtp-sink.test
 *
 * The SMTP sink, driven by real clients (nodemailer, swaks) and by the
 * scripted test client for pipelining and BDAT: what it records and what
 * it answers per recipient local part.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { SmtpSink, type SinkOptions } from './smtp-sink.js';
import { SmtpTestClient, text } from './smtp-client.js';

const CERT = fileURLToPath(new URL('../fixtures/tls/mail.example.test.pem', import.meta.url));
const sinks: SmtpSink[] = [];
after(async () => {
  await Promise.all(sinks.map((s) => s.stop()));
});

async function sink(opts: SinkOptions = {}): Promise<SmtpSink> {
  const s = await SmtpSink.start({ host: '127.0.0.2', ...opts });
  sinks.push(s);
  return s;
}

function transport(s: SmtpSink, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: false,
    ignoreTLS: true,
    tls: { rejectUnauthorized: false },
    connectionTimeout: 3000,
    greetingTimeout: 3000,
    socketTimeout: 3000,
    ...extra,
  });
}

/** Run swaks against the sink; resolves with its exit code and transcript. */
function swaks(s: SmtpSink, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'swaks',
      ['--server', `${s.host}:${s.port}`, '--from', 'a@example.com', '--timeout', '5', '--helo', 'client.example.com', ...args],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

test('nodemailer: accepted mail is recorded with envelope, dot-unstuffed body and the connecting address', async () => {
  const s = await sink();
  const info = await transport(s, { localAddress: '127.0.0.3', name: 'client.example.com' }).sendMail({
    envelope: { from: 'sender@example.com', to: ['accept-1@example.net', 'bob@example.net'] },
    from: 'sender@example.com',
    to: 'bob@example.net',
    subject: 'hello',
    text: 'line one\n.starts with a dot\n..two dots\nend\n',
  });
  assert.deepEqual(info.accepted, ['accept-1@example.net', 'bob@example.net']);
  assert.equal(s.messages.length, 1);
  const m = s.messages[0]!;
  assert.equal(m.from, 'sender@example.com');
  assert.deepEqual(
    m.recipients.map((r) => r.address),
    ['accept-1@example.net', 'bob@example.net'],
  );
  assert.equal(m.remoteAddress, '127.0.0.3');
  assert.equal(m.helo, 'client.example.com');
  assert.equal(m.via, 'DATA');
  assert.equal(m.tls, false);
  const body = m.body.toString('utf8');
  assert.match(body, /^Subject: hello\r$/m);
  assert.match(body, /\r\n\.starts with a dot\r\n\.\.two dots\r\nend\r\n$/);
  assert.equal(s.connections[0]!.remoteAddress, '127.0.0.3');
  assert.equal(s.connections[0]!.localPort, s.port);
});

test('nodemailer: 550 and 450 recipients get their codes, the rest is delivered to the accepted ones only', async () => {
  const s = await sink();
  const info = await transport(s).sendMail({
    envelope: { from: 'a@example.com', to: ['ok@example.net', '550-nobody@example.net', '450-busy@example.net'] },
    raw: 'Subject: x\r\n\r\nbody\r\n',
  });
  assert.deepEqual(info.accepted, ['ok@example.net']);
  const codes = Object.fromEntries(
    (info.rejectedErrors ?? []).map((e: { recipient?: string; responseCode?: number; response?: string }) => [e.recipient, e.response]),
  );
  assert.match(String(codes['550-nobody@example.net']), /^550 5\.1\.1 <550-nobody@example\.net>: User unknown/);
  assert.match(String(codes['450-busy@example.net']), /^450 4\.2\.0 Mailbox busy/);
  assert.deepEqual(
    s.messages[0]!.recipients.map((r) => r.address),
    ['ok@example.net'],
  );
});

test('swaks: a 550 recipient is refused and nothing is recorded; a plain one is accepted', async () => {
  const s = await sink();
  const refused = await swaks(s, ['--to', '550-x@example.com']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.out, /<\*\* 550 5\.1\.1 <550-x@example\.com>: User unknown/);
  assert.equal(s.messages.length, 0);
  const ok = await swaks(s, ['--to', 'y@example.com', '--body', 'hi there']);
  assert.equal(ok.code, 0, ok.out);
  await s.waitForMessages(1);
  assert.equal(s.messages[0]!.recipients[0]!.address, 'y@example.com');
  assert.match(s.messages[0]!.body.toString(), /hi there/);
});

test('STARTTLS with the test certificate: nodemailer and swaks deliver over TLS, and it is recorded', async () => {
  const s = await sink({ tls: { cert: CERT }, requireTls: true });
  await transport(s, { ignoreTLS: false, requireTLS: true }).sendMail({
    envelope: { from: 'a@example.com', to: ['t@example.net'] },
    raw: 'Subject: tls\r\n\r\nsecret\r\n',
  });
  const viaSwaks = await swaks(s, ['--to', 'u@example.net', '--tls']);
  assert.equal(viaSwaks.code, 0, viaSwaks.out);
  await s.waitForMessages(2);
  assert.deepEqual(
    s.messages.map((m) => m.tls),
    [true, true],
  );
  assert.match(s.connections[0]!.tls!.protocol, /^TLSv1\.[23]$/);
  assert.ok(s.connections[0]!.tls!.cipher.length > 0);
  assert.equal(s.connections[0]!.helo, s.messages[0]!.helo, 'EHLO again after TLS is what is kept');
});

test('requireTls refuses MAIL before STARTTLS with 530', async () => {
  const s = await sink({ tls: { cert: CERT }, requireTls: true });
  await assert.rejects(
    transport(s).sendMail({ envelope: { from: 'a@example.com', to: ['t@example.net'] }, raw: 'x\r\n' }),
    (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 530);
      assert.match(String(err.response), /5\.7\.0 Must issue a STARTTLS command first/);
      return true;
    },
  );
  assert.equal(s.messages.length, 0);
});

test('AUTH PLAIN, LOGIN and CRAM-MD5 succeed with the right password and fail with 535 otherwise', async () => {
  const s = await sink({ auth: { username: 'alice', password: 's3cret' } });
  for (const authMethod of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
    await transport(s, { auth: { user: 'alice', pass: 's3cret' }, authMethod }).sendMail({
      envelope: { from: 'a@example.com', to: ['t@example.net'] },
      raw: `Subject: ${authMethod}\r\n\r\nx\r\n`,
    });
  }
  assert.deepEqual(
    s.messages.map((m) => m.authUser),
    ['alice', 'alice', 'alice'],
  );
  const crammed = await swaks(s, ['--to', 'v@example.net', '--auth', 'CRAM-MD5', '--auth-user', 'alice', '--auth-password', 's3cret']);
  assert.equal(crammed.code, 0, crammed.out);
  await assert.rejects(
    transport(s, { auth: { user: 'alice', pass: 'wrong' }, authMethod: 'PLAIN' }).sendMail({
      envelope: { from: 'a@example.com', to: ['t@example.net'] },
      raw: 'x\r\n',
    }),
    (err: { responseCode?: number }) => err.responseCode === 535,
  );
  assert.equal(s.messages.length, 4);
});

test('disconnect-in-data cuts the connection during DATA and nothing is recorded', async () => {
  const s = await sink();
  await assert.rejects(
    transport(s).sendMail({
      envelope: { from: 'a@example.com', to: ['ok@example.net', 'disconnect-in-data@example.net'] },
      raw: 'Subject: cut\r\n\r\n' + 'x'.repeat(100_000) + '\r\n',
    }),
    (err: { code?: string }) => err.code === 'ECONNECTION' || err.code === 'ESOCKET', // FIN or RST, by timing
  );
  assert.equal(s.messages.length, 0);
  assert.equal(s.connections.length, 1);
});

test('data550 and data451 refuse after the data; 421-rcpt answers 421 and closes', async () => {
  const s = await sink();
  for (const [local, code] of [['data550-x', 550], ['data451-x', 451]] as const) {
    await assert.rejects(
      transport(s).sendMail({ envelope: { from: 'a@example.com', to: [`ok@example.net`, `${local}@example.net`] }, raw: 'x\r\n' }),
      (err: { responseCode?: number }) => err.responseCode === code,
    );
  }
  const c = await SmtpTestClient.connect(s.port, s.host);
  assert.equal((await c.read())?.code, 220);
  assert.equal((await c.cmd('EHLO c.example')).code, 250);
  assert.equal((await c.cmd('MAIL FROM:<a@example.com>')).code, 250);
  assert.match(text(await c.cmd('RCPT TO:<421-rcpt@example.net>')), /^421 4\.7\.0 /);
  await c.waitClosed();
  assert.equal(s.messages.length, 0);
});

test('a pipelined batch gets its replies in order, and BDAT chunks are joined into one message', async () => {
  const s = await sink();
  const c = await SmtpTestClient.connect(s.port, s.host);
  assert.equal((await c.read())?.code, 220);
  const ehlo = await c.cmd('EHLO c.example');
  for (const ext of ['PIPELINING', 'CHUNKING', 'SMTPUTF8', 'DSN', '8BITMIME', 'ENHANCEDSTATUSCODES']) {
    assert.ok(ehlo.lines.includes(ext), `${ext} advertised`);
  }
  c.write(
    'MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<one@example.net> NOTIFY=NEVER\r\nRCPT TO:<452-full@example.net>\r\n' +
      'RCPT TO:<two@example.net>\r\nBDAT 6\r\nHello BDAT 8 LAST\r\n world\r\nNOOP\r\n',
  );
  const replies = [];
  for (let i = 0; i < 7; i++) replies.push((await c.read())?.code);
  assert.deepEqual(replies, [250, 250, 452, 250, 250, 250, 250]);
  const m = s.messages[0]!;
  assert.equal(m.via, 'BDAT');
  assert.equal(m.body.toString(), 'Hello  world\r\n');
  assert.deepEqual(m.mailParams, ['BODY=8BITMIME']);
  assert.deepEqual(m.recipients, [
    { address: 'one@example.net', params: ['NOTIFY=NEVER'] },
    { address: 'two@example.net', params: [] },
  ]);
  assert.equal((await c.cmd('QUIT')).code, 221);
  assert.deepEqual(s.connections[0]!.commands.slice(0, 2), ['EHLO c.example', 'MAIL FROM:<a@example.com> BODY=8BITMIME']);
});

test('EHLO refused: the client falls back to HELO and delivers; options switch extensions off', async () => {
  const s = await sink({ ehlo: 'fail' });
  await transport(s, { name: 'old.example.com' }).sendMail({ envelope: { from: 'a@example.com', to: ['t@example.net'] }, raw: 'x\r\n' });
  assert.equal(s.messages[0]!.helo, 'old.example.com');
  assert.ok(s.connections[0]!.commands.includes('HELO old.example.com'));

  const bare = await sink({ extensions: { pipelining: false, chunking: false, size: 1000 } });
  const c = await SmtpTestClient.connect(bare.port, bare.host);
  await c.read();
  const ehlo = await c.cmd('EHLO c.example');
  assert.ok(!ehlo.lines.includes('PIPELINING') && !ehlo.lines.includes('CHUNKING'));
  assert.ok(ehlo.lines.includes('SIZE 1000'));
  assert.match(text(await c.cmd('MAIL FROM:<a@example.com> SIZE=5000')), /^552 5\.3\.4/);
  c.close();
});

test('banners: 421 closes at once, 554 answers 503 to everything but QUIT', async () => {
  const busy = await sink({ banner: '421' });
  await assert.rejects(
    transport(busy).sendMail({ envelope: { from: 'a@example.com', to: ['t@example.net'] }, raw: 'x\r\n' }),
    (err: { responseCode?: number }) => err.responseCode === 421,
  );
  assert.equal(busy.messages.length, 0);
  const closed = await sink({ banner: '554' });
  const c = await SmtpTestClient.connect(closed.port, closed.host);
  assert.equal((await c.read())?.code, 554);
  assert.equal((await c.cmd('EHLO c.example')).code, 503);
  assert.equal((await c.cmd('QUIT')).code, 221);
});

test('slow-N still delivers; noreply-in-data never answers the final dot', async () => {
  const s = await sink();
  await transport(s).sendMail({ envelope: { from: 'a@example.com', to: ['slow-200@example.net'] }, raw: 'x\r\n' });
  assert.equal(s.messages.length, 1);
  await assert.rejects(
    transport(s, { socketTimeout: 400 }).sendMail({ envelope: { from: 'a@example.com', to: ['noreply-in-data@example.net'] }, raw: 'x\r\n' }),
    (err: { code?: string }) => err.code === 'ETIMEDOUT',
  );
  assert.equal(s.messages.length, 1);
});

test('banner "none" never greets (the client times out); "slow" greets late and then works', async () => {
  const silent = await sink({ banner: 'none' });
  await assert.rejects(
    transport(silent, { greetingTimeout: 300 }).sendMail({ envelope: { from: 'a@example.com', to: ['t@example.net'] }, raw: 'x\r\n' }),
    (err: { code?: string }) => err.code === 'ETIMEDOUT',
  );
  assert.equal(silent.connections.length, 1);
  const late = await sink({ banner: 'slow', bannerDelayMs: 50 });
  await transport(late).sendMail({ envelope: { from: 'a@example.com', to: ['t@example.net'] }, raw: 'x\r\n' });
  assert.equal(late.messages.length, 1);
});
