/**
 * @module server/tls.test
 *
 * Inbound TLS over real loopback sockets: SNI picks the certificate, the
 * version switches decide what a client can negotiate, STARTTLS upgrades a
 * plain connection (also for `openssl s_client -starttls smtp`), client
 * certificates are checked against the configured CA, and broken handshakes
 * reject `upgrade()` with a typed error while the server keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from '../config/loader.js';
import type { PetrelConfig } from '../config/model.js';
import { buildServerTls, certificateNameMatches, TlsConfigError, TlsHandshakeError, type ServerTls } from './tls.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/tls/', import.meta.url));
const MAIL = `${DIR}mail.example.test.pem`;
const SMTP = `${DIR}smtp.example.test.pem`;
const CA = `${DIR}ca.crt`;
const ALICE = fs.readFileSync(`${DIR}client-alice.pem`);
const SELF_SIGNED_CLIENT = fs.readFileSync(MAIL);
const TRUST_BOTH = [fs.readFileSync(MAIL), fs.readFileSync(SMTP)];

function config(text: string): PetrelConfig {
  const r = loadConfigText(text, '/virtual/petrel.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], 'config must load');
  return r.config!;
}

function serverTls(text: string, opts?: { handshakeTimeoutMs?: number }): ServerTls {
  const st = buildServerTls(config(text), opts);
  assert.ok(st);
  return st;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An implicit-TLS server that answers every connection with one line over TLS. */
async function implicitServer(st: ServerTls): Promise<{ port: number; server: tls.Server }> {
  const server = tls.createServer(st.tlsServerOptions(), (s) => {
    s.on('error', () => {});
    s.end(`hello ${st.describe(s).protocol}\n`);
  });
  server.on('tlsClientError', () => {});
  return { port: await listen(server), server };
}

type Outcome = { ok: true; cn: string; protocol: string } | { ok: false; error: string };

function connect(port: number, opts: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port, ca: TRUST_BOTH, checkServerIdentity: () => undefined, ...opts }, () => {
      const cn = String(c.getPeerCertificate().subject?.CN);
      resolve({ ok: true, cn, protocol: c.getProtocol() ?? '' });
      c.end();
    });
    c.on('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

test('no smtp-server-tls-certificate: no TLS at all', () => {
  assert.equal(buildServerTls(config('host-name mx.example.test\n')), undefined);
});

test('SNI picks the certificate whose names match; otherwise the first', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-certificate ${SMTP}\n`);
  assert.deepEqual(st.certificates.map((c) => c.names), [['mail.example.test'], ['smtp.example.test']]);
  const { port, server } = await implicitServer(st);
  try {
    assert.deepEqual(await connect(port, { servername: 'smtp.example.test' }), { ok: true, cn: 'smtp.example.test', protocol: 'TLSv1.3' });
    assert.deepEqual(await connect(port, { servername: 'MAIL.example.test' }), { ok: true, cn: 'mail.example.test', protocol: 'TLSv1.3' });
    assert.deepEqual(await connect(port, { servername: 'unknown.example.test' }), { ok: true, cn: 'mail.example.test', protocol: 'TLSv1.3' });
    assert.deepEqual(await connect(port, {}), { ok: true, cn: 'mail.example.test', protocol: 'TLSv1.3' }); // no SNI for an IP
  } finally {
    await close(server);
  }
});

test('certificate names: wildcards cover exactly one label', () => {
  assert.equal(certificateNameMatches('*.example.test', 'mx.example.test'), true);
  assert.equal(certificateNameMatches('*.example.test', 'a.b.example.test'), false);
  assert.equal(certificateNameMatches('*.example.test', 'example.test'), false);
  assert.equal(certificateNameMatches('mx.example.test', 'MX.Example.Test.'), true);
});

const TLS11_CLIENT: tls.ConnectionOptions = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' };

test('versions: TLS 1.2 and 1.3 by default, TLS 1.1 refused', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\n`);
  assert.deepEqual(st.versions, ['TLSv1.2', 'TLSv1.3']);
  const { port, server } = await implicitServer(st);
  try {
    assert.equal(((await connect(port, { minVersion: 'TLSv1.3' })) as { protocol: string }).protocol, 'TLSv1.3');
    assert.equal(((await connect(port, { maxVersion: 'TLSv1.2' })) as { protocol: string }).protocol, 'TLSv1.2');
    assert.equal((await connect(port, TLS11_CLIENT)).ok, false);
  } finally {
    await close(server);
  }
});

