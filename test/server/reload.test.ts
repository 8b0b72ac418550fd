/**
 * Reload: a bad file changes nothing and every error comes back; a good one
 * takes effect for new sessions without dropping the ones in progress, and
 * opens/closes listeners.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { freePort, startPetrel } from '../harness/petrel.js';

test('reload: invalid config is refused with every error; a valid one applies to new sessions and listeners', async () => {
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
<source 0/0>
    always-allow-relaying no
</source>
`);
  try {
    const file = path.join(p.dir, 'petrel.conf');
    const original = fs.readFileSync(file, 'utf8');
    const old = await SmtpTestClient.connect(p.port);
    await old.read();
    await old.cmd('EHLO x');
    await old.cmd('MAIL FROM:<a@example.test>');

    fs.writeFileSync(file, original + '\nmax-smtp-ot 3\n<domain *>\n  bounce-after 4x\n</domain>\n');
    const bad = await p.mta.reload();
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message.slice(0, 30)).length, 2);
    const c1 = await SmtpTestClient.connect(p.port);
    await c1.read();
    await c1.cmd('EHLO x');
    await c1.cmd('MAIL FROM:<a@example.test>');
    assert.match(text(await c1.cmd('RCPT TO:<x@example.com>')), /^550 5\.7\.1 /, 'the old policy still holds');
    c1.close();

    const newPort = await freePort();
    fs.writeFileSync(file, original.replace('always-allow-relaying no', 'always-allow-relaying yes') + `\nsmtp-listener 127.0.0.1:${newPort}\n`);
    const good = await p.mta.reload();
    assert.equal(good.ok, true, JSON.stringify(good.diagnostics));
    const c2 = await SmtpTestClient.connect(newPort);
    assert.equal((await c2.read())?.code, 220, 'the new listener is open');
    await c2.cmd('EHLO x');
    await c2.cmd('MAIL FROM:<a@example.test>');
    assert.equal((await c2.cmd('RCPT TO:<x@example.com>')).code, 250, 'new sessions follow the new policy');
    c2.close();
    // The session opened before the reload was not dropped.
    assert.equal((await old.cmd('RSET')).code, 250);
    old.close();

    fs.writeFileSync(file, original.replace(/smtp-listener 127\.0\.0\.1:\d+/, `smtp-listener 127.0.0.1:${newPort}`));
    assert.equal((await p.mta.reload()).ok, true);
    await assert.rejects(SmtpTestClient.connect(p.port), /ECONNREFUSED/, 'the removed listener is closed');
  } finally {
    await p.stop();
  }
});
