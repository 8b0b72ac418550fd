/**
 * @module delivery/smtp-client.test
 *
 * The outbound client against real receivers on loopback:
 *  - Petrel's own SMTP server (in-process, with a spool): pipelined DATA and
 *    BDAT land in the spool byte for byte; STARTTLS with verification
 *    against the self-signed certificate (and failures when the name or the
 *    trust anchor is wrong); AUTH PLAIN / LOGIN (under TLS) and CRAM-MD5 (in
 *    clear) to a port that requires AUTH; one connection reused for five
 *    messages with RSET.
 *  - Postfix's `smtp-sink`, spawned and killed by PID: plain and pipelined
 *    delivery, lock-step with `-p`, soft RCPT refusals with `-r rcpt`, and a
 *    hard refusal after the data with `-f .`.
 * Scripted hostile servers are in `smtp-client-scripted.test.ts`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { startPetrel, freePort, TLS_DIR, type RunningPetrel } from '../../test/harness/petrel.js';
import { SmtpClient, SmtpClientError, DEFAULT_TIMEOUTS, type ClientOptions, type Transaction, type TransactionResult } from './smtp-client.js';

const CONFIG = `
host-name mx.petrel.test
smtp-listener 127.0.0.1:{{PORT}}
smtp-listener 127.0.0.1:{{PORT2}} source=submission
smtp-server-tls-certificate {{TLS}}/mail.example.test.pem
<smtp-user carol>
    password "c4rol pass"
    source {auth}
</smtp-user>
<source {auth}>
    always-allow-relaying yes
</source>
<source submission>
    require-auth yes
</source>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<source 0/0>
    always-allow-relaying no
    allow-unencrypted-plain-auth no
</source>
`;

const SELF_SIGNED = fs.readFileSync(`${TLS_DIR}/mail.example.test.pem`);
const OTHER_CA = fs.readFileSync(`${TLS_DIR}/ca.crt`);

let petrel: RunningPetrel;
before(async () => {
  petrel = await startPetrel(CONFIG);
});
after(async () => {
  await petrel?.stop();
});

function opts(port: number, extra: Partial<ClientOptions> = {}): ClientOptions {
  return {
    host: '127.0.0.1',
    port,
    hostname: 'mail.example.test',
    heloName: 'out.petrel.example.test',
    timeouts: { ...DEFAULT_TIMEOUTS, connect: 5000, greeting: 10_000, command: 10_000, dataSend: 10_000, dataTermination: 20_000 },
    tls: { mode: 'none', verify: 'none' },
    ...extra,
  };
}

const BODY = 'From: <alice@example.test>\r\nTo: <bob@example.com>\r\nSubject: outbound\r\n\r\n.leading dot stays\r\n..two dots\r\nplain line\r\n';

function tx(rcpts: string[], body = BODY): Transaction {
  return { from: 'alice@example.test', recipients: rcpts.map((address, i) => ({ id: `r${i}`, address })), body: Buffer.from(body, 'utf8') };
}

function queuedId(r: TransactionResult): string {
  const m = /queued as (\S+)/.exec(r.dataReply?.text ?? '');
  assert.ok(m, `no id in ${JSON.stringify(r.dataReply)}`);
  return m[1]!;
}

/**
 * Petrel adds Received at the top and Date / Message-ID at the end of the
 * header when missing; everything else must be ours, byte for byte.
 */
function assertSameMessage(stored: string, sent: string): void {
  const split = (m: string): [string, string] => {
    const i = m.indexOf('\r\n\r\n');
    return [m.slice(0, i + 2), m.slice(i + 2)];
  };
  const [storedHead, storedBody] = split(stored);
  const [sentHead, sentBody] = split(sent);
  assert.equal(storedBody, sentBody);
  assert.ok(storedHead.includes(sentHead), stored);
}

