/**
 * Interoperability: OpenSSL's `s_client` against Petrel's STARTTLS and
 * implicit-TLS listeners (certificate, protocol versions, what EHLO offers
 * inside TLS), and the STARTTLS command-injection check (CVE-2011-0411)
 * over a raw socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { TLS_DIR, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { INTEROP_CONFIG, requireTool, run, type RunResult } from './config.js';

let petrel: RunningPetrel;
let relayPort: number;
let submissionPort: number;
let implicitPort: number;
const CERT = path.join(TLS_DIR, 'mail.example.test.pem');

before(async () => {
  requireTool('openssl', 'openssl');
  petrel = await startPetrel(INTEROP_CONFIG);
  [relayPort, submissionPort, implicitPort] = petrel.ports as [number, number, number];
});
after(async () => {
  await petrel?.stop();
});

/**
 * `openssl s_client -brief` (handshake summary on stderr, session data on
 * stdout). `input` is sent once the session is up; `-ign_eof` keeps the
 * client reading until the server closes (after QUIT).
 */
function sClient(args: readonly string[], input = ''): Promise<RunResult> {
  return run('openssl', ['s_client', '-brief', '-ign_eof', '-servername', 'mail.example.test', ...args], { input, timeoutMs: 20_000 });
}

/** The lines of the first reply in `out` from the line containing `marker` to its final line. */
function replyLines(out: string, marker: string): string[] {
  const lines = out.split(/\r?\n/);
  const start = lines.findIndex((l) => l.includes(marker));
  assert.ok(start >= 0, `no reply containing ${marker} in:\n${out}`);
  const end = lines.findIndex((l, i) => i >= start && /^\d{3} /.test(l));
  return lines.slice(start, end + 1);
}

