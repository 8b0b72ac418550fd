/**
 * `petrel probe` against real peers on loopback:
 *  - Petrel with three listeners: STARTTLS + AUTH only after TLS (plays 587),
 *    no TLS + AUTH PLAIN in clear (plays 2525), implicit TLS (plays 465);
 *  - a private Postfix smtpd with STARTTLS and Cyrus SASL after TLS (plays 25);
 *  - a closed port (refused).
 * The standard port numbers are not free on loopback, so every port is
 * passed as STANDARD=PORT. A port that *times out* (filtered) cannot be
 * produced reliably on loopback: that path is covered by recommend.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, TLS_DIR, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { probe, type PortProbe, type ProbeResult } from '../../src/probe/probe.js';
import { factsOf, recommend } from '../../src/probe/recommend.js';
import { POSTFIX_NAME, havePostfix, startPostfixPeer, type PostfixPeer } from './postfix-peer.js';

const CONFIG = `
host-name mx.petrel.test
smtp-listener 127.0.0.1:{{PORT}} source=submission
smtp-listener 127.0.0.1:{{PORT2}} source=cleartext
smtp-listener 127.0.0.1:{{PORT3}} tls=implicit source=submission
smtp-server-tls-certificate {{TLS}}/mail.example.test.pem
<smtp-user alice>
    password "s3cret pass"
</smtp-user>
<source submission>
    require-starttls-before-auth yes
</source>
<source cleartext>
    allow-starttls no
    allow-unencrypted-plain-auth yes
</source>
`;

const HELO = 'probe.example.test';
const CERT_PEM = path.join(TLS_DIR, 'mail.example.test.pem');
const postfixAvailable = havePostfix();

let petrel: RunningPetrel;
let postfix: PostfixPeer | undefined;
let starttlsPort: number;
let clearPort: number;
let implicitPort: number;
let closedPort: number;

before(async () => {
  petrel = await startPetrel(CONFIG);
  [starttlsPort, clearPort, implicitPort] = petrel.ports as [number, number, number];
  closedPort = await freePort();
  if (postfixAvailable) postfix = await startPostfixPeer();
});
after(async () => {
  await postfix?.stop();
  await petrel?.stop();
});

function byPort(r: ProbeResult, port: number): PortProbe {
  const p = r.ports.find((x) => x.port === port);
  assert.ok(p, `port ${port} in the result`);
  return p;
}

/** The parts of a STARTTLS/implicit probe of Petrel's certificate that do not depend on the port. */
function assertPetrelCertificate(p: PortProbe, checkedName: string, verified: boolean): void {
  const t = p.tls!;
  assert.ok(t, 'TLS info');
  assert.match(t.protocol, /^TLSv1\.[23]$/);
  assert.ok(t.cipher.length > 0 && t.cipher !== 'unknown');
  assert.equal(t.certificate?.subject, 'CN=mail.example.test');
  assert.equal(t.certificate?.commonName, 'mail.example.test');
  assert.equal(t.certificate?.issuer, 'CN=mail.example.test');
  assert.equal(t.certificate?.selfIssued, true);
  assert.deepEqual(t.certificate?.subjectAltNames, ['DNS:mail.example.test']);
  assert.ok(Date.parse(t.certificate!.validFrom) < Date.now() && Date.now() < Date.parse(t.certificate!.validTo));
  assert.match(t.certificate!.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(t.checkedName, checkedName);
  assert.equal(t.timeValid, true);
  assert.equal(t.verified, verified);
  if (!verified) {
    assert.equal(t.trusted, false);
    assert.match(t.trustError ?? '', /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.equal(t.nameMatches, false);
    assert.match(t.nameError ?? '', /127\.0\.0\.1/);
  } else {
    assert.equal(t.trusted, true);
    assert.equal(t.nameMatches, true);
  }
}

describe('probe: Petrel listeners, Postfix, a closed port', () => {
  let result: ProbeResult;
  before(async () => {
    result = await probe({
      host: '127.0.0.1',
      ports: [
        { port: starttlsPort, standard: 587, implicitTls: false },
        { port: implicitPort, standard: 465, implicitTls: true },
        { port: clearPort, standard: 2525, implicitTls: false },
        ...(postfix ? [{ port: postfix.port, standard: 25, implicitTls: false }] : []),
        { port: closedPort, standard: null, implicitTls: false },
      ],
      timeoutMs: 5000,
      helo: HELO,
    });
  });

  test('the result names the host, address, EHLO name, and keeps the order of the ports', () => {
    assert.equal(result.host, '127.0.0.1');
    assert.equal(result.address, '127.0.0.1');
    assert.equal(result.tlsName, '127.0.0.1');
    assert.equal(result.helo, HELO);
    assert.equal(result.resolveError, undefined);
    assert.deepEqual(
      result.ports.map((p) => [p.port, p.role]),
      [[starttlsPort, 'submission'], [implicitPort, 'submissions'], [clearPort, 'alternative'], ...(postfix ? [[postfix.port, 'relay']] : []), [closedPort, 'custom']],
    );
  });

  test('STARTTLS port: banner, EHLO, STARTTLS done, certificate, AUTH only after TLS, QUIT', () => {
    const p = byPort(result, starttlsPort);
    assert.equal(p.status, 'tls');
    assert.equal(p.connect.outcome, 'open');
    assert.ok(p.connect.ms >= 0);
    assert.equal(p.banner?.code, 220);
    assert.deepEqual(p.banner?.lines, ['mx.petrel.test ESMTP Petrel']);
    assert.equal(p.ehlo?.code, 250);
    assert.equal(p.ehlo?.startTls, true);
    assert.ok(p.ehlo?.extensions.includes('STARTTLS'));
    assert.ok(p.ehlo?.extensions.includes('PIPELINING'));
    assert.ok(!p.ehlo?.extensions.some((e) => e.startsWith('AUTH')), 'no AUTH in clear (require-starttls-before-auth)');
    assert.deepEqual(p.starttls?.offered, true);
    assert.deepEqual(p.starttls?.done, true);
    assert.equal(p.starttls?.reply?.code, 220);
    assert.equal(p.tls?.via, 'starttls');
    assertPetrelCertificate(p, '127.0.0.1', false);
    assert.equal(p.ehloTls?.code, 250);
    assert.ok(!p.ehloTls?.extensions.includes('STARTTLS'), 'STARTTLS not offered again under TLS');
    assert.deepEqual(p.auth, { beforeTls: [], afterTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'] });
    assert.equal(p.quit?.code, 221);
    assert.deepEqual(
      p.steps.map((s) => [s.name, s.ok]),
      [['connect', true], ['banner', true], ['ehlo', true], ['starttls', true], ['tls', true], ['ehlo-tls', true], ['quit', true]],
    );
    assert.ok(p.steps.every((s) => s.ms >= 0));
    assert.equal(p.error, undefined);
  });

  test('implicit-TLS port: handshake first, then banner and EHLO under TLS; no "before TLS"', () => {
    const p = byPort(result, implicitPort);
    assert.equal(p.status, 'tls');
    assert.equal(p.implicitTls, true);
    assert.equal(p.tls?.via, 'implicit');
    assertPetrelCertificate(p, '127.0.0.1', false);
    assert.equal(p.banner?.code, 220);
    assert.equal(p.ehlo, undefined);
    assert.equal(p.starttls, undefined);
    assert.equal(p.ehloTls?.code, 250);
    assert.deepEqual(p.auth, { beforeTls: null, afterTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'] });
    assert.deepEqual(
      p.steps.map((s) => s.name),
      ['connect', 'tls', 'banner', 'ehlo-tls', 'quit'],
    );
  });

  test('port without TLS: STARTTLS not offered, AUTH PLAIN LOGIN in clear', () => {
    const p = byPort(result, clearPort);
    assert.equal(p.status, 'plain');
    assert.equal(p.ehlo?.startTls, false);
    assert.deepEqual(p.starttls, { offered: false, done: false });
    assert.equal(p.tls, undefined);
    assert.equal(p.ehloTls, undefined);
    assert.deepEqual(p.auth, { beforeTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'], afterTls: null });
    assert.equal(p.quit?.code, 221);
  });

  test('closed port: refused (closed), nothing else', () => {
    const p = byPort(result, closedPort);
    assert.equal(p.status, 'blocked');
    assert.equal(p.connect.outcome, 'refused');
    assert.equal(p.connect.errorCode, 'ECONNREFUSED');
    assert.equal(p.connect.description, 'refused (closed)');
    assert.equal(p.banner, undefined);
    assert.deepEqual(p.auth, { beforeTls: null, afterTls: null });
    assert.deepEqual(p.steps.map((s) => [s.name, s.ok]), [['connect', false]]);
  });

  test('Postfix: banner, STARTTLS with the test certificate, AUTH (Cyrus) only after TLS', { skip: !postfixAvailable && 'postfix is not installed' }, () => {
    const p = byPort(result, postfix!.port);
    assert.equal(p.status, 'tls', JSON.stringify(p.steps));
    assert.equal(p.role, 'relay');
    assert.equal(p.banner?.code, 220);
    assert.match(p.banner!.lines.join(' '), new RegExp(`^${POSTFIX_NAME.replace(/\./g, '\\.')} ESMTP Postfix`));
    assert.match(p.ehlo!.lines[0]!, new RegExp(`^${POSTFIX_NAME.replace(/\./g, '\\.')}$`));
    assert.ok(p.ehlo?.extensions.includes('PIPELINING'));
    assert.ok(p.ehlo?.extensions.some((e) => /^SIZE \d+$/.test(e)));
    assert.equal(p.ehlo?.startTls, true);
    assert.equal(p.starttls?.done, true);
    assert.match(p.starttls?.reply?.lines[0] ?? '', /Ready to start TLS/);
    assert.equal(p.tls?.via, 'starttls');
    assert.equal(p.tls?.certificate?.subject, 'CN=mail.example.test');
    assert.match(p.tls!.protocol, /^TLSv1\.[23]$/);
    assert.deepEqual(p.auth.beforeTls, []);
    assert.ok(p.auth.afterTls?.includes('PLAIN') && p.auth.afterTls.includes('LOGIN'), String(p.auth.afterTls));
    assert.equal(p.quit?.code, 221);
  });

  test('recommendation: 587 with STARTTLS, 465 also works, 25 kept for relay; warnings for clear AUTH, no STARTTLS, certificate', () => {
    const rec = recommend(result.ports.map(factsOf));
    assert.equal(rec.ok, true);
    assert.deepEqual(rec.use, { port: starttlsPort, standard: 587, security: 'starttls' });
    assert.equal(rec.parts[0], `use ${starttlsPort} (as 587) with STARTTLS (AUTH PLAIN LOGIN CRAM-MD5 offered only after TLS)`);
    assert.equal(rec.parts[1], `${implicitPort} (as 465) with implicit TLS also works`);
    if (postfix) assert.equal(rec.parts[2], `${postfix.port} (as 25) answers with STARTTLS — keep it for server-to-server relay, not for submission`);
    assert.equal(rec.summary, rec.parts.join('; '));
    const certPorts = `${starttlsPort} (as 587), ${implicitPort} (as 465)${postfix ? `, ${postfix.port} (as 25)` : ''}`;
    assert.deepEqual(rec.warnings, [
      `certificate does not match 127.0.0.1 on ${certPorts} (it names mail.example.test)`,
      `certificate on ${certPorts} is not trusted: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`,
      `${clearPort} (as 2525) offers AUTH PLAIN LOGIN before TLS: credentials could cross the network in clear`,
      `${clearPort} (as 2525) offers no STARTTLS: mail and credentials would cross the network in clear`,
    ]);
  });
});

describe('probe: 587 blocked, 2525 works; certificate checked against its name with --ca', () => {
  test('"587 is blocked: use 2525 with STARTTLS", and the certificate verifies', async () => {
    const result = await probe({
      host: '127.0.0.1',
      ports: [
        { port: closedPort, standard: 587, implicitTls: false },
        { port: starttlsPort, standard: 2525, implicitTls: false },
      ],
      timeoutMs: 5000,
      helo: HELO,
      tlsName: 'mail.example.test',
      ca: fs.readFileSync(CERT_PEM),
    });
    const p = byPort(result, starttlsPort);
    assertPetrelCertificate(p, 'mail.example.test', true);
    const rec = recommend(result.ports.map(factsOf));
    assert.equal(rec.ok, true);
    assert.equal(rec.summary, `${closedPort} (as 587) is blocked (refused): use ${starttlsPort} (as 2525) with STARTTLS (AUTH PLAIN LOGIN CRAM-MD5 offered only after TLS)`);
    assert.deepEqual(rec.warnings, []);
  });
});

describe('probe: nothing works', () => {
  test('an implicit-TLS probe of a plain SMTP port fails the handshake; no submission port works', async () => {
    const result = await probe({
      host: '127.0.0.1',
      ports: [
        { port: closedPort, standard: 587, implicitTls: false },
        { port: clearPort, standard: 465, implicitTls: true },
      ],
      timeoutMs: 5000,
      helo: HELO,
    });
    const p = byPort(result, clearPort);
    assert.equal(p.status, 'failed');
    assert.equal(p.connect.outcome, 'open');
    assert.match(p.error ?? '', /^TLS handshake failed/);
    assert.deepEqual(p.steps.map((s) => [s.name, s.ok]), [['connect', true], ['tls', false]]);
    const rec = recommend(result.ports.map(factsOf));
    assert.equal(rec.ok, false);
    assert.equal(rec.use, null);
    assert.match(rec.parts[0]!, new RegExp(`^no submission port works from here: ${closedPort} \\(as 587\\) is blocked \\(refused\\), ${clearPort} \\(as 465\\) does not work: TLS handshake failed`));
    assert.equal(rec.parts[1], 'try 2525 (--ports 2525)');
    assert.ok(rec.warnings.some((w) => w.includes('does it expect STARTTLS rather than implicit TLS?')));
  });
});

describe('probe: a host name (resolved by an injected resolver: no DNS query leaves the machine)', () => {
  test('the certificate is checked against the host name, which is also sent as SNI', async () => {
    const asked: string[] = [];
    const result = await probe({
      host: 'mail.example.test',
      ports: [{ port: implicitPort, standard: 465, implicitTls: true }],
      timeoutMs: 5000,
      helo: HELO,
      lookup: async (h) => {
        asked.push(h);
        return { address: '127.0.0.1', family: 4 };
      },
    });
    assert.deepEqual(asked, ['mail.example.test']);
    assert.equal(result.address, '127.0.0.1');
    assert.equal(result.tlsName, 'mail.example.test');
    const t = byPort(result, implicitPort).tls!;
    assert.equal(t.nameMatches, true);
    assert.equal(t.trusted, false, 'self-signed, no --ca');
    assert.equal(t.verified, false);
    const rec = recommend(result.ports.map(factsOf));
    assert.deepEqual(rec.warnings, [`certificate on ${implicitPort} (as 465) is not trusted: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`]);
  });

  test('a name that does not resolve: resolveError, no port probed', async () => {
    const result = await probe({
      host: 'nowhere.example.test',
      ports: [{ port: starttlsPort, standard: 587, implicitTls: false }],
      timeoutMs: 5000,
      helo: HELO,
      lookup: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.test'), { code: 'ENOTFOUND' });
      },
    });
    assert.equal(result.address, null);
    assert.equal(result.resolveError, 'cannot resolve nowhere.example.test: ENOTFOUND');
    assert.deepEqual(result.ports, []);
  });
});

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Asynchronous: Petrel runs in this process and must keep answering.
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the real CLI', () => {
  test('petrel probe 127.0.0.1 --ports … --json: the structure, the recommendation, exit 0', async () => {
    const ports = `587=${starttlsPort},465=${implicitPort},2525=${clearPort},${closedPort}`;
    const r = await cli(['probe', '127.0.0.1', '--ports', ports, '--helo', HELO, '--timeout', '5s', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { probe: ProbeResult; recommendation: ReturnType<typeof recommend> };
    assert.equal(j.probe.host, '127.0.0.1');
    assert.equal(j.probe.timeoutMs, 5000);
    assert.deepEqual(j.probe.ports.map((p) => [p.port, p.standard, p.status]), [
      [starttlsPort, 587, 'tls'],
      [implicitPort, 465, 'tls'],
      [clearPort, 2525, 'plain'],
      [closedPort, null, 'blocked'],
    ]);
    assert.equal(j.probe.ports[1]!.implicitTls, true, '465=PORT implies implicit TLS');
    assert.equal(j.probe.ports[0]!.tls?.certificate?.commonName, 'mail.example.test');
    assert.deepEqual(j.probe.ports[0]!.auth, { beforeTls: [], afterTls: ['PLAIN', 'LOGIN', 'CRAM-MD5'] });
    assert.equal(j.probe.ports[3]!.connect.description, 'refused (closed)');
    assert.match(j.recommendation.summary, new RegExp(`^use ${starttlsPort} \\(as 587\\) with STARTTLS \\(AUTH PLAIN LOGIN CRAM-MD5 offered only after TLS\\); ${implicitPort} \\(as 465\\) with implicit TLS also works$`));
  });

  test('human output: one row per port, then the recommendation and warnings; exit 1 when no submission port works', async () => {
    const ok = await cli(['probe', '127.0.0.1', '--ports', `587=${starttlsPort},${closedPort}`, '--helo', HELO]);
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('PORT '));
    assert.ok(header > 0, ok.stdout);
    assert.match(lines[header]!, /PORT\s+ROLE\s+TCP\s+BANNER\s+TLS\s+CERTIFICATE\s+AUTH BEFORE TLS\s+AUTH AFTER TLS\s+RESULT/);
    assert.match(lines[header + 1]!, new RegExp(`^${starttlsPort} \\(as 587\\)\\s+submission \\(STARTTLS\\)\\s+\\S+ ms\\s+220 \\S+ ms\\s+STARTTLS TLSv1\\.[23]\\s+mail\\.example\\.test, untrusted, name mismatch\\s+none\\s+PLAIN LOGIN CRAM-MD5\\s+works, with TLS$`));
    assert.match(lines[header + 2]!, new RegExp(`^${closedPort}\\s+custom\\s+refused\\s+blocked: refused \\(closed\\)$`));
    assert.match(ok.stdout, /subject: +CN=mail\.example\.test/);
    assert.match(ok.stdout, /verifies for 127\.0\.0\.1: no \(untrusted: self-signed certificate/);
    assert.match(ok.stdout, new RegExp(`\\nRecommendation: use ${starttlsPort} \\(as 587\\) with STARTTLS`));
    assert.match(ok.stdout, /\nWarnings:\n {2}- certificate does not match 127\.0\.0\.1/);

    const none = await cli(['probe', '127.0.0.1', '--ports', `587=${closedPort}`]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /Recommendation: no submission port works from here/);
  });

  test('usage errors exit 2', async () => {
    for (const args of [
      ['probe', '127.0.0.1', '--ports', '70000'],
      ['probe', '127.0.0.1', '--ports', '587=10587,10587'],
      ['probe', '127.0.0.1', '--ports', '588=10587'],
      ['probe', '127.0.0.1', '--timeout', 'soon'],
      ['probe', '127.0.0.1', '--helo', 'bad name!'],
      ['probe'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
  });
});