async function assertSpooled(r: TransactionResult, body: string, rcpts: string[]): Promise<void> {
  assert.ok(r.outcomes.every((o) => o.kind === 'delivered'), JSON.stringify(r.outcomes));
  const id = queuedId(r);
  const info = await petrel.mta.spool.getMessage(id);
  assert.ok(info, 'message in the spool');
  assert.equal(info.envelope.mailFrom, 'alice@example.test');
  assert.deepEqual(info.recipients.map((x) => x.address).sort(), [...rcpts].sort());
  assertSameMessage((await petrel.mta.spool.readBody(id)).toString('utf8'), body);
}

describe('against Petrel', () => {
  test('pipelined DATA to three recipients lands in the spool byte for byte; facts recorded', async () => {
    const c = await SmtpClient.connect(opts(petrel.port, { ignore: { chunking: true } }));
    assert.equal(c.extensions.pipelining, true);
    assert.equal(c.extensions.chunking, false);
    assert.match(c.esmtpKeywords, /(^|,)PIPELINING(,|$)/);
    const rcpts = ['bob@example.com', 'carol@example.org', 'dave@example.net'];
    const r = await c.send(tx(rcpts));
    assert.equal(r.dataReply?.phase, 'dot');
    await assertSpooled(r, BODY, rcpts);
    const facts = r.outcomes[0]!.delivery!;
    assert.equal(facts.sourceIp, '127.0.0.1');
    assert.equal(facts.destinationIp, '127.0.0.1');
    assert.equal(facts.size, Buffer.byteLength(BODY));
    assert.equal(facts.esmtpAvailable, c.esmtpKeywords);
    await c.quit();
    assert.equal(c.usable, false);
  });

  test('BDAT: the body goes unstuffed in one chunk and is stored byte for byte; 8-bit declared', async () => {
    const c = await SmtpClient.connect(opts(petrel.port));
    assert.equal(c.extensions.chunking, true);
    const body = BODY.replace('plain line', 'caf\u00e9 \u2014 8-bit');
    const rcpts = ['bob@example.com', 'erin@example.com'];
    const r = await c.send(tx(rcpts, body));
    assert.equal(r.dataReply?.phase, 'bdat');
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    const id = queuedId(r);
    assertSameMessage((await petrel.mta.spool.readBody(id)).toString('utf8'), body);
    assert.equal((await petrel.mta.spool.getMessage(id))!.envelope.mailParams?.body, '8BITMIME');
    await c.quit();
  });

  test('one connection carries five messages with RSET between them', async () => {
    const c = await SmtpClient.connect(opts(petrel.port));
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      if (i > 0) await c.reset();
      const r = await c.send(tx([`user${i}@example.com`], BODY.replace('outbound', `outbound ${i}`)));
      assert.equal(r.outcomes[0]!.kind, 'delivered', JSON.stringify(r.outcomes[0]));
      ids.add(queuedId(r));
    }
    assert.equal(ids.size, 5);
    assert.equal(c.transactions, 5);
    assert.ok(c.usable);
    await c.quit();
  });

  test('a refused recipient and an accepted one in the same pipelined transaction', async () => {
    // Untrusted source address: relaying is refused per recipient (550 5.7.1).
    const c = await SmtpClient.connect(opts(petrel.port, { localAddress: '127.0.0.9' }));
    const r = await c.send({ from: 'x@example.test', recipients: [{ id: 'a', address: 'victim@example.com' }], body: Buffer.from('Subject: x\r\n\r\nx\r\n') });
    assert.deepEqual(r.outcomes.map((o) => `${o.kind} ${o.scope} ${o.reply.code} ${o.reply.enhanced}`), ['bounced recipient 550 5.7.1']);
    assert.equal(r.messageSent, false);
    assert.equal(c.localAddress, '127.0.0.9');
    await c.quit();
  });

  test('STARTTLS required, verify ca with the certificate itself as trust anchor: TLSv1.3 recorded', async () => {
    const c = await SmtpClient.connect(opts(petrel.port, { tls: { mode: 'required', verify: 'ca', ca: SELF_SIGNED } }));
    assert.ok(c.tls);
    assert.equal(c.tls.protocol, 'TLSv1.3');
    assert.equal(c.tls.verified, true);
    assert.match(c.tls.cipher, /^TLS_/);
    assert.ok(!c.capabilities.has('STARTTLS'), 'EHLO was repeated after TLS');
    const r = await c.send(tx(['bob@example.com']));
    await assertSpooled(r, BODY, ['bob@example.com']);
    assert.equal(r.outcomes[0]!.delivery?.tlsProtocol, 'TLSv1.3');
    await c.quit();
  });

  test('verification failures: wrong host name, untrusted CA, failing DANE hook → TLS_VERIFY_FAILED', async () => {
    const cases: Array<Partial<ClientOptions>> = [
      { hostname: 'other.example.test', tls: { mode: 'required', verify: 'ca', ca: SELF_SIGNED } },
      { tls: { mode: 'required', verify: 'ca', ca: OTHER_CA } },
      { tls: { mode: 'opportunistic', verify: 'dane', checkCertificate: () => 'no TLSA record matches' } },
    ];
    for (const extra of cases) {
      const e = await SmtpClient.connect(opts(petrel.port, extra)).then(
        (c) => (c.close(), undefined),
        (err: unknown) => err,
      );
      assert.ok(e instanceof SmtpClientError, String(e));
      assert.equal(e.code, 'TLS_VERIFY_FAILED', e.message);
      assert.deepEqual([e.kind, e.scope, e.reply.local], ['deferred', 'host', true]);
    }
    // The DANE hook passing: verified.
    const ok = await SmtpClient.connect(opts(petrel.port, { tls: { mode: 'required', verify: 'dane', checkCertificate: (cert) => (cert.subject?.CN === 'mail.example.test' ? undefined : 'wrong') } }));
    assert.equal(ok.tls?.verified, true);
    await ok.quit();
    // verify none: encrypted, not verified.
    const none = await SmtpClient.connect(opts(petrel.port, { tls: { mode: 'opportunistic', verify: 'none' } }));
    assert.deepEqual([none.tls?.protocol, none.tls?.verified], ['TLSv1.3', false]);
    await none.quit();
  });

  const AUTH_PORT = (): number => petrel.ports[1]!;

  test('the AUTH port refuses mail without AUTH (so the AUTH tests below can fail)', async () => {
    const c = await SmtpClient.connect(opts(AUTH_PORT()));
    const r = await c.send(tx(['bob@example.com']));
    assert.equal(r.outcomes[0]!.reply.code, 530);
    await c.quit();
  });

  // Each wrong-password attempt comes from its own address: Petrel's AUTH limiter slows repeat offenders down.
  const failFrom: Record<string, string> = { PLAIN: '127.0.0.21', LOGIN: '127.0.0.22', 'CRAM-MD5': '127.0.0.23' };
  for (const [mech, tlsMode] of [['PLAIN', 'required'], ['LOGIN', 'required'], ['CRAM-MD5', 'none']] as const) {
    test(`AUTH ${mech}${tlsMode === 'none' ? ' in clear' : ' under STARTTLS'} to a port that requires it`, async () => {
      const c = await SmtpClient.connect(
        opts(AUTH_PORT(), { tls: { mode: tlsMode, verify: 'none' }, auth: { username: 'carol', password: 'c4rol pass', mechanisms: [mech] } }),
      );
      const r = await c.send(tx(['bob@example.com']));
      await assertSpooled(r, BODY, ['bob@example.com']);
      await c.quit();
      const e = await SmtpClient.connect(opts(AUTH_PORT(), { localAddress: failFrom[mech], tls: { mode: tlsMode, verify: 'none' }, auth: { username: 'carol', password: 'wrong', mechanisms: [mech] } })).then(
        (x) => (x.close(), undefined),
        (err: unknown) => err,
      );
      assert.ok(e instanceof SmtpClientError, String(e));
      assert.deepEqual([e.code, e.scope, e.kind, e.reply.code], ['AUTH_FAILED', 'queue', 'deferred', 535]);
      assert.doesNotMatch(e.message, /wrong/);
    });
  }

  test('the best mechanism is chosen: CRAM-MD5 in clear, PLAIN under TLS', async () => {
    const clear = await SmtpClient.connect(opts(AUTH_PORT(), { auth: { username: 'carol', password: 'c4rol pass' } }));
    assert.equal((await clear.send(tx(['bob@example.com']))).outcomes[0]!.kind, 'delivered');
    await clear.quit();
    const secure = await SmtpClient.connect(opts(AUTH_PORT(), { tls: { mode: 'required', verify: 'none' }, auth: { username: 'carol', password: 'c4rol pass' } }));
    assert.equal((await secure.send(tx(['bob@example.com']))).outcomes[0]!.kind, 'delivered');
    await secure.quit();
    const logged = petrel.logLines.filter((l) => /auth ok/.test(l)).slice(-2).join('\n');
    assert.match(logged, /CRAM-MD5[\s\S]*PLAIN/, logged);
  });
});

