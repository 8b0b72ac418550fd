/**
 * Interoperability: Nodemailer's SMTP transports against Petrel — STARTTLS
 * with AUTH on the submission port, implicit TLS with AUTH, and a pooled
 * transport sending 20 messages over a few reused connections.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { TLS_DIR, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { INTEROP_CONFIG, firstReceived, headerOf, newMessages } from './config.js';

let petrel: RunningPetrel;
let submissionPort: number;
let implicitPort: number;
const CA = fs.readFileSync(path.join(TLS_DIR, 'mail.example.test.pem'));
/** Verifies the test certificate and its name, as a careful application would. */
const TLS = { ca: CA, servername: 'mail.example.test', rejectUnauthorized: true, minVersion: 'TLSv1.2' } as const;
const AUTH = { user: 'alice', pass: 's3cret pass' };

before(async () => {
  petrel = await startPetrel(INTEROP_CONFIG);
  [, submissionPort, implicitPort] = petrel.ports as [number, number, number];
});
after(async () => {
  await petrel?.stop();
});

function queuedId(response: string): string {
  const m = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(response);
  assert.ok(m, `unexpected final reply: ${response}`);
  return m[1]!;
}

/** Log entries Petrel wrote with the given message. */
function logEntries(msg: string): Array<Record<string, unknown>> {
  return petrel.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === msg);
}

describe('nodemailer', () => {
  for (const { name, secure, port } of [
    { name: 'STARTTLS (requireTLS) + AUTH on the submission port', secure: false, port: () => submissionPort },
    { name: 'implicit TLS (secure: true) + AUTH', secure: true, port: () => implicitPort },
  ]) {
    test(`${name}: sendMail() accepted and stored with the right envelope and Received`, async () => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: port(), secure, requireTLS: !secure, name: 'nodemailer.example.test', auth: AUTH, tls: TLS, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 15_000 });
      try {
        const info = await transport.sendMail({
          from: 'Alice <alice@example.test>',
          to: ['Carol <carol@example.com>', 'dave@example.org'],
          cc: 'x@bounces.example.test',
          subject: `nodemailer ${secure ? 'implicit' : 'starttls'}`,
          text: 'Hello from nodemailer.\n.a line starting with a dot\n',
        });
        assert.deepEqual([...info.accepted].sort(), ['carol@example.com', 'dave@example.org', 'x@bounces.example.test']);
        assert.deepEqual(info.rejected, []);
        const id = queuedId(info.response);
        const msg = await petrel.mta.spool.getMessage(id);
        assert.equal(msg?.envelope.mailFrom, 'alice@example.test');
        assert.deepEqual(msg?.recipients.map((r) => r.address).sort(), ['carol@example.com', 'dave@example.org', 'x@bounces.example.test']);
        assert.equal(msg?.envelope.authUser, 'alice');
        const header = await headerOf(petrel, id);
        const received = firstReceived(header);
        assert.match(received, /^from nodemailer\.example\.test \(\[127\.0\.0\.1\]\) by mx\.petrel\.test \(Petrel\) with ESMTPSA \(version=TLSv1\.3 cipher=\S+\) \(authenticated as alice\) id /, received);
        assert.match(header, /\r\nMessage-ID: <[^>]+>\r\n/i, "nodemailer's own Message-ID kept");
        assert.doesNotMatch(header, new RegExp(`Message-ID: <${id}@`), 'no second Message-ID added');
        const body = (await petrel.mta.spool.readBody(id)).toString('utf8');
        assert.match(body, /Hello from nodemailer\.\r\n\.a line starting with a dot\r\n/);
      } finally {
        transport.close();
      }
    });
  }

  test('pool: true, 20 messages over at most 2 connections: all 20 stored, each once', async () => {
    const before = petrel.mta.spool.listMessages();
    const acceptedBefore = logEntries('message accepted').length;
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: 2,
      maxMessages: 100,
      host: '127.0.0.1',
      port: submissionPort,
      secure: false,
      requireTLS: true,
      name: 'pool.example.test',
      auth: AUTH,
      tls: TLS,
      connectionTimeout: 10_000,
      socketTimeout: 15_000,
    });
    try {
      const infos = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          transport.sendMail({ from: 'alice@example.test', to: `pool${i}@example.com`, subject: `pooled ${i}`, text: `message number ${i}\n` }),
        ),
      );
      const ids = infos.map((x) => queuedId(x.response));
      assert.equal(new Set(ids).size, 20, 'twenty distinct queue ids');
      assert.deepEqual(newMessages(petrel, before).sort(), [...ids].sort(), 'exactly these 20 messages are new in the spool');
      for (const [i, id] of ids.entries()) {
        const msg = await petrel.mta.spool.getMessage(id);
        assert.deepEqual(msg?.recipients.map((r) => r.address), [`pool${i}@example.com`]);
        assert.match(await headerOf(petrel, id), new RegExp(`\\r\\nSubject: pooled ${i}\\r\\n`));
      }
      // Petrel's side: the 20 messages came over at most 2 sessions (connections were reused).
      const accepted = logEntries('message accepted').slice(acceptedBefore);
      assert.deepEqual(accepted.map((e) => e.id).sort(), [...ids].sort(), 'one "message accepted" log entry per message');
      const sessions = new Set(accepted.map((e) => String(e.session)));
      assert.ok(sessions.size >= 1 && sessions.size <= 2, `sessions used: ${[...sessions].join(', ')}`);
    } finally {
      transport.close();
    }
  });
});