describe('openssl s_client', () => {
  test('STARTTLS on the submission port: verified certificate for mail.example.test, TLSv1.3, EHLO offers AUTH but not STARTTLS', async () => {
    const r = await sClient(['-starttls', 'smtp', '-connect', `127.0.0.1:${submissionPort}`, '-CAfile', CERT, '-verify_hostname', 'mail.example.test', '-verify_return_error'], 'EHLO client.example.test\r\nQUIT\r\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^CONNECTION ESTABLISHED$/m);
    assert.match(r.stderr, /^Protocol version: TLSv1\.3$/m, r.stderr);
    assert.match(r.stderr, /^Peer certificate: CN ?= ?mail\.example\.test$/m, r.stderr);
    assert.match(r.stderr, /^Verification: OK$/m, r.stderr);
    const ehlo = replyLines(r.stdout, 'Hello client.example.test');
    assert.equal(ehlo[0], '250-mx.petrel.test Hello client.example.test [127.0.0.1]');
    assert.ok(ehlo.some((l) => /^250[- ]AUTH PLAIN LOGIN CRAM-MD5$/.test(l)), ehlo.join('\n'));
    assert.ok(!ehlo.some((l) => /STARTTLS/.test(l)), `no STARTTLS inside TLS: ${ehlo.join('\n')}`);
    assert.match(r.stdout, /^221 2\.0\.0 /m);
  });

  test('implicit TLS port: the greeting comes inside TLS; EHLO offers AUTH, not STARTTLS', async () => {
    const r = await sClient(['-connect', `127.0.0.1:${implicitPort}`, '-CAfile', CERT, '-verify_return_error'], 'EHLO client.example.test\r\nQUIT\r\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Protocol version: TLSv1\.3$/m, r.stderr);
    assert.match(r.stderr, /^Peer certificate: CN ?= ?mail\.example\.test$/m, r.stderr);
    assert.match(r.stdout, /^220 mx\.petrel\.test ESMTP/m);
    const ehlo = replyLines(r.stdout, 'Hello client.example.test');
    assert.ok(ehlo.some((l) => /^250[- ]AUTH /.test(l)), ehlo.join('\n'));
    assert.ok(!ehlo.some((l) => /STARTTLS/.test(l)), ehlo.join('\n'));
  });

  test('TLS 1.2 is accepted when the client asks for it', async () => {
    const r = await sClient(['-starttls', 'smtp', '-connect', `127.0.0.1:${relayPort}`, '-tls1_2'], 'QUIT\r\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Protocol version: TLSv1\.2$/m, r.stderr);
  });

  for (const [name, args] of [
    ['STARTTLS', ['-starttls', 'smtp']],
    ['implicit TLS', []],
  ] as const) {
    test(`TLS 1.1 is refused by default (${name}), and the server goes on serving`, async () => {
      const port = name === 'STARTTLS' ? submissionPort : implicitPort;
      // SECLEVEL=0 so that the client itself is willing to speak TLS 1.1: the refusal must come from Petrel.
      const r = await sClient([...args, '-connect', `127.0.0.1:${port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], 'QUIT\r\n');
      assert.notEqual(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /CONNECTION ESTABLISHED/);
      assert.match(r.stderr, /alert protocol version|unsupported protocol|no protocols available/i, r.stderr);
      const again = await sClient([...args, '-connect', `127.0.0.1:${port}`], 'QUIT\r\n');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^221 /m);
    });
  }
});

/** A line-oriented raw client: exact bytes out, replies in, and a record of every byte received in plaintext. */
class RawClient {
  buf = '';
  plaintextAfterStarttls = '';
  #waiter: (() => void) | undefined;
  #closed = false;
  private constructor(public sock: net.Socket | tls.TLSSocket) {
    this.#listen(sock);
  }
  static async connect(port: number): Promise<RawClient> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    return new RawClient(sock);
  }
  #listen(s: net.Socket): void {
    s.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.#waiter?.();
    });
    s.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
    s.on('error', () => undefined);
  }
  /** The next complete reply (all its lines), or undefined when the connection closed first. */
  async reply(): Promise<string[] | undefined> {
    const deadline = setTimeout(() => this.sock.destroy(new Error('no reply within 10 s')), 10_000);
    try {
      for (;;) {
        const m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n)/.exec(this.buf);
        if (m) {
          this.buf = this.buf.slice(m[1]!.length);
          return m[1]!.split('\r\n').slice(0, -1);
        }
        if (this.#closed) return undefined;
        await new Promise<void>((resolve) => (this.#waiter = resolve));
      }
    } finally {
      clearTimeout(deadline);
    }
  }
  write(s: string): void {
    this.sock.write(s);
  }
  /** Starts TLS on the socket; whatever plaintext was received and not yet read is kept for inspection. */
  async startTls(): Promise<void> {
    const plain = this.sock;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.plaintextAfterStarttls = this.buf;
    this.buf = '';
    this.sock = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, servername: 'mail.example.test', rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.#listen(this.sock);
  }
  close(): void {
    this.sock.destroy();
  }
}

describe('STARTTLS command injection (CVE-2011-0411)', () => {
  for (const { port, injected, label } of [
    { port: () => submissionPort, injected: 'RSET', label: 'RSET on the submission port' },
    { port: () => relayPort, injected: 'EHLO injected.example.test', label: 'EHLO on the "25" port' },
  ]) {
    test(`"STARTTLS\\r\\n${injected}\\r\\n" in one write: the ${label} is neither answered in plaintext nor run after the handshake`, async () => {
      const c = await RawClient.connect(port());
      try {
        assert.match((await c.reply())?.[0] ?? '', /^220 /);
        c.write('EHLO raw.example.test\r\n');
        assert.ok((await c.reply())?.includes('250-STARTTLS'));
        c.write(`STARTTLS\r\n${injected}\r\n`);
        assert.match((await c.reply())?.[0] ?? '(closed)', /^220 2\.0\.0 /);
        // The handshake itself fails if the server sent a plaintext reply to the injected command after the 220.
        await c.startTls();
        assert.equal(c.plaintextAfterStarttls, '', 'no plaintext after the 220 to STARTTLS');
        c.write('NOOP\r\n');
        const first = await c.reply();
        assert.ok(first, 'a reply inside TLS');
        assert.equal(first.length, 1, `the first reply inside TLS is NOOP's single line, not the injected command's: ${first.join(' | ')}`);
        assert.match(first[0]!, /^250 2\.0\.0 /, 'the first reply inside TLS answers NOOP');
        assert.doesNotMatch(first[0]!, /Reset|Hello/i, `not the injected command's reply: ${first[0]}`);
        c.write('EHLO tls.example.test\r\n');
        const ehlo = await c.reply();
        assert.equal(ehlo?.[0], '250-mx.petrel.test Hello tls.example.test [127.0.0.1]');
        c.write('QUIT\r\n');
        assert.match((await c.reply())?.[0] ?? '', /^221 /);
      } finally {
        c.close();
      }
    });
  }
});
