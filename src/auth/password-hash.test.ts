/**
 * @module server/password-hash.test
 *
 * Every supported hash form accepts its password and refuses others, against
 * vectors made by independent implementations (Drepper's SHA-crypt
 * specification and `openssl passwd`, the crypt_blowfish test suite, the
 * argon2 reference README, passlib's scrypt documentation); unsupported
 * forms are named as such, at load time (`validatePasswordHash`) and at
 * check time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argon2d, argon2id, bcrypt } from 'hash-wasm';
import { hashKind, scryptHash, validatePasswordHash, verifyPasswordHash } from './password-hash.js';
import { parseShaCrypt, shaCrypt } from './sha-crypt.js';

/** [password, hash] pairs from outside Petrel. */
const VECTORS: ReadonlyArray<readonly [string, string]> = [
  // SHA-crypt: Drepper's specification, identical to `openssl passwd -5/-6 -salt …`.
  ['Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
  ['secret', '$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA'],
  ['secret', '$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1'],
  // The fixture test/fixtures/config/realistic/smarthost-relay.conf.
  ['barbaz-2026', '$6$PetrelFixture1$sXlHSS8FfUsm6HeXq/8T9BnogXeqwIJxUu4I/1xBcW9YO7NiEM4xTFADZMsdZd0qxXqaGckmm7hKdnXF8bJKC.'],
  // bcrypt: crypt_blowfish's test vectors; $2a$, $2b$ and $2y$ agree for such passwords.
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['U*U*', '$2b$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK'],
  ['U*U*U', '$2y$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a'],
  // argon2: the reference implementation's README.
  ['password', '$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'],
  // scrypt: passlib's documentation (its "adapted base64" is accepted).
  ['password', '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E'],
];

test('every supported hash form accepts its password and refuses a wrong one', async () => {
  for (const [password, hash] of VECTORS) {
    assert.equal(validatePasswordHash(hash), undefined, hash);
    assert.equal(await verifyPasswordHash(password, hash), 'match', hash);
    assert.equal(await verifyPasswordHash(`${password}x`, hash), 'mismatch', hash);
    assert.equal(await verifyPasswordHash(password.slice(1), hash), 'mismatch', hash);
  }
});

test('SHA-crypt produces exactly what the specification and openssl produce', () => {
  for (const [password, hash] of VECTORS.filter(([, h]) => hashKind(h) === 'sha-crypt')) assert.equal(shaCrypt(password, hash), hash);
  // A salt is cut to 16 characters; rounds below 1000 count as 1000 and are written back as such.
  assert.equal(shaCrypt('Hello world!', '$5$rounds=10000$saltstringsaltstring'), '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
  assert.equal(parseShaCrypt('$6$rounds=10$roundstoolow')?.rounds, 1000);
  // Non-ASCII passwords are hashed as UTF-8 bytes (openssl passwd -6 -salt s "pässwörd").
  assert.equal(shaCrypt('pässwörd', '$6$s'), '$6$s$6.Q1IjFDMXFFsfV/lNgBTvzU8UqKOoHrVC4vwAFCOOuDvnsgFNcjtsGUrdhqzvwc9T3/sYN/pjpd35T0s1ZKF0');
});

test('argon2id and argon2d hashes verify', async () => {
  const salt = Buffer.from('petrel-test-salt');
  for (const fn of [argon2id, argon2d]) {
    const hash = await fn({ password: 'correct horse', salt, iterations: 2, parallelism: 1, memorySize: 1024, hashLength: 32, outputType: 'encoded' });
    assert.equal(validatePasswordHash(hash), undefined);
    assert.equal(await verifyPasswordHash('correct horse', hash), 'match');
    assert.equal(await verifyPasswordHash('correct horsf', hash), 'mismatch');
  }
});

test('bcrypt: passwords longer than 72 bytes are cut to 72, as bcrypt always does', async () => {
  const long = 'p'.repeat(72);
  const hash = await bcrypt({ password: long, salt: Buffer.alloc(16, 7), costFactor: 4, outputType: 'encoded' });
  assert.equal(await verifyPasswordHash(long, hash), 'match');
  assert.equal(await verifyPasswordHash(`${long}and more`, hash), 'match');
  assert.equal(await verifyPasswordHash('p'.repeat(71), hash), 'mismatch');
  assert.equal(await verifyPasswordHash('', hash), 'mismatch');
});

test('scrypt: scryptHash makes hashes that verify; the format is $scrypt$ln=…,r=…,p=…$salt$hash', async () => {
  const hash = await scryptHash('s3cret', { ln: 10 });
  assert.match(hash, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(validatePasswordHash(hash), undefined);
  assert.equal(await verifyPasswordHash('s3cret', hash), 'match');
  assert.equal(await verifyPasswordHash('S3cret', hash), 'mismatch');
});

test('unsupported and malformed hashes are refused with a message, and never match', async () => {
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7', /yescrypt/],
    ['$1$saltsalt$qjXMvbEw8oaL.CzflDugX/', /MD5-crypt/],
    ['plain-text-password', /unknown password hash format/],
    ['$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', /unknown/],
    ['$2b$05$tooshort', /bcrypt/],
    ['$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', /cost/],
    ['$argon2id$v=16$m=1024,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', /argon2/],
    ['$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', /m ≤/],
    ['$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E', /scrypt/],
    ['$scrypt$ln=14,r=8,p=1$c2FsdA$c2hvcnQ', /scrypt/],
    ['$6$rounds=5000000$salt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1', /rounds at most/],
    ['$6$saltsalt$short', /SHA-crypt/],
  ];
  for (const [hash, message] of cases) {
    const err = validatePasswordHash(hash);
    assert.ok(err, hash);
    assert.match(err, message, hash);
    assert.ok(!err.includes(hash), 'the message does not echo the hash');
    assert.equal(await verifyPasswordHash('secret', hash), 'unsupported', hash);
  }
});
