/**
 * @module delivery/smtp-client-scripted.test
 *
 * The outbound client against small scripted servers on 127.0.0.1:0 that
 * answer each command as a test decides: per-recipient replies, refusals
 * after DATA, 421 at any point, HELO fallback, lock-step without
 * PIPELINING, SIZE and SMTPUTF8 checks, and hostile servers (silence,
 * endless or huge replies, garbage codes, resets at every step, broken
 * STARTTLS). Every test asserts the outcome of every recipient; none
 * asserts on time (short timeouts only bound how long a silent server costs).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { SmtpClient, SmtpClientError, DEFAULT_TIMEOUTS, type ClientOptions, type Transaction, type TransactionResult } from './smtp-client.js';

// --- a scripted server -------------------------------------------------------------

interface Conn {
  /** Command lines received, in order. */
  readonly lines: string[];
  /** Raw chunks received while in command mode (to see what was pipelined). */
  readonly chunks: string[];
  /** Bodies received (DATA: as on the wire up to and including the dot line; BDAT: the chunk). */
  readonly bodies: Buffer[];
  readonly socket: net.Socket;
}

/** What to answer: a reply string (raw, CRLF included), 'CLOSE' to reset, null for silence, undefined for the default. */
type Answer = string | null | undefined | 'CLOSE';

