/**
 * Interoperability: curl's SMTP client (libcurl + OpenSSL) submitting to
 * Petrel with `--ssl-reqd` over STARTTLS and over implicit TLS (`smtps://`),
 * and refusing to go on when the server offers no TLS at all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { INTEROP_CONFIG, firstReceived, headerOf, newMessages, requireTool, run, type RunResult } from './config.js';

let petrel: RunningPetrel;
let submissionPort: number;
let implicitPort: number;
let msgFile: string;

/** CRLF text with a line that starts with a dot: curl must dot-stuff it, Petrel must unstuff it. */
const MESSAGE = 'From: Alice <alice@example.test>\r\nTo: <rcpt@example.com>\r\nSubject: curl upload\r\n\r\nHello from curl.\r\n.leading dot survives\r\nlast line\r\n';

before(async () => {
  requireTool('curl', 'curl');
  petrel = await startPetrel(INTEROP_CONFIG);
  [, submissionPort, implicitPort] = petrel.ports as [number, number, number];
  msgFile = path.join(petrel.dir, 'message.eml');
  fs.writeFileSync(msgFile, MESSAGE);
});
after(async () => {
  await petrel?.stop();
});

function curl(args: readonly string[]): Promise<RunResult> {
  return run('curl', ['--silent', '--show-error', '--verbose', '--max-time', '20', ...args], { timeoutMs: 30_000 });
}

/** curl exit codes (curl(1), "EXIT CODES"). */
const CURLE_USE_SSL_FAILED = 64;

describe('curl', () => {
  for (const { name, url } of [
    { name: 'smtp:// + --ssl-reqd (STARTTLS) on the submission port', url: () => `smtp://127.0.0.1:${submissionPort}` },
    { name: 'smtps:// on the implicit-TLS port', url: () => `smtps://127.0.0.1:${implicitPort}` },
  ]) {
    test(`${name}: exit 0, the message is stored byte for byte, authenticated as alice`, async () => {
      const before = petrel.mta.spool.listMessages();
      const r = await curl(['--ssl-reqd', '--url', url(), '--mail-from', 'alice@example.test', '--mail-rcpt', 'rcpt@example.com', '--user', 'alice:s3cret pass', '--upload-file', msgFile, '--insecure']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^< 235 2\.7\.0 /m, 'AUTH succeeded');
      const queued = /^< 250 2\.0\.0 Ok: queued as (\S+)/m.exec(r.stderr);
      assert.ok(queued, r.stderr);
      const id = queued[1]!;
      assert.deepEqual(newMessages(petrel, before), [id]);
      const info = await petrel.mta.spool.getMessage(id);
      assert.equal(info?.envelope.mailFrom, 'alice@example.test');
      assert.deepEqual(info?.recipients.map((x) => x.address), ['rcpt@example.com']);
      assert.equal(info?.envelope.authUser, 'alice');
      const received = firstReceived(await headerOf(petrel, id));
      assert.match(received, /with ESMTPSA \(version=TLSv1\.[23] cipher=\S+\) \(authenticated as alice\)/, received);
      const body = (await petrel.mta.spool.readBody(id)).toString('utf8');
      assert.ok(body.endsWith('\r\n\r\nHello from curl.\r\n.leading dot survives\r\nlast line\r\n'), body);
      assert.match(body, /\r\nSubject: curl upload\r\n/);
    });
  }

  test('no credentials on the submission port: MAIL is refused with 530 5.7.0, curl fails, nothing stored', async () => {
    const before = petrel.mta.spool.listMessages();
    const r = await curl(['--ssl-reqd', '--url', `smtp://127.0.0.1:${submissionPort}`, '--mail-from', 'alice@example.test', '--mail-rcpt', 'rcpt@example.com', '--upload-file', msgFile, '--insecure']);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /^< 530 5\.7\.0 /m, r.stderr);
    assert.deepEqual(newMessages(petrel, before), []);
  });

  test('--ssl-reqd against a Petrel without a certificate: STARTTLS not offered, curl exits 64 and sends nothing', async () => {
    const plain = await startPetrel(`
host-name plain.petrel.test
smtp-listener 127.0.0.1:{{PORT}}
<source 0/0>
    always-allow-relaying yes
</source>
`);
    try {
      const r = await curl(['--ssl-reqd', '--url', `smtp://127.0.0.1:${plain.port}`, '--mail-from', 'alice@example.test', '--mail-rcpt', 'rcpt@example.com', '--upload-file', msgFile]);
      assert.equal(r.code, CURLE_USE_SSL_FAILED, r.stderr);
      assert.doesNotMatch(r.stderr, /^> MAIL FROM/m, 'no transaction started in clear');
      assert.equal(plain.mta.spool.stats().messages, 0);
      // Without --ssl-reqd the same server takes the message in clear (the server is fine; the refusal was curl's).
      const clear = await curl(['--url', `smtp://127.0.0.1:${plain.port}`, '--mail-from', 'alice@example.test', '--mail-rcpt', 'rcpt@example.com', '--upload-file', msgFile]);
      assert.equal(clear.code, 0, clear.stderr);
      assert.equal(plain.mta.spool.stats().messages, 1);
    } finally {
      await plain.stop();
    }
  });
});
