/**
 * Interoperability: swaks (the Swiss Army Knife for SMTP) against Petrel's
 * three listeners — "25" (relay for our domains only), "587" (STARTTLS +
 * AUTH required) and "465" (implicit TLS + AUTH required) — with each SASL
 * mechanism swaks speaks, pipelining, bad credentials and relay refusals.
 * Every accepted message is read back from the spool.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { INTEROP_CONFIG, firstReceived, headerOf, newMessages, requireTool, run, type RunResult } from './config.js';

let petrel: RunningPetrel;
let relayPort: number;
let submissionPort: number;
let implicitPort: number;

before(async () => {
  requireTool('swaks', 'swaks');
  petrel = await startPetrel(INTEROP_CONFIG);
  [relayPort, submissionPort, implicitPort] = petrel.ports as [number, number, number];
});
after(async () => {
  await petrel?.stop();
});

/** swaks exit codes (swaks(1), "EXIT CODES"). */
const EXIT = { ok: 0, rcpt: 24, auth: 28 } as const;

function swaks(args: readonly string[]): Promise<RunResult> {
  return run('swaks', ['--ehlo', 'swaks.example.test', '--timeout', '15', '--hide-informational', ...args], { timeoutMs: 30_000 });
}

function queuedId(out: string): string {
  const m = /<[~-]\s+250 2\.0\.0 Ok: queued as (\S+)/.exec(out);
  assert.ok(m, `no "queued as" in swaks output:\n${out}`);
  return m[1]!;
}

const ALICE = ['--auth-user', 'alice', '--auth-password', 's3cret pass'];

const transports = [
  { name: 'STARTTLS on the submission port', port: () => submissionPort, tlsArgs: ['-tls'] },
  { name: 'implicit TLS on the 465-style port', port: () => implicitPort, tlsArgs: ['--tlsc'] },
] as const;

describe('swaks: AUTH over TLS, each mechanism, both TLS styles', () => {
  for (const t of transports) {
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      test(`alice, AUTH ${mech}, ${t.name}: accepted, stored with ESMTPSA, TLS version and the user`, async () => {
        const to = `rcpt-${mech.toLowerCase()}@example.com`;
        const r = await swaks(['--server', `127.0.0.1:${t.port()}`, ...t.tlsArgs, '--auth', mech, ...ALICE, '--from', 'alice@example.test', '--to', to, '--header', `Subject: swaks ${mech}`]);
        assert.equal(r.code, EXIT.ok, r.stdout + r.stderr);
        assert.match(r.stdout, /<~\s+235 2\.7\.0 /, 'AUTH answered 235 inside TLS');
        const id = queuedId(r.stdout);
        const info = await petrel.mta.spool.getMessage(id);
        assert.ok(info, `message ${id} is in the spool`);
        assert.equal(info.envelope.mailFrom, 'alice@example.test');
        assert.deepEqual(info.recipients.map((x) => x.address), [to]);
        assert.equal(info.envelope.authUser, 'alice');
        const header = await headerOf(petrel, id);
        const received = firstReceived(header);
        assert.match(received, /^from swaks\.example\.test \(\[127\.0\.0\.1\]\) by mx\.petrel\.test \(Petrel\) with ESMTPSA /, received);
        assert.match(received, /\(version=TLSv1\.[23] cipher=[A-Z0-9_-]+\)/, received);
        assert.match(received, /\(authenticated as alice\)/, received);
        assert.match(received, new RegExp(`id ${id} for <${to}>; `), received);
        assert.match(header, new RegExp(`\\r\\nSubject: swaks ${mech}\\r\\n`));
        assert.match((await petrel.mta.spool.readBody(id)).toString('utf8'), /\r\n\r\nThis is a test mailing\r\n/);
      });
    }
  }

  test('bob (password-hash only) logs in with PLAIN and his clear password', async () => {
    const r = await swaks(['--server', `127.0.0.1:${submissionPort}`, '-tls', '--auth', 'PLAIN', '--auth-user', 'bob', '--auth-password', 'hunter2', '--from', 'bob@example.test', '--to', 'x@bounces.example.test']);
    assert.equal(r.code, EXIT.ok, r.stdout + r.stderr);
    const id = queuedId(r.stdout);
    assert.match(firstReceived(await headerOf(petrel, id)), /with ESMTPSA \(version=TLSv1\.[23] [^)]*\) \(authenticated as bob\)/);
  });

  for (const [i, t] of transports.entries()) {
    test(`bob cannot use CRAM-MD5 (the server holds only a hash), ${t.name}: 535 5.7.8, nothing stored`, async () => {
      const before = petrel.mta.spool.listMessages();
      // A separate client address per failure: failed AUTHs are delayed per address.
      const r = await swaks(['--server', `127.0.0.1:${t.port()}`, '--local-interface', `127.0.0.${3 + i}`, ...t.tlsArgs, '--auth', 'CRAM-MD5', '--auth-user', 'bob', '--auth-password', 'hunter2', '--from', 'bob@example.test', '--to', 'rcpt@example.com']);
      assert.equal(r.code, EXIT.auth, r.stdout + r.stderr);
      assert.match(r.stdout, /<~\*\s+535 5\.7\.8 /, r.stdout);
      assert.deepEqual(newMessages(petrel, before), []);
    });
  }
});