test('versions: allow-tlsv1.1 yes admits TLS 1.1; allow-tlsv1.3 no and min-version narrow the range', async () => {
  const old = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-allow-tlsv1.1 yes\n`);
  assert.deepEqual(old.versions, ['TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
  const a = await implicitServer(old);
  try {
    assert.deepEqual(await connect(a.port, TLS11_CLIENT), { ok: true, cn: 'mail.example.test', protocol: 'TLSv1.1' });
  } finally {
    await close(a.server);
  }

  const no13 = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-allow-tlsv1.3 no\n`);
  const b = await implicitServer(no13);
  try {
    assert.equal(((await connect(b.port, {})) as { protocol: string }).protocol, 'TLSv1.2');
    assert.equal((await connect(b.port, { minVersion: 'TLSv1.3' })).ok, false);
  } finally {
    await close(b.server);
  }

  const only13 = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-allow-tlsv1.1 yes\nsmtp-server-tls-min-version TLSv1.3\n`);
  assert.deepEqual(only13.versions, ['TLSv1.3']);
  const c = await implicitServer(only13);
  try {
    assert.equal((await connect(c.port, { maxVersion: 'TLSv1.2' })).ok, false);
    assert.equal((await connect(c.port, {})).ok, true);
  } finally {
    await close(c.server);
  }
});

test('settings that cannot work are refused with TlsConfigError', () => {
  assert.throws(
    () => buildServerTls(config(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-allow-tlsv1.2 no\nsmtp-server-tls-allow-tlsv1.3 no\n`)),
    (e: unknown) => e instanceof TlsConfigError && /no TLS version/.test(e.message),
  );
  assert.throws(
    () => buildServerTls(config(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-allow-tlsv1.3 no\nsmtp-server-tls-ciphers NO-SUCH-CIPHER\n`)),
    (e: unknown) => e instanceof TlsConfigError && e.file === MAIL && !/PRIVATE KEY/.test(e.message),
  );
});

// ---- STARTTLS -----------------------------------------------------------------------

interface UpgradeRun {
  readonly result: Promise<{ ok: true; line: string; description: ReturnType<ServerTls['describe']>; authorized: boolean } | { ok: false; error: unknown }>;
}

/**
 * A plain server speaking a sliver of SMTP: greeting, `STARTTLS` → `220`,
 * then `upgrade()`; over TLS it reads one line and answers `250 <line>`.
 */
async function startTlsServer(st: ServerTls): Promise<{ port: number; server: net.Server; next(): UpgradeRun }> {
  const runs: Array<(r: Awaited<UpgradeRun['result']>) => void> = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    const report = runs.shift();
    s.write('220 test ESMTP\r\n');
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n')) return;
      s.off('data', onData);
      if (/^EHLO/i.test(buf)) {
        s.write('250-test\r\n250 STARTTLS\r\n');
        buf = '';
        s.on('data', onData);
        return;
      }
      s.write('220 2.0.0 Ready to start TLS\r\n');
      st.upgrade(s).then(
        (t) => {
          t.on('error', () => {});
          t.once('data', (line) => {
            const text = line.toString().trim();
            t.end(`250 ${text}\r\n`);
            report?.({ ok: true, line: text, description: st.describe(t), authorized: t.authorized });
          });
        },
        (error: unknown) => report?.({ ok: false, error }),
      );
    };
    s.on('data', onData);
  });
  const port = await listen(server);
  return {
    port,
    server,
    next(): UpgradeRun {
      const p = new Promise<Awaited<UpgradeRun['result']>>((resolve) => runs.push(resolve));
      return { result: p };
    },
  };
}

/** Client side: read the greeting, send STARTTLS, then hand the socket to `then`. */
function plainClient(port: number, then: (c: net.Socket) => void): void {
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => {});
  let stage = 0;
  c.on('data', function onData(d) {
    const text = d.toString();
    if (stage === 0 && text.startsWith('220 ')) {
      stage = 1;
      c.write('STARTTLS\r\n');
    } else if (stage === 1 && text.startsWith('220 ')) {
      c.off('data', onData);
      then(c);
    }
  });
}

function tlsOver(c: net.Socket, opts: tls.ConnectionOptions, send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket: c, ca: TRUST_BOTH, servername: 'mail.example.test', ...opts }, () => t.write(`${send}\r\n`));
    let got = '';
    t.on('data', (d) => (got += d.toString()));
    t.on('end', () => resolve(got.trim()));
    t.on('error', reject);
  });
}

test('upgrade(): STARTTLS handover on a plain connection, then SMTP over TLS', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-certificate ${SMTP}\n`);
  const srv = await startTlsServer(st);
  try {
    const run = srv.next();
    const reply = await new Promise<string>((resolve, reject) => plainClient(srv.port, (c) => tlsOver(c, { servername: 'smtp.example.test' }, 'EHLO client.test').then(resolve, reject)));
    assert.equal(reply, '250 EHLO client.test');
    const r = await run.result;
    assert.ok(r.ok);
    assert.equal(r.line, 'EHLO client.test');
    assert.equal(r.description.protocol, 'TLSv1.3');
    assert.match(r.description.cipher, /^TLS_/);
    assert.equal(r.description.peerCertificate, undefined);
  } finally {
    await close(srv.server);
  }
});

