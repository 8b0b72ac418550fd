/**
 * Password checks on the worker pool answer exactly as in process, and the
 * event loop keeps turning while an expensive one is computed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { argon2id } from 'hash-wasm';
import { closeHashPool, verifyPasswordHashOffLoop } from './hash-pool.js';
import { verifyPasswordHash } from './password-hash.js';

after(() => closeHashPool());

/** One vector of each scheme (sources in password-hash.test.ts). */
const VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['password', '$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'],
  ['password', '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E'],
];

test('the pool accepts the right password, refuses a wrong one, and names unusable hashes, as the in-process check does', async () => {
  const cases = [
    ...VECTORS.flatMap(([pw, hash]) => [
      [pw, hash, 'match'],
      [`${pw}x`, hash, 'mismatch'],
    ]),
    ['x', '$y$j9T$abc$def', 'unsupported'],
    ['x', '$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub', 'unsupported'],
  ] as const;
  // All at once: more checks than workers, answered each to its own caller.
  const got = await Promise.all(cases.map(([pw, hash]) => verifyPasswordHashOffLoop(pw, hash)));
  assert.deepEqual(got, cases.map((c) => c[2]));
  for (const [pw, hash, want] of cases) assert.equal(await verifyPasswordHash(pw, hash), want, 'same answer in process');
});

test('while an expensive argon2id check runs, timers keep firing on the main thread', async () => {
  const salt = Buffer.from('petrel-pool-salt');
  const hash = `$argon2id$v=19$m=65536,t=6,p=1$${salt.toString('base64').replace(/=+$/, '')}$${Buffer.from(
    await argon2id({ password: 'pw', salt, iterations: 6, parallelism: 1, memorySize: 65536, hashLength: 32, outputType: 'binary' }),
  )
    .toString('base64')
    .replace(/=+$/, '')}`;
  await verifyPasswordHashOffLoop('warm-up', '$2a$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    assert.equal(await verifyPasswordHashOffLoop('pw', hash), 'match');
  } finally {
    clearInterval(timer);
  }
  // In process the check is one synchronous WebAssembly call: no timer could fire until it ends.
  assert.ok(ticks >= 5, `the main thread ran timers during the check (${ticks} ticks)`);
});

test('the built package (dist/, no tsx) checks on its worker and exits when idle', async () => {
  const { execFile } = await import('node:child_process');
  const dist = new URL('../../dist/auth/hash-pool.js', import.meta.url);
  const code = `
    const { verifyPasswordHashOffLoop } = await import(${JSON.stringify(dist.href)});
    const h = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    console.log(await verifyPasswordHashOffLoop('U*U', h), await verifyPasswordHashOffLoop('nope', h));`;
  // No --import tsx here: this is how `petrel start` runs. The child must exit by itself (idle workers are unref'd).
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  assert.equal(out.trim(), 'match mismatch');
});