interface Script {
  /** Raw greeting; null = never greet. Default `220 fake ESMTP`. */
  readonly greeting?: string | null;
  /** EHLO keywords (default PIPELINING, 8BITMIME, DSN, SMTPUTF8, ENHANCEDSTATUSCODES). */
  readonly keywords?: readonly string[];
  on?(line: string, c: Conn, n: number): Answer;
  /** Reset the connection as soon as body bytes arrive. */
  readonly closeInData?: boolean;
  /** The reply to the end of data; default 250. */
  afterData?(body: Buffer, c: Conn): Answer;
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function fake(script: Script): Promise<{ port: number; conns: Conn[] }> {
  const conns: Conn[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    const c: Conn = { lines: [], chunks: [], bodies: [], socket };
    conns.push(c);
    let mode: 'cmd' | 'data' | { bdat: number; last: boolean } = 'cmd';
    let buf = Buffer.alloc(0);
    let n = 0;
    const send = (a: Answer, dflt: string): void => {
      if (a === null) return;
      if (a === 'CLOSE') {
        socket.destroy();
        return;
      }
      socket.write(a ?? dflt);
    };
    if (script.greeting !== null) socket.write(script.greeting ?? '220 fake.example ESMTP\r\n');
    const keywords = script.keywords ?? ['PIPELINING', '8BITMIME', 'DSN', 'SMTPUTF8', 'ENHANCEDSTATUSCODES'];
    socket.on('data', (chunk: Buffer) => {
      if (mode === 'cmd') c.chunks.push(chunk.toString('utf8'));
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (socket.destroyed) return;
        if (mode === 'data') {
          if (script.closeInData === true && buf.length > 0) {
            socket.destroy();
            return;
          }
          const end = buf.indexOf('\r\n.\r\n');
          const atStart = buf.subarray(0, 3).toString() === '.\r\n';
          if (end < 0 && !atStart) return;
          const len = atStart ? 3 : end + 5;
          const body = buf.subarray(0, len);
          buf = buf.subarray(len);
          c.bodies.push(Buffer.from(body));
          mode = 'cmd';
          send(script.afterData?.(body, c), '250 2.0.0 Ok: queued\r\n');
          continue;
        }
        if (typeof mode === 'object') {
          if (buf.length < mode.bdat) return;
          const body = buf.subarray(0, mode.bdat);
          buf = buf.subarray(mode.bdat);
          c.bodies.push(Buffer.from(body));
          mode = 'cmd';
          send(script.afterData?.(body, c), '250 2.0.0 Ok: chunk\r\n');
          continue;
        }
        const lf = buf.indexOf('\n');
        if (lf < 0) return;
        const line = buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        buf = buf.subarray(lf + 1);
        c.lines.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        const a = script.on?.(line, c, n++);
        if (verb === 'EHLO' && a === undefined) {
          const all = ['fake.example', ...keywords];
          socket.write(all.map((k, i) => `250${i === all.length - 1 ? ' ' : '-'}${k}\r\n`).join(''));
          continue;
        }
        if (verb === 'DATA' && a === undefined) {
          mode = 'data';
          socket.write('354 go ahead\r\n');
          continue;
        }
        if (verb === 'BDAT' && a === undefined) {
          mode = { bdat: Number(line.split(' ')[1]), last: /LAST$/i.test(line) };
          continue;
        }
        if (verb === 'QUIT' && a === undefined) {
          socket.end('221 2.0.0 bye\r\n');
          return;
        }
        send(a, verb === 'RCPT' ? '250 2.1.5 Ok\r\n' : '250 2.0.0 Ok\r\n');
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, conns };
}

const SHORT = { ...DEFAULT_TIMEOUTS, connect: 2000, greeting: 400, command: 400, dataSend: 400, dataTermination: 400 };

function opts(port: number, extra: Partial<ClientOptions> = {}): ClientOptions {
  return { host: '127.0.0.1', port, hostname: 'mx.fake.example', heloName: 'petrel.example.test', timeouts: { ...DEFAULT_TIMEOUTS, command: 5000 }, tls: { mode: 'none', verify: 'none' }, ...extra };
}

function tx(rcpts: string[], body = 'Subject: t\r\n\r\nhello\r\n', extra: Partial<Transaction> = {}): Transaction {
  return { from: 'sender@example.test', recipients: rcpts.map((address, i) => ({ id: `r${i}`, address })), body: Buffer.from(body), ...extra };
}

function summary(r: TransactionResult): string[] {
  return r.outcomes.map((o) => `${o.recipientId} ${o.kind} ${o.scope} ${o.reply.code}${o.reply.local ? ' local' : ''} ${o.reply.phase}`);
}

async function connectError(o: ClientOptions): Promise<SmtpClientError> {
  const e = await SmtpClient.connect(o).then(
    (c) => {
      c.close();
      return undefined;
    },
    (err: unknown) => err,
  );
  assert.ok(e instanceof SmtpClientError, `expected an SmtpClientError, got ${String(e)}`);
  return e;
}

// --- transactions --------------------------------------------------------------------

describe('recipient and message outcomes', () => {
  test('450 and 550 per RCPT: each recipient keeps its own reply; the accepted one is delivered', async () => {
    const { port, conns } = await fake({
      on: (l) => (/^RCPT TO:<busy@/.test(l) ? '450 4.2.1 Mailbox busy\r\n' : /^RCPT TO:<gone@/.test(l) ? '550 5.1.1 No such user\r\n' : undefined),
    });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['ok@x.example', 'busy@x.example', 'gone@x.example']));
    assert.deepEqual(summary(r), ['r0 delivered recipient 250 dot', 'r1 deferred recipient 450 rcpt', 'r2 bounced recipient 550 rcpt']);
    assert.equal(r.outcomes[2]!.reply.enhanced, '5.1.1');
    assert.equal(r.outcomes[2]!.reply.text, 'No such user');
    assert.equal(r.outcomes[0]!.reply.mta, 'mx.fake.example (127.0.0.1)');
    assert.equal(r.messageSent, true);
    // PIPELINING: MAIL, three RCPTs and DATA arrived in one chunk.
    assert.ok(conns[0]!.chunks.some((ch) => /^MAIL FROM:<sender@example\.test>.*\r\nRCPT TO:<ok@x\.example>\r\nRCPT TO:<busy@x\.example>\r\nRCPT TO:<gone@x\.example>\r\nDATA\r\n$/.test(ch)), conns[0]!.chunks.join('|'));
    assert.ok(c.usable);
    await c.quit();
  });

  test('every RCPT refused: no body is sent and the next message starts with RSET', async () => {
    const { port, conns } = await fake({ on: (l) => (/^RCPT/.test(l) ? '550 5.1.1 No\r\n' : /^DATA/.test(l) ? '554 5.5.1 No valid recipients\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@x.example', 'b@x.example']));
    assert.deepEqual(summary(r), ['r0 bounced recipient 550 rcpt', 'r1 bounced recipient 550 rcpt']);
    assert.equal(r.messageSent, false);
    assert.equal(conns[0]!.bodies.length, 0);
    assert.ok(c.usable);
    const r2 = await c.send(tx(['c@x.example']));
    assert.equal(r2.outcomes[0]!.kind, 'bounced');
    const i = conns[0]!.lines.indexOf('RSET');
    assert.ok(i > 0 && conns[0]!.lines[i + 1]!.startsWith('MAIL FROM:'), conns[0]!.lines.join('|'));
    await c.quit();
  });

  test('5xx and 4xx after the final dot: scope message for the accepted recipients only', async () => {
    let n = 0;
    const { port } = await fake({
      on: (l) => (/^RCPT TO:<bad@/.test(l) ? '550 5.1.1 No\r\n' : undefined),
      afterData: () => (n++ === 0 ? '554 5.7.1 Spam detected\r\n' : '451 4.3.0 Try later\r\n'),
    });
    const c = await SmtpClient.connect(opts(port));
    const r1 = await c.send(tx(['a@x.example', 'bad@x.example', 'b@x.example']));
    assert.deepEqual(summary(r1), ['r0 bounced message 554 dot', 'r1 bounced recipient 550 rcpt', 'r2 bounced message 554 dot']);
    assert.equal(r1.dataReply?.text, 'Spam detected');
    const r2 = await c.send(tx(['a@x.example']));
    assert.deepEqual(summary(r2), ['r0 deferred message 451 dot']);
    assert.ok(c.usable);
    await c.quit();
  });

  test('MAIL refused: 4xx defers and 5xx bounces every recipient, scope message', async () => {
    let n = 0;
    const { port } = await fake({ on: (l) => (/^MAIL/.test(l) ? (n++ === 0 ? '451 4.7.1 Greylisted\r\n' : '553 5.7.1 Sender rejected\r\n') : /^(RCPT|DATA)/.test(l) ? '503 5.5.1 need MAIL\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(port));
    assert.deepEqual(summary(await c.send(tx(['a@x.example', 'b@x.example']))), ['r0 deferred message 451 mail', 'r1 deferred message 451 mail']);
    assert.deepEqual(summary(await c.send(tx(['a@x.example']))), ['r0 bounced message 553 mail']);
    await c.quit();
  });

  test('DATA refused after accepted recipients: scope message', async () => {
    const { port } = await fake({ on: (l) => (/^DATA/.test(l) ? '451 4.3.2 Not now\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@x.example']));
    assert.deepEqual(summary(r), ['r0 deferred message 451 data']);
    assert.equal(r.messageSent, false);
    await c.quit();
  });

  test('421 in the middle of the RCPTs: the recipients still open are deferred with scope host', async () => {
    const { port } = await fake({
      on: (l, c) => {
        if (/^RCPT TO:<gone@/.test(l)) return '550 5.1.1 No\r\n';
        if (/^RCPT TO:<c@/.test(l)) {
          c.socket.end('421 4.3.2 Shutting down\r\n');
          return null;
        }
        return undefined;
      },
    });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@x.example', 'gone@x.example', 'c@x.example', 'd@x.example']));
    assert.deepEqual(summary(r), ['r0 deferred host 421 rcpt', 'r1 bounced recipient 550 rcpt', 'r2 deferred host 421 rcpt', 'r3 deferred host 421 rcpt']);
    assert.equal(r.error?.code, 'SERVICE_UNAVAILABLE');
    assert.equal(c.usable, false);
    const again = await c.send(tx(['e@x.example']));
    assert.deepEqual(summary(again), ['r0 deferred host 451 local mail']);
  });

  test('421 at the greeting and a 554 greeting', async () => {
    const a = await fake({ greeting: '421 4.3.2 Too busy\r\n' });
    const e1 = await connectError(opts(a.port));
    assert.equal(e1.code, 'SERVICE_UNAVAILABLE');
    assert.equal(e1.kind, 'deferred');
    assert.equal(e1.scope, 'host');
    assert.equal(e1.reply.code, 421);
    assert.equal(e1.reply.phase, 'greeting');
    const b = await fake({ greeting: '554 5.7.1 Go away\r\n' });
    const e2 = await connectError(opts(b.port));
    assert.equal(e2.code, 'REMOTE_REJECTED');
    assert.equal(e2.kind, 'bounced', 'bounce-upon-5xx-greeting');
  });

  test('EHLO 5xx → HELO; no extensions are then used (lock-step, no parameters)', async () => {
    const { port, conns } = await fake({ on: (l) => (/^EHLO/.test(l) ? '502 5.5.2 What?\r\n' : /^HELO/.test(l) ? '250 fake.example\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(port));
    assert.equal(c.esmtpKeywords, '');
    const r = await c.send(tx(['a@x.example', 'b@x.example'], 'Subject: \u00e9t\u00e9\r\n\r\nx\r\n', { params: { ret: 'HDRS', envid: 'e1' } }));
    assert.deepEqual(summary(r), ['r0 delivered recipient 250 dot', 'r1 delivered recipient 250 dot']);
    const lines = conns[0]!.lines;
    assert.deepEqual(lines.slice(0, 6), ['EHLO petrel.example.test', 'HELO petrel.example.test', 'MAIL FROM:<sender@example.test>', 'RCPT TO:<a@x.example>', 'RCPT TO:<b@x.example>', 'DATA']);
    // Lock-step: each command in its own chunk.
    assert.ok(conns[0]!.chunks.every((ch) => ch.split('\r\n').filter(Boolean).length === 1 || !/^(MAIL|RCPT)/.test(ch)), conns[0]!.chunks.join('|'));
    await c.quit();
  });

  test('no PIPELINING: lock-step, one command per write; dot-stuffing and CRLF repair on the wire', async () => {
    const { port, conns } = await fake({ keywords: ['SIZE 100000', 'DSN', '8BITMIME'] });
    const c = await SmtpClient.connect(opts(port));
    const body = 'Subject: dots\r\n\r\n.leading\r\nbare\nlf\r\n..two\r\nend';
    const r = await c.send({
      from: 'sender@example.test',
      params: { ret: 'HDRS', envid: 'env 1' },
      recipients: [{ id: 'r0', address: 'a@x.example', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;a@x.example' }],
      body: Buffer.from(body),
    });
    assert.deepEqual(summary(r), ['r0 delivered recipient 250 dot']);
    const cmds = conns[0]!.chunks.filter((ch) => /^(MAIL|RCPT|DATA)/.test(ch));
    assert.deepEqual(cmds, [
      `MAIL FROM:<sender@example.test> SIZE=${Buffer.byteLength(body)} RET=HDRS ENVID=env+201\r\n`,
      'RCPT TO:<a@x.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@x.example\r\n',
      'DATA\r\n',
    ]);
    assert.equal(conns[0]!.bodies[0]!.toString(), 'Subject: dots\r\n\r\n..leading\r\nbare\r\nlf\r\n...two\r\nend\r\n.\r\n');
    await c.quit();
  });

  test('ignore-pipelining, ignore-dsn, ignore-8bitmime are honoured', async () => {
    const { port, conns } = await fake({});
    const c = await SmtpClient.connect(opts(port, { ignore: { pipelining: true, dsn: true, eightBitMime: true } }));
    assert.equal(c.extensions.pipelining, false);
    await c.send({ from: 's@example.test', params: { ret: 'FULL' }, recipients: [{ id: 'r0', address: 'a@x.example', notify: ['NEVER'] }], body: Buffer.from('Subject: \u00fc\r\n\r\n\u00fc\r\n') });
    assert.deepEqual(conns[0]!.lines.slice(1, 3), ['MAIL FROM:<s@example.test>', 'RCPT TO:<a@x.example>']);
    await c.quit();
  });

  test('SIZE limit below the message size: 552 5.3.4 for all, nothing sent', async () => {
    const { port, conns } = await fake({ keywords: ['PIPELINING', 'SIZE 1000'] });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@x.example', 'b@x.example'], 'Subject: big\r\n\r\n' + 'x'.repeat(2000) + '\r\n'));
    assert.deepEqual(summary(r), ['r0 bounced message 552 local mail', 'r1 bounced message 552 local mail']);
    assert.equal(r.outcomes[0]!.reply.enhanced, '5.3.4');
    assert.ok(!conns[0]!.lines.some((l) => l.startsWith('MAIL')));
    assert.ok(c.usable);
    await c.quit();
  });

  test('SMTPUTF8: a UTF-8 mailbox to a server without it bounces (553 5.6.7); U-label domains go as A-labels', async () => {
    const { port, conns } = await fake({ keywords: ['PIPELINING', '8BITMIME'] });
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['jos\u00e9@x.example', 'b@x.example']));
    assert.deepEqual(summary(r), ['r0 bounced message 553 local mail', 'r1 bounced message 553 local mail']);
    assert.equal(r.outcomes[0]!.reply.enhanced, '5.6.7');
    const r2 = await c.send(tx(['b@b\u00fccher.example']));
    assert.equal(r2.outcomes[0]!.kind, 'delivered');
    assert.ok(conns[0]!.lines.includes('RCPT TO:<b@xn--bcher-kva.example>'), conns[0]!.lines.join('|'));
    await c.quit();
    // A server with SMTPUTF8 gets the parameter and the UTF-8 address.
    const u = await fake({});
    const c2 = await SmtpClient.connect(opts(u.port));
    const r3 = await c2.send(tx(['jos\u00e9@x.example']));
    assert.equal(r3.outcomes[0]!.kind, 'delivered');
    assert.ok(u.conns[0]!.lines.some((l) => /^MAIL FROM:<sender@example\.test> BODY=8BITMIME SMTPUTF8$|^MAIL FROM:<sender@example\.test> SMTPUTF8$/.test(l)), u.conns[0]!.lines.join('|'));
    assert.ok(u.conns[0]!.lines.includes('RCPT TO:<jos\u00e9@x.example>'));
    await c2.quit();
  });

  test('an address with CR/LF is never written (no command injection)', async () => {
    const { port, conns } = await fake({});
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@x.example>\r\nRCPT TO:<evil@x.example', 'b@x.example']));
    assert.deepEqual(summary(r), ['r0 bounced recipient 553 local rcpt', 'r1 delivered recipient 250 dot']);
    assert.ok(!conns[0]!.lines.some((l) => l.includes('evil')));
    await c.quit();
  });

  test('CHUNKING: BDAT n LAST carries the body unstuffed; 8-bit body declared', async () => {
    const { port, conns } = await fake({ keywords: ['PIPELINING', 'CHUNKING', '8BITMIME'] });
    const c = await SmtpClient.connect(opts(port));
    const body = 'Subject: \u00e9\r\n\r\n.not stuffed\r\n';
    const r = await c.send(tx(['a@x.example'], body));
    assert.deepEqual(summary(r), ['r0 delivered recipient 250 bdat']);
    assert.equal(conns[0]!.bodies[0]!.toString('utf8'), body);
    assert.ok(conns[0]!.lines.includes(`BDAT ${Buffer.byteLength(body)} LAST`));
    assert.ok(conns[0]!.lines.includes('MAIL FROM:<sender@example.test> BODY=8BITMIME'));
    assert.ok(!conns[0]!.lines.includes('DATA'));
    await c.quit();
  });
});

// --- hostile servers ------------------------------------------------------------------

describe('hostile servers: the right deferral, never a hang, never a false delivery', () => {
  test('a server that never greets: GREETING_TIMEOUT', async () => {
    const { port } = await fake({ greeting: null });
    const e = await connectError(opts(port, { timeouts: SHORT }));
    assert.equal(e.code, 'GREETING_TIMEOUT');
    assert.deepEqual([e.kind, e.scope, e.reply.local, e.reply.phase], ['deferred', 'host', true, 'greeting']);
  });

  test('a server that stops answering after RCPT: COMMAND_TIMEOUT, all deferred', async () => {
    const { port } = await fake({ keywords: [], on: (l) => (/^RCPT/.test(l) ? null : undefined) });
    const c = await SmtpClient.connect(opts(port, { timeouts: SHORT }));
    const r = await c.send(tx(['a@x.example']));
    assert.deepEqual(summary(r), ['r0 deferred host 451 local rcpt']);
    assert.equal(r.error?.code, 'COMMAND_TIMEOUT');
    assert.equal(c.usable, false);
  });

  test('no reply to the final dot: DATA_TIMEOUT at phase dot, message was sent, nobody delivered', async () => {
    const { port } = await fake({ afterData: () => null });
    const c = await SmtpClient.connect(opts(port, { timeouts: SHORT }));
    const r = await c.send(tx(['a@x.example']));
    assert.deepEqual(summary(r), ['r0 deferred host 451 local dot']);
    assert.equal(r.error?.code, 'DATA_TIMEOUT');
    assert.equal(r.messageSent, true);
  });

  test('an endless multi-line reply and a 1 MB reply line: PROTOCOL_ERROR', async () => {
    const endless = await fake({
      on: (l, c) => {
        if (!/^MAIL/.test(l)) return undefined;
        const flood = '250-more\r\n'.repeat(200);
        c.socket.write(flood);
        return null;
      },
    });
    const c1 = await SmtpClient.connect(opts(endless.port, { timeouts: SHORT }));
    const r1 = await c1.send(tx(['a@x.example']));
    assert.deepEqual(summary(r1), ['r0 deferred host 451 local mail']);
    assert.equal(r1.error?.code, 'PROTOCOL_ERROR');
    assert.match(r1.outcomes[0]!.reply.text, /more than 100 lines/);

    const huge = await fake({ greeting: '220 ' + 'x'.repeat(1 << 20) + '\r\n' });
    const e = await connectError(opts(huge.port, { timeouts: SHORT }));
    assert.equal(e.code, 'PROTOCOL_ERROR');
    assert.match(e.reply.text, /longer than 4096 octets/);
  });

  test('garbage codes and mismatched multi-line codes: PROTOCOL_ERROR', async () => {
    const g = await fake({ on: (l) => (/^RCPT/.test(l) ? 'OK fine\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(g.port, { timeouts: SHORT }));
    const r = await c.send(tx(['a@x.example']));
    assert.equal(r.error?.code, 'PROTOCOL_ERROR');
    assert.equal(r.outcomes[0]!.kind, 'deferred');
    const m = await fake({ on: (l) => (/^EHLO/.test(l) ? '250-fake\r\n550 PIPELINING\r\n' : undefined) });
    assert.equal((await connectError(opts(m.port, { timeouts: SHORT }))).code, 'PROTOCOL_ERROR');
    const x = await fake({ greeting: '220 hi\r\n999 nope\r\n' });
    assert.equal((await connectError(opts(x.port, { timeouts: SHORT }))).code, 'PROTOCOL_ERROR');
  });

  test('a 421 while idle makes the session unusable; a send then defers with scope host', async () => {
    const { port, conns } = await fake({});
    const c = await SmtpClient.connect(opts(port));
    assert.ok(c.usable);
    conns[0]!.socket.end('421 4.4.2 Idle timeout\r\n');
    await new Promise<void>((resolve) => conns[0]!.socket.once('close', () => resolve()));
    for (let i = 0; i < 100 && c.usable; i++) await new Promise((r) => setImmediate(r));
    // Whether the 421 was read while idle (local 451) or as the reply to MAIL (421), nobody is delivered.
    const r = await c.send(tx(['a@x.example']));
    assert.ok(['r0 deferred host 451 local mail', 'r0 deferred host 421 mail'].includes(summary(r)[0]!), summary(r)[0]);
    assert.equal(c.usable, false);
  });

  test('an unsolicited extra reply is a PROTOCOL_ERROR, not a shifted reply', async () => {
    // Answers RCPT twice: a client that trusted reply order would misattribute the second.
    const { port } = await fake({ keywords: [], on: (l) => (/^RCPT/.test(l) ? '550 5.1.1 No\r\n250 2.1.5 Ok\r\n' : undefined) });
    const c = await SmtpClient.connect(opts(port, { timeouts: SHORT }));
    const r = await c.send(tx(['a@x.example', 'b@x.example']));
    assert.ok(r.outcomes.every((o) => o.kind !== 'delivered'), summary(r).join('|'));
  });

  test('a reset at each step of the dialogue: typed error or deferral, never delivered', async () => {
    const steps = ['GREETING', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'BODY', 'DOT'];
    for (const step of steps) {
      const { port } = await fake({
        greeting: step === 'GREETING' ? null : undefined,
        closeInData: step === 'BODY',
        on: (l) => (l.toUpperCase().startsWith(step) ? 'CLOSE' : undefined),
        afterData: () => 'CLOSE',
      });
      if (step === 'GREETING') {
        // The server closes as soon as it accepts.
        const s = servers[servers.length - 1]!;
        s.removeAllListeners('connection');
        s.on('connection', (sock: net.Socket) => sock.destroy());
      }
      const c = await SmtpClient.connect(opts(port, { timeouts: SHORT })).catch((e: unknown) => e);
      if (c instanceof SmtpClientError) {
        assert.ok(['CONNECTION_LOST', 'PROTOCOL_ERROR'].includes(c.code), `${step}: ${c.code}`);
        assert.equal(c.kind, 'deferred');
        continue;
      }
      assert.ok(c instanceof SmtpClient, `${step}: ${String(c)}`);
      const r = await c.send(tx(['a@x.example', 'b@x.example']));
      assert.deepEqual(r.outcomes.map((o) => `${o.kind} ${o.scope}`), ['deferred host', 'deferred host'], `${step}: ${summary(r).join('|')}`);
      assert.equal(r.error?.code, 'CONNECTION_LOST', step);
      assert.equal(c.usable, false);
    }
  });

  test('connection refused is typed (CONNECT_REFUSED, phase connect)', async () => {
    const s = net.createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const e = await connectError(opts(port));
    assert.equal(e.code, 'CONNECT_REFUSED');
    assert.equal(e.reply.phase, 'connect');
  });
});

// --- TLS policy without a working TLS server ---------------------------------------------

describe('TLS policy', () => {
  test('required TLS, no STARTTLS offered: TLS_REQUIRED_UNAVAILABLE and no MAIL sent', async () => {
    const { port, conns } = await fake({});
    const e = await connectError(opts(port, { tls: { mode: 'required', verify: 'none' } }));
    assert.equal(e.code, 'TLS_REQUIRED_UNAVAILABLE');
    assert.deepEqual([e.kind, e.scope, e.reply.enhanced], ['deferred', 'host', '4.7.4']);
    assert.ok(!conns[0]!.lines.some((l) => /^(MAIL|AUTH)/.test(l)));
  });

  test('required TLS, STARTTLS refused with 454: TLS_REQUIRED_UNAVAILABLE; opportunistic goes on in clear', async () => {
    const { port } = await fake({ keywords: ['PIPELINING', 'STARTTLS'], on: (l) => (l === 'STARTTLS' ? '454 4.7.0 TLS not available\r\n' : undefined) });
    assert.equal((await connectError(opts(port, { tls: { mode: 'required', verify: 'none' } }))).code, 'TLS_REQUIRED_UNAVAILABLE');
    const c = await SmtpClient.connect(opts(port, { tls: { mode: 'opportunistic', verify: 'none' } }));
    assert.equal(c.tls, undefined);
    assert.equal((await c.send(tx(['a@x.example']))).outcomes[0]!.kind, 'delivered');
    await c.quit();
  });

  test('STARTTLS offered but the handshake breaks: TLS_HANDSHAKE_FAILED in either mode', async () => {
    const { port } = await fake({
      keywords: ['STARTTLS'],
      on: (l, c) => {
        if (l !== 'STARTTLS') return undefined;
        c.socket.write('220 2.0.0 Ready\r\n');
        // Not a TLS server hello.
        c.socket.once('data', () => c.socket.end('this is not TLS\r\n'));
        return null;
      },
    });
    for (const mode of ['opportunistic', 'required'] as const) {
      const e = await connectError(opts(port, { tls: { mode, verify: 'none' }, timeouts: SHORT }));
      assert.equal(e.code, 'TLS_HANDSHAKE_FAILED', mode);
      assert.deepEqual([e.kind, e.scope], ['deferred', 'host']);
    }
  });

  test('bytes injected after the 220 to STARTTLS are refused (RFC 3207 §4.2)', async () => {
    const { port } = await fake({ keywords: ['STARTTLS'], on: (l) => (l === 'STARTTLS' ? '220 Ready\r\n250 injected\r\n' : undefined) });
    const e = await connectError(opts(port, { tls: { mode: 'opportunistic', verify: 'none' }, timeouts: SHORT }));
    assert.equal(e.code, 'PROTOCOL_ERROR');
  });

  test('AUTH to a server without AUTH, or PLAIN only in clear: AUTH_FAILED, scope queue, nothing sent', async () => {
    const a = await fake({});
    const e1 = await connectError(opts(a.port, { auth: { username: 'u', password: 'secret-pw' } }));
    assert.deepEqual([e1.code, e1.scope, e1.kind], ['AUTH_FAILED', 'queue', 'deferred']);
    const b = await fake({ keywords: ['AUTH PLAIN LOGIN'] });
    const e2 = await connectError(opts(b.port, { auth: { username: 'u', password: 'secret-pw' } }));
    assert.equal(e2.code, 'AUTH_FAILED');
    assert.match(e2.reply.text, /not used without TLS/);
    assert.ok(!b.conns[0]!.lines.some((l) => l.startsWith('AUTH')));
    assert.doesNotMatch(e2.message, /secret-pw/);
  });
});