test('upgrade(): client certificates are requested when smtp-server-tls-client-ca is set and checked against it', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-client-ca ${CA}\n`);
  assert.equal(st.requestsClientCertificate, true);
  const srv = await startTlsServer(st);
  const attempt = async (opts: tls.ConnectionOptions): Promise<Awaited<UpgradeRun['result']>> => {
    const run = srv.next();
    await new Promise<string>((resolve, reject) => plainClient(srv.port, (c) => tlsOver(c, opts, 'HELLO').then(resolve, reject)));
    return run.result;
  };
  try {
    const alice = await attempt({ cert: ALICE, key: ALICE });
    assert.ok(alice.ok);
    assert.equal(alice.authorized, true);
    assert.equal(alice.description.peerCertificate?.subjectCN, 'alice');
    assert.equal(alice.description.peerCertificate?.issuerCN, 'Petrel Test CA');
    assert.equal(alice.description.peerCertificate?.authorized, true);

    const stranger = await attempt({ cert: SELF_SIGNED_CLIENT, key: SELF_SIGNED_CLIENT });
    assert.ok(stranger.ok, 'a certificate from another CA may still connect');
    assert.equal(stranger.authorized, false);
    assert.equal(stranger.description.peerCertificate?.subjectCN, 'mail.example.test');
    assert.equal(stranger.description.peerCertificate?.authorized, false);

    const none = await attempt({});
    assert.ok(none.ok, 'a client without a certificate may still connect');
    assert.equal(none.description.peerCertificate, undefined);
  } finally {
    await close(srv.server);
  }
});

test('upgrade(): a garbage handshake rejects with TlsHandshakeError and the server keeps serving', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\n`);
  const srv = await startTlsServer(st);
  try {
    const bad = srv.next();
    // 0xff is no TLS record type; the rest is noise.
    const noise = Buffer.concat([Buffer.from([0xff, 0x03, 0x03, 0x00, 0x40]), Buffer.from(Array.from({ length: 507 }, (_, i) => (i * 151 + 7) & 0xff))]);
    plainClient(srv.port, (c) => c.write(noise));
    const r = await bad.result;
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof TlsHandshakeError);
    assert.equal((r as { error: TlsHandshakeError }).error.code, 'handshake-failed');

    const good = srv.next();
    const reply = await new Promise<string>((resolve, reject) => plainClient(srv.port, (c) => tlsOver(c, {}, 'NOOP').then(resolve, reject)));
    assert.equal(reply, '250 NOOP');
    assert.equal((await good.result).ok, true);
  } finally {
    await close(srv.server);
  }
});

test('upgrade(): a client that hangs up or stays silent mid-handshake rejects with its own code', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\n`, { handshakeTimeoutMs: 300 });
  const srv = await startTlsServer(st);
  try {
    const hangUp = srv.next();
    // The first bytes of a ClientHello record, then goodbye.
    plainClient(srv.port, (c) => c.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01])));
    const r1 = await hangUp.result;
    assert.ok(!r1.ok && r1.error instanceof TlsHandshakeError);
    assert.ok(['closed', 'handshake-failed'].includes((r1 as { error: TlsHandshakeError }).error.code));

    const silent = srv.next();
    let client: net.Socket | undefined;
    plainClient(srv.port, (c) => (client = c));
    const r2 = await silent.result;
    assert.ok(!r2.ok && r2.error instanceof TlsHandshakeError);
    assert.equal((r2 as { error: TlsHandshakeError }).error.code, 'handshake-timeout');
    client?.destroy();
  } finally {
    await close(srv.server);
  }
});

// ---- openssl s_client --------------------------------------------------------------------

function sClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', ...args], { timeout: 20_000 }, (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
    child.stdin?.end();
  });
}

test('openssl s_client sees the SNI-selected certificate (implicit TLS) and can STARTTLS', async () => {
  const st = serverTls(`smtp-server-tls-certificate ${MAIL}\nsmtp-server-tls-certificate ${SMTP}\n`);
  const { port, server } = await implicitServer(st);
  try {
    const out = await sClient(['-connect', `127.0.0.1:${port}`, '-servername', 'smtp.example.test']);
    assert.match(out, /subject=CN ?= ?smtp\.example\.test/);
    assert.match(out, /New, TLSv1\.3, Cipher is/);
  } finally {
    await close(server);
  }

  const srv = await startTlsServer(st);
  try {
    const run = srv.next();
    const out = await sClient(['-connect', `127.0.0.1:${srv.port}`, '-starttls', 'smtp', '-servername', 'mail.example.test']);
    assert.match(out, /subject=CN ?= ?mail\.example\.test/);
    void run; // s_client sends nothing over TLS before stdin closes; the handshake is what counts.
  } finally {
    await close(srv.server);
  }
});
