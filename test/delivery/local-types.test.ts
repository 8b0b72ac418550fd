/**
 * End to end, the queue types that do not speak SMTP (`<domain> type`):
 * `discard` reports delivered and sends nothing; `file` writes one file per
 * message into `file-destination` with `X-Sender:` / `X-Receiver:` lines
 * before the message; `pipe` runs `command` once per recipient with `$from`
 * and `$to` replaced by shell-quoted addresses and the message on standard
 * input — exit 0 delivered, 75 deferred, anything else bounced with the
 * command's stderr in the reply.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes, submit } from './helpers.js';

let dns: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;
let out: Outcomes;

const FROM = 'sender@petrel.test';

const DELIVER_SH = `#!/bin/sh
# $1 = envelope sender, $2 = recipient (both passed shell-quoted by Petrel)
case "$2" in
  tempfail*) echo "mailbox locked, try later" >&2; exit 75;;
  fail*) echo "no such mailbox" >&2; exit 1;;
esac
{ printf 'from=%s to=%s env-to=%s\\n' "$1" "$2" "$TO"; cat; } > "$(dirname "$0")/pipe/$2.out"
`;

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  // An MX for every local-type domain: proves nothing goes out over SMTP.
  sink = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.local.test' });
  dns.set('mx.local.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of ['discard.example.test', 'file.example.test', 'pipe.example.test']) dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.local.test' }]);
  petrel = await startPetrel(
    `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain discard.example.test>
    type discard
</domain>
<domain file.example.test>
    type file
    file-format newfile-plain
    file-destination {{DIR}}/files
</domain>
<domain pipe.example.test>
    type pipe
    command "/bin/sh {{DIR}}/deliver.sh $from $to"
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 30m
    connect-timeout 2s
</domain>
`,
    { noDelivery: false, queueTickMs: 100, files: { 'deliver.sh': DELIVER_SH } },
  );
  fs.mkdirSync(path.join(petrel.dir, 'pipe'));
  out = new Outcomes(petrel);
});

after(async () => {
  await petrel?.stop(500);
  await sink?.stop();
  await dns?.stop();
});

test('type discard: every recipient delivered, nothing sent', async () => {
  const m = await submit(petrel.port, FROM, ['a@discard.example.test', 'b@discard.example.test']);
  for (const r of m.rids) {
    const e = await out.outcome(r);
    assert.equal(e.type, 'delivered');
    assert.match(e.reply ?? '', /^250 .*discard/);
  }
  assert.equal(sink.connections.length, 0);
});

test('type file: one file in file-destination with X-Sender / X-Receiver lines, then the message', async () => {
  const m = await submit(petrel.port, FROM, ['a@file.example.test', 'b@file.example.test'], { body: 'Body written to a file.\r\n' });
  for (const r of m.rids) assert.equal((await out.outcome(r)).type, 'delivered');
  const file = path.join(petrel.dir, 'files', `${m.id}.eml`);
  const text = fs.readFileSync(file, 'latin1');
  assert.ok(text.startsWith('X-Sender: sender@petrel.test\r\nX-Receiver: a@file.example.test\r\nX-Receiver: b@file.example.test\r\n'), text.slice(0, 200));
  assert.match(text, /\r\nSubject: delivery suite\r\n/);
  assert.match(text, /\r\n\r\nBody written to a file\.\r\n$/);
  assert.deepEqual(fs.readdirSync(path.join(petrel.dir, 'files')).filter((f) => f.startsWith('.')), [], 'no temporary file left');
  assert.equal(sink.connections.length, 0);
});

test('type pipe: $from/$to shell-quoted; exit 0 delivered, 75 deferred, 1 bounced with stderr', async () => {
  const rcpts = ['accept@pipe.example.test', "o'brien`touch${IFS}pwned`|x&$HOME@pipe.example.test", 'tempfail-1@pipe.example.test', 'fail-1@pipe.example.test'];
  const m = await submit(petrel.port, FROM, rcpts, { body: 'Piped body.\r\n' });
  const [ok, quoted, temp, fail] = await Promise.all(m.rids.map((r) => out.outcome(r)));
  assert.equal(ok!.type, 'delivered');
  assert.equal(quoted!.type, 'delivered', JSON.stringify(quoted));
  assert.equal(temp!.type, 'deferred');
  assert.match(temp!.reply ?? '', /^451 4\.3\.0 command exit 75: mailbox locked, try later/);
  assert.equal(fail!.type, 'bounced');
  assert.match(fail!.reply ?? '', /^554 5\.3\.0 command exit 1: no such mailbox/);

  const dir = path.join(petrel.dir, 'pipe');
  const first = fs.readFileSync(path.join(dir, 'accept@pipe.example.test.out'), 'latin1');
  assert.ok(first.startsWith('from=sender@petrel.test to=accept@pipe.example.test env-to=accept@pipe.example.test\n'), first.slice(0, 200));
  assert.match(first, /\r\n\r\nPiped body\.\r\n$/);
  // The odd address arrived as one argument, unexpanded, and nothing it contains was run.
  assert.ok(fs.existsSync(path.join(dir, "o'brien`touch${IFS}pwned`|x&$HOME@pipe.example.test.out")), fs.readdirSync(dir).join(', '));
  assert.ok(!fs.existsSync(path.join(petrel.dir, 'pwned')) && !fs.existsSync(path.join(process.cwd(), 'pwned')));
  assert.equal(sink.connections.length, 0);
});