describe('swaks: pipelining and refusals', () => {
  test('--pipeline: MAIL, RCPT, RCPT, DATA sent in one go, replies in order, one message for two recipients', async () => {
    const r = await swaks(['--server', `127.0.0.1:${submissionPort}`, '-tls', '--pipeline', '--auth', 'PLAIN', ...ALICE, '--from', 'alice@example.test', '--to', 'p1@example.com,p2@example.org']);
    assert.equal(r.code, EXIT.ok, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /does not support PIPELINING/i);
    assert.match(r.stdout, / ~> MAIL FROM:<alice@example\.test>\n ~> RCPT TO:<p1@example\.com>\n ~> RCPT TO:<p2@example\.org>\n ~> DATA\n<~  250 2\.1\.0 [^\n]*\n<~  250 2\.1\.5 [^\n]*\n<~  250 2\.1\.5 [^\n]*\n<~  354 /, r.stdout);
    const id = queuedId(r.stdout);
    const info = await petrel.mta.spool.getMessage(id);
    assert.deepEqual(info?.recipients.map((x) => x.address), ['p1@example.com', 'p2@example.org']);
    assert.deepEqual(info?.recipients.map((x) => x.queue).sort(), ['example.com/{default}', 'example.org/{default}']);
  });

  test('a wrong password: 535 5.7.8, nothing stored', async () => {
    const before = petrel.mta.spool.listMessages();
    const r = await swaks(['--server', `127.0.0.1:${submissionPort}`, '--local-interface', '127.0.0.2', '-tls', '--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', 'not the password', '--from', 'alice@example.test', '--to', 'rcpt@example.com']);
    assert.equal(r.code, EXIT.auth, r.stdout + r.stderr);
    assert.match(r.stdout, /<~\*\s+535 5\.7\.8 /, r.stdout);
    assert.deepEqual(newMessages(petrel, before), []);
  });

  test('AUTH PLAIN before STARTTLS on the submission port: not offered, refused with 538 5.7.11, MAIL needs AUTH', async () => {
    const r = await swaks(['--server', `127.0.0.1:${submissionPort}`, '--auth', 'PLAIN', ...ALICE, '--from', 'alice@example.test', '--to', 'rcpt@example.com']);
    assert.equal(r.code, EXIT.auth, r.stdout + r.stderr);
    assert.match(r.stdout, /<-  250-STARTTLS\n/, 'STARTTLS is offered');
    assert.doesNotMatch(r.stdout, /250[- ]AUTH/, 'AUTH is not offered before TLS');
    assert.doesNotMatch(r.stdout, /AGFsaWNl/, 'the password never left the client in clear');
    // A client that sends it anyway (scripted, since swaks will not).
    const c = await SmtpTestClient.connect(submissionPort);
    try {
      assert.equal((await c.read())?.code, 220);
      assert.equal((await c.cmd('EHLO raw.example.test')).code, 250);
      assert.match(text(await c.cmd('AUTH PLAIN AGFsaWNlAHMzY3JldCBwYXNz')), /^538 5\.7\.11 /);
      assert.match(text(await c.cmd('MAIL FROM:<alice@example.test>')), /^530 5\.7\.0 /);
    } finally {
      c.close();
    }
  });

  test('port "25" without AUTH: relaying to a foreign domain is 550 5.7.1; a relay-domain is accepted and stored', async () => {
    const before = petrel.mta.spool.listMessages();
    const denied = await swaks(['--server', `127.0.0.1:${relayPort}`, '--from', 'sender@example.net', '--to', 'victim@example.com']);
    assert.equal(denied.code, EXIT.rcpt, denied.stdout + denied.stderr);
    assert.match(denied.stdout, /<\*\*\s+550 5\.7\.1 [^\n]*victim@example\.com/, denied.stdout);
    assert.deepEqual(newMessages(petrel, before), []);

    const ok = await swaks(['--server', `127.0.0.1:${relayPort}`, '--from', 'sender@example.net', '--to', 'x@bounces.example.test']);
    assert.equal(ok.code, EXIT.ok, ok.stdout + ok.stderr);
    const id = queuedId(ok.stdout);
    const info = await petrel.mta.spool.getMessage(id);
    assert.equal(info?.envelope.mailFrom, 'sender@example.net');
    assert.deepEqual(info?.recipients.map((x) => x.address), ['x@bounces.example.test']);
    assert.equal(info?.envelope.authUser, undefined);
    const received = firstReceived(await headerOf(petrel, id));
    assert.match(received, /by mx\.petrel\.test \(Petrel\) with ESMTP id /, 'plain ESMTP: no TLS, no AUTH');
    assert.doesNotMatch(received, /authenticated/);
  });
});
