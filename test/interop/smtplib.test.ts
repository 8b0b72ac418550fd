/**
 * Interoperability: Python's standard smtplib (python3 run as a child
 * process) submitting to Petrel: STARTTLS + login + sendmail to two
 * recipients, SMTP_SSL on the implicit-TLS port, and send_message with
 * SMTPUTF8 to an internationalised address.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { TLS_DIR, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { INTEROP_CONFIG, firstReceived, headerOf, newMessages, requireTool, run } from './config.js';

let petrel: RunningPetrel;
let submissionPort: number;
let implicitPort: number;

before(async () => {
  requireTool('python3', 'python3');
  petrel = await startPetrel(INTEROP_CONFIG);
  [, submissionPort, implicitPort] = petrel.ports as [number, number, number];
});
after(async () => {
  await petrel?.stop();
});

/** Common prelude: a TLS context that verifies the test certificate (not the name: we connect to 127.0.0.1). */
const PRELUDE = `
import json, os, smtplib, ssl, sys
from email.message import EmailMessage
ctx = ssl.create_default_context(cafile=os.environ['CERT'])
ctx.check_hostname = False
PORT = int(os.environ['PORT'])
def done(**kw):
    print(json.dumps(kw))
`;

/** Runs a smtplib script; smtplib's debug output (every line sent and received) goes to stderr. */
async function python(script: string, port: number): Promise<{ result: Record<string, unknown>; transcript: string }> {
  const r = await run('python3', ['-c', PRELUDE + script], {
    timeoutMs: 30_000,
    env: { ...process.env, CERT: path.join(TLS_DIR, 'mail.example.test.pem'), PORT: String(port), PYTHONIOENCODING: 'utf-8' },
  });
  assert.equal(r.code, 0, `python3 failed:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { result: JSON.parse(last) as Record<string, unknown>, transcript: r.stderr };
}

/** Runs a script and returns its exit status and smtplib's transcript, whatever happened. */
async function pythonRaw(script: string, port: number): Promise<{ code: number | null; stdout: string; transcript: string }> {
  const r = await run('python3', ['-c', PRELUDE + script], {
    timeoutMs: 30_000,
    env: { ...process.env, CERT: path.join(TLS_DIR, 'mail.example.test.pem'), PORT: String(port), PYTHONIOENCODING: 'utf-8' },
  });
  return { code: r.code, stdout: r.stdout, transcript: r.stderr };
}

/** Ids from the `queued as` replies smtplib printed, in order. */
function queuedIds(transcript: string): string[] {
  return [...transcript.matchAll(/reply: b'250 2\.0\.0 Ok: queued as (\S+?)\\r\\n'/g)].map((m) => m[1]!);
}

describe('python3 smtplib', () => {
  test('starttls() + login() + sendmail() to two recipients on the submission port', async () => {
    const { result, transcript } = await python(
      `
with smtplib.SMTP('127.0.0.1', PORT, local_hostname='py.example.test', timeout=15) as s:
    s.set_debuglevel(1)
    s.starttls(context=ctx)
    s.login('alice', 's3cret pass')
    refused = s.sendmail('alice@example.test', ['one@example.com', 'two@example.org'],
                         b'From: alice@example.test\\r\\nSubject: from smtplib\\r\\n\\r\\nhello twice\\r\\n')
    done(refused=refused, tls=s.sock.version())
`,
      submissionPort,
    );
    assert.deepEqual(result.refused, {}, 'no recipient refused');
    assert.match(String(result.tls), /^TLSv1\.[23]$/);
    const ids = queuedIds(transcript);
    assert.equal(ids.length, 1, transcript);
    const info = await petrel.mta.spool.getMessage(ids[0]!);
    assert.equal(info?.envelope.mailFrom, 'alice@example.test');
    assert.deepEqual(info?.recipients.map((x) => x.address), ['one@example.com', 'two@example.org']);
    assert.equal(info?.envelope.authUser, 'alice');
    assert.equal(info?.envelope.mailParams?.size, Buffer.byteLength('From: alice@example.test\r\nSubject: from smtplib\r\n\r\nhello twice\r\n'), 'SIZE= that smtplib declared');
    const header = await headerOf(petrel, ids[0]!);
    const received = firstReceived(header);
    assert.match(received, new RegExp(`^from py\\.example\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by mx\\.petrel\\.test \\(Petrel\\) with ESMTPSA \\(version=${String(result.tls).replace('.', '\\.')} `), received);
    assert.match(received, /\(authenticated as alice\)/);
    assert.doesNotMatch(received, / for </, 'two recipients: no "for" clause');
    assert.ok((await petrel.mta.spool.readBody(ids[0]!)).toString('utf8').endsWith('\r\n\r\nhello twice\r\n'));
  });

  test('SMTP_SSL on the implicit-TLS port: login() + sendmail()', async () => {
    const { result, transcript } = await python(
      `
with smtplib.SMTP_SSL('127.0.0.1', PORT, local_hostname='py.example.test', context=ctx, timeout=15) as s:
    s.set_debuglevel(1)
    s.login('alice', 's3cret pass')
    refused = s.sendmail('alice@example.test', ['ssl@example.net'], b'Subject: over SMTP_SSL\\r\\n\\r\\nimplicit\\r\\n')
    done(refused=refused, tls=s.sock.version())
`,
      implicitPort,
    );
    assert.deepEqual(result.refused, {});
    const [id] = queuedIds(transcript);
    assert.ok(id, transcript);
    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info?.envelope.mailFrom, 'alice@example.test');
    assert.deepEqual(info?.recipients.map((x) => x.address), ['ssl@example.net']);
    assert.match(firstReceived(await headerOf(petrel, id)), /with ESMTPSA \(version=TLSv1\.[23] [^)]*\) \(authenticated as alice\) id \S+ for <ssl@example\.net>; /);
  });

  const utf8Script = (mailOptions: string): string => `
m = EmailMessage()
m['From'] = 'Ålice <alice@example.test>'
m['To'] = 'José <josé@exámple.com>'
m['Subject'] = 'Grüße aus Python'
m.set_content('Ünïcödé body\\n')
with smtplib.SMTP_SSL('127.0.0.1', PORT, local_hostname='py.example.test', context=ctx, timeout=15) as s:
    s.set_debuglevel(1)
    s.login('alice', 's3cret pass')
    refused = s.send_message(m${mailOptions})
    done(refused=refused)
`;

  async function checkUtf8(transcript: string): Promise<void> {
    const [id] = queuedIds(transcript);
    assert.ok(id, transcript);
    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info?.envelope.mailFrom, 'alice@example.test');
    assert.deepEqual(info?.recipients.map((x) => x.address), ['josé@exámple.com']);
    assert.equal(info?.envelope.mailParams?.smtputf8, true);
    assert.equal(info?.envelope.mailParams?.body, '8BITMIME');
    assert.equal(info?.recipients[0]?.queue, 'exámple.com/{default}');
    const body = (await petrel.mta.spool.readBody(id)).toString('utf8');
    assert.match(body, /\r\nTo: José <josé@exámple\.com>\r\n/, 'UTF-8 header kept as UTF-8');
    assert.match(body, /\r\nSubject: Grüße aus Python\r\n/);
    assert.match(body, /Ünïcödé body/);
  }

  test('send_message() to a UTF-8 address (smtplib adds SMTPUTF8 and BODY=8BITMIME by itself)', async () => {
    const { result, transcript } = await python(utf8Script(''), implicitPort);
    assert.deepEqual(result.refused, {});
    assert.match(transcript, /send: 'mail FROM:<alice@example\.test> size=\d+ SMTPUTF8 BODY=8BITMIME\\r\\n'/);
    await checkUtf8(transcript);
  });

  test(
    "send_message(mail_options=['SMTPUTF8']) to a UTF-8 address (smtplib then repeats SMTPUTF8; accepted as Postfix does)",
    async () => {
      const { result, transcript } = await python(utf8Script(", mail_options=['SMTPUTF8']"), implicitPort);
      assert.deepEqual(result.refused, {});
      await checkUtf8(transcript);
    },
  );

  const bobLogin = `
with smtplib.SMTP('127.0.0.1', PORT, local_hostname='py.example.test', timeout=20) as s:
    s.set_debuglevel(1)
    s.starttls(context=ctx)
    s.login('bob', 'hunter2')
    refused = s.sendmail('bob@example.test', ['bob-rcpt@example.com'], b'Subject: bob\\r\\n\\r\\nhi\\r\\n')
    done(refused=refused)
`;

  test("bob (password-hash only): smtplib's login() tries CRAM-MD5, is refused, falls back to PLAIN and gets in", async () => {
    const before = petrel.mta.spool.listMessages();
    const r = await pythonRaw(bobLogin, submissionPort);
    assert.equal(r.code, 0, r.transcript);
    assert.match(r.transcript, /send: 'AUTH CRAM-MD5\\r\\n'[\s\S]*reply: b'535 5\.7\.8 [\s\S]*send: 'AUTH PLAIN [\s\S]*reply: b'235 2\.7\.0 /, r.transcript);
    const [id] = queuedIds(r.transcript);
    assert.ok(id, r.transcript);
    assert.deepEqual(newMessages(petrel, before), [id]);
    assert.match(firstReceived(await headerOf(petrel, id)), /\(authenticated as bob\)/);
  });

  test(
    'bob (password-hash only) with the right password is not locked out by smtp-max-auth-failure-rate because his client tried CRAM-MD5 first',
    async () => {
      const strict = await startPetrel(INTEROP_CONFIG.replace('<source 0/0>', '<source 0/0>\n    smtp-max-auth-failure-rate 1/h'));
      try {
        const r = await pythonRaw(bobLogin, strict.ports[1]!);
        assert.equal(r.code, 0, r.transcript);
        assert.equal(queuedIds(r.transcript).length, 1, r.transcript);
      } finally {
        await strict.stop();
      }
    },
  );
});
