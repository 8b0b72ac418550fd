/**
 * @module server/credentials.test
 *
 * `UserDirectory` against configurations a user would write: clear and
 * hashed passwords, CRAM-MD5 secrets, system accounts in a shadow file, and
 * TLS client certificates presented over a real loopback TLS connection
 * (`client-alice`, signed by the test CA; a self-signed certificate; none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadConfigText } from '../config/loader.js';
import type { PetrelConfig } from '../config/model.js';
import { cramMd5Digest, verifyCramMd5 } from '../smtp/sasl.js';
import { CredentialStoreError, UserDirectory, validatePasswordHash, type AuthResult } from './credentials.js';
import { buildServerTls } from './tls.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/tls/', import.meta.url));
const ALICE = fs.readFileSync(`${DIR}client-alice.pem`);
const SELF_SIGNED = fs.readFileSync(`${DIR}mail.example.test.pem`);
const ALICE_FP = new X509Certificate(fs.readFileSync(`${DIR}client-alice.crt`)).fingerprint256;

const SHA512_BARBAZ = '$6$PetrelFixture1$sXlHSS8FfUsm6HeXq/8T9BnogXeqwIJxUu4I/1xBcW9YO7NiEM4xTFADZMsdZd0qxXqaGckmm7hKdnXF8bJKC.';
const BCRYPT_UU = '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
const ARGON2I_PASSWORD = '$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';
const SCRYPT_PASSWORD = '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E';

function config(text: string): PetrelConfig {
  const r = loadConfigText(text, '/virtual/petrel.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return r.config!;
}

const USERS = config(`
smtp-server-tls-certificate ${DIR}mail.example.test.pem
smtp-server-tls-client-ca ${DIR}ca.crt
<source {auth}>
    always-allow-relaying yes
</source>
<smtp-user plain@example.test>
    password "Pa ss""word"
    source {auth}
</smtp-user>
<smtp-user billing-app@example.net>
    password-hash ${SHA512_BARBAZ}
    source {auth}
</smtp-user>
<smtp-user both>
    password "clear-text"
    password-hash ${BCRYPT_UU}
</smtp-user>
<smtp-user argon>
    password-hash ${ARGON2I_PASSWORD}
</smtp-user>
<smtp-user scrypt>
    password-hash ${SCRYPT_PASSWORD}
</smtp-user>
<smtp-user alice>
    authentication-method certificate
    source {auth}
</smtp-user>
<smtp-user robot>
    authentication-method certificate
    certificate-fingerprint ${ALICE_FP}
</smtp-user>
<smtp-user bob>
    authentication-method certificate
</smtp-user>
<smtp-user carol>
    authentication-method system
</smtp-user>
<smtp-user dave>
    authentication-method system
</smtp-user>
<smtp-user erin>
    authentication-method system
</smtp-user>
<smtp-user frank>
    authentication-method system
</smtp-user>
<smtp-user gina>
    authentication-method system
</smtp-user>
<smtp-user nobody-here>
    authentication-method system
</smtp-user>
`);

const fail = (reason: string): AuthResult => ({ ok: false, reason }) as AuthResult;

test('clear-text passwords: right, wrong, empty, unknown user; sources come with success', async () => {
  const dir = new UserDirectory(USERS);
  assert.deepEqual(await dir.verifyPassword('plain@example.test', 'Pa ss"word'), { ok: true, user: 'plain@example.test', sources: ['{auth}'] });
  assert.deepEqual(await dir.verifyPassword('plain@example.test', 'Pa ss"wor'), fail('bad-password'));
  assert.deepEqual(await dir.verifyPassword('plain@example.test', ''), fail('bad-password'));
  assert.deepEqual(await dir.verifyPassword('PLAIN@example.test', 'Pa ss"word'), fail('unknown-user'), 'user names match exactly');
  assert.deepEqual(await dir.verifyPassword('mallory', 'x'), fail('unknown-user'));
  assert.deepEqual(dir.userSources('alice'), ['{auth}']);
  assert.deepEqual(dir.userSources('argon'), []);
});

test('password-hash users: SHA-512-crypt, bcrypt, argon2, scrypt; an unsupported hash says so', async () => {
  const dir = new UserDirectory(USERS);
  assert.equal((await dir.verifyPassword('billing-app@example.net', 'barbaz-2026')).ok, true);
  assert.deepEqual(await dir.verifyPassword('billing-app@example.net', 'barbaz-2025'), fail('bad-password'));
  assert.equal((await dir.verifyPassword('argon', 'password')).ok, true);
  assert.deepEqual(await dir.verifyPassword('argon', 'Password'), fail('bad-password'));
  assert.equal((await dir.verifyPassword('scrypt', 'password')).ok, true);
  assert.deepEqual(await dir.verifyPassword('scrypt', 'passwort'), fail('bad-password'));
  // With both, the hash is the secret and the clear password is ignored.
  assert.equal((await dir.verifyPassword('both', 'U*U')).ok, true);
  assert.deepEqual(await dir.verifyPassword('both', 'clear-text'), fail('bad-password'));
  // An unusable hash never gets this far: the configuration loader refuses it, naming the line.
  const refused = loadConfigText('<smtp-user legacy>\n    password-hash $1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n</smtp-user>\n', '/virtual/legacy.conf');
  assert.equal(refused.config, undefined);
  assert.match(refused.diagnostics[0]!.message, /password-hash.*MD5-crypt/);
  assert.equal(refused.diagnostics[0]!.pos.line, 2);
  // The loader can refuse it up front.
  assert.match(validatePasswordHash('$1$saltsalt$qjXMvbEw8oaL.CzflDugX/') ?? '', /MD5-crypt/);
});

test('CRAM-MD5 works only for users with a clear password', () => {
  const dir = new UserDirectory(USERS);
  const challenge = '<1896.697170952@mx.example.test>';
  const secret = dir.cramMd5Secret('plain@example.test');
  assert.equal(secret, 'Pa ss"word');
  assert.equal(verifyCramMd5(challenge, secret!, cramMd5Digest(challenge, 'Pa ss"word')), true);
  assert.equal(dir.cramMd5Secret('billing-app@example.net'), undefined, 'hash only');
  assert.equal(dir.cramMd5Secret('both'), undefined, 'the hash wins over the clear password');
  assert.equal(dir.cramMd5Secret('carol'), undefined, 'system user');
  assert.equal(dir.cramMd5Secret('alice'), undefined, 'certificate user');
  assert.equal(dir.cramMd5Secret('mallory'), undefined);
});

// ---- System accounts ---------------------------------------------------------------

const CAROL = '$6$shadowsalt$6PTa/sEqEpaCkhKAaXNlXXUjycCoAla2JbUISbILvoBknJJyp7QHQVWsP9jMlxu.OaQqq/6HVNmf34PO3fUlz.'; // carol-pw
const DAVE = '$6$shadowsalt2$9QBPNN7jh886886PPWKhdb8xalnR9ZrvVDXLoWv3uizKA9EPHEQ15x2bDjgeNC168z9BRNM34s7c5INtxdiUi0'; // dave-pw

function shadowFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-shadow-')), 'shadow');
  fs.writeFileSync(
    file,
    [
      'root:*:19000:0:99999:7:::',
      `carol:${CAROL}:19000:0:99999:7:::`,
      `dave:!${DAVE}:19000:0:99999:7:::`, // locked with passwd -l
      'erin:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7:19000:0:99999:7:::',
      `frank:${DAVE}:19000:0:99999:7::19001:`, // expired on day 19001 (2022-01-02)
      'gina::19000:0:99999:7:::', // no password at all
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

test('system users are checked against the shadow file', async () => {
  const file = shadowFile();
  try {
    const dir = new UserDirectory(USERS, { shadowFile: file });
    assert.deepEqual(await dir.verifyPassword('carol', 'carol-pw'), { ok: true, user: 'carol', sources: [] });
    assert.deepEqual(await dir.verifyPassword('carol', 'carol-pw '), fail('bad-password'));
    assert.deepEqual(await dir.verifyPassword('dave', 'dave-pw'), fail('bad-password'), 'locked account');
    assert.deepEqual(await dir.verifyPassword('erin', 'anything'), fail('unsupported-hash'), 'yescrypt');
    assert.deepEqual(await dir.verifyPassword('frank', 'dave-pw'), fail('bad-password'), 'expired account');
    assert.deepEqual(await dir.verifyPassword('gina', ''), fail('bad-password'), 'passwordless account');
    assert.deepEqual(await dir.verifyPassword('nobody-here', 'x'), fail('unknown-user'), 'no such system account');
    // A password change applies at once: the file is read on every attempt.
    fs.writeFileSync(file, `carol:${DAVE}:19000:0:99999:7:::\n`);
    assert.deepEqual(await dir.verifyPassword('carol', 'carol-pw'), fail('bad-password'));
    assert.equal((await dir.verifyPassword('carol', 'dave-pw')).ok, true);
    // Before its expiry day an account works.
    const early = new UserDirectory(USERS, { shadowFile: file, now: () => Date.UTC(2021, 0, 1) });
    fs.writeFileSync(file, `frank:${DAVE}:19000:0:99999:7::19001:\n`);
    assert.equal((await early.verifyPassword('frank', 'dave-pw')).ok, true);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test('an unreadable shadow file is environment trouble (CredentialStoreError), not a wrong password', async () => {
  const dir = new UserDirectory(USERS, { shadowFile: '/nonexistent/petrel/shadow' });
  await assert.rejects(dir.verifyPassword('carol', 'carol-pw'), (e: unknown) => e instanceof CredentialStoreError && e.errno === 'ENOENT' && !/carol-pw/.test(e.message));
  const injected = new UserDirectory(USERS, { readFile: async () => `carol:${CAROL}:::::::\n` });
  assert.equal((await injected.verifyPassword('carol', 'carol-pw')).ok, true);
});

test('password and certificate methods do not cross', async () => {
  const dir = new UserDirectory(USERS);
  assert.deepEqual(await dir.verifyPassword('alice', 'anything'), fail('method-not-allowed'));
});

// ---- Certificates over a real TLS connection ---------------------------------------

/** Connects to a TLS server built from USERS with `clientOpts` and returns what `check` says about the server side. */
async function withClientCert(clientOpts: tls.ConnectionOptions, check: (s: tls.TLSSocket) => AuthResult): Promise<AuthResult> {
  const st = buildServerTls(USERS)!;
  let result: AuthResult | undefined;
  const server = tls.createServer(st.tlsServerOptions(), (s) => {
    s.on('error', () => {});
    result = check(s);
    s.end('done\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await new Promise<void>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...clientOpts });
      c.on('data', () => {});
      c.on('end', () => resolve());
      c.on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.ok(result);
  return result;
}

test('certificate users: alice with her CA-signed certificate, by name or by the certificate alone', async () => {
  const dir = new UserDirectory(USERS);
  const alice = { cert: ALICE, key: ALICE };
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate('alice', s)), { ok: true, user: 'alice', sources: ['{auth}'] });
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate(undefined, s)), { ok: true, user: 'alice', sources: ['{auth}'] });
  // A user pinned to the certificate's fingerprint.
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate('robot', s)), { ok: true, user: 'robot', sources: [] });
  // Alice's certificate does not name bob.
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate('bob', s)), fail('certificate-mismatch'));
  // A password user cannot log in by certificate; an unknown name is unknown.
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate('plain@example.test', s)), fail('method-not-allowed'));
  assert.deepEqual(await withClientCert(alice, (s) => dir.verifyCertificate('mallory', s)), fail('unknown-user'));
});

test('certificate users: a self-signed certificate is not authorized, and no certificate is no certificate', async () => {
  const dir = new UserDirectory(USERS);
  const stranger = { cert: SELF_SIGNED, key: SELF_SIGNED };
  assert.deepEqual(await withClientCert(stranger, (s) => dir.verifyCertificate('alice', s)), fail('certificate-mismatch'));
  assert.deepEqual(await withClientCert(stranger, (s) => dir.verifyCertificate(undefined, s)), fail('certificate-mismatch'));
  assert.deepEqual(await withClientCert({}, (s) => dir.verifyCertificate('alice', s)), fail('no-certificate'));
  assert.deepEqual(await withClientCert({}, (s) => dir.verifyCertificate(undefined, s)), fail('no-certificate'));
});