// --- Postfix smtp-sink -------------------------------------------------------------------

const sinks: ChildProcess[] = [];
after(() => {
  for (const p of sinks) if (p.exitCode === null && p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
});

async function startSink(flags: string[]): Promise<number> {
  // A port found free can be taken again before smtp-sink binds it (other test files run at the same time):
  // when the sink exits at once, try another port.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn('/usr/sbin/smtp-sink', [...flags, '-u', 'nobody', `127.0.0.1:${port}`, '100'], { stdio: 'ignore' });
    sinks.push(child);
    let exited = false;
    child.once('exit', () => (exited = true));
    // Wait until it listens (bounded).
    for (let i = 0; i < 200 && !exited; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return port;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('smtp-sink did not start');
}

describe('against Postfix smtp-sink', { skip: !fs.existsSync('/usr/sbin/smtp-sink') && 'smtp-sink not installed (Debian package postfix)' }, () => {
  test('pipelined delivery to three recipients, then a second message on the same connection', async () => {
    const port = await startSink([]);
    const c = await SmtpClient.connect(opts(port, { hostname: 'sink.example.test' }));
    assert.equal(c.extensions.pipelining, true);
    const r = await c.send(tx(['a@example.com', 'b@example.com', 'c@example.com']));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['delivered', 'delivered', 'delivered']);
    assert.equal(r.outcomes[0]!.reply.mta, 'sink.example.test (127.0.0.1)');
    await c.reset();
    assert.equal((await c.send(tx(['d@example.com']))).outcomes[0]!.kind, 'delivered');
    await c.quit();
  });

  test('-p (no PIPELINING): lock-step delivery', async () => {
    const port = await startSink(['-p']);
    const c = await SmtpClient.connect(opts(port));
    assert.equal(c.extensions.pipelining, false);
    const r = await c.send(tx(['a@example.com', 'b@example.com']));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['delivered', 'delivered']);
    await c.quit();
  });

  test('-r rcpt: every RCPT soft-refused, nothing sent, recipients deferred (scope recipient)', async () => {
    const port = await startSink(['-r', 'rcpt']);
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@example.com', 'b@example.com']));
    assert.deepEqual(r.outcomes.map((o) => `${o.kind} ${o.scope} ${Math.floor(o.reply.code / 100)}`), ['deferred recipient 4', 'deferred recipient 4']);
    assert.equal(r.messageSent, false);
    assert.ok(c.usable);
    await c.quit();
  });

  test('-f .: the data is refused with 5xx → bounced, scope message', async () => {
    const port = await startSink(['-f', '.']);
    const c = await SmtpClient.connect(opts(port));
    const r = await c.send(tx(['a@example.com', 'b@example.com']));
    assert.deepEqual(r.outcomes.map((o) => `${o.kind} ${o.scope} ${o.reply.phase}`), ['bounced message dot', 'bounced message dot']);
    assert.equal(r.messageSent, true);
    await c.quit();
  });
});
