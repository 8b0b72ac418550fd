/**
 * Bounces, feedback loops, accounting and suppression end to end: a DSN
 * posted to the bounce domain becomes an `rb` record and suppresses the
 * address; an ARF report to the FBL domain becomes an `f` record; a 550 at
 * the remote MX becomes a `b` record, a delivery a `d` record, acceptance
 * `r` records; hostile input is consumed without a crash and without a bounce.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { SmtpTestClient, text } from '../harness/smtp-client.js';
import { ROOT, freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'bounce');
let dns: TestDnsServer;
let sink: SmtpSink;
let petrel: RunningPetrel;

before(async () => {
  dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  sink = await SmtpSink.start({ host: '127.0.0.2', port });
  dns.set('mx.remote.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  dns.set('remote.example.test', [{ type: 'MX', preference: 10, exchange: 'mx.remote.example.test' }]);
  petrel = await startPetrel(
    `
host-name mx.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
relay-domain bounces.example.test
relay-domain fbl.example.test
<bounce-processor>
    deliver-unmatched-email no
    deliver-matched-email no
    <address-list>
        domain bounces.example.test
    </address-list>
</bounce-processor>
<feedback-loop-processor>
    deliver-unmatched-email no
    <address-list>
        domain fbl.example.test
    </address-list>
</feedback-loop-processor>
<acct-file {{DIR}}/acct.csv>
    records d,b,t,r,rb,f
</acct-file>
<source 127.0.0.1>
    always-allow-relaying yes
    use-suppression-list yes
</source>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 1m
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
});

after(async () => {
  await petrel?.stop();
  await sink?.stop();
  await dns?.stop();
});

async function send(from: string, to: string, body: Buffer | string): Promise<string> {
  const c = await SmtpTestClient.connect(petrel.port);
  await c.read();
  await c.cmd('EHLO reporter.test');
  await c.cmd(`MAIL FROM:<${from}>`);
  const r = await c.cmd(`RCPT TO:<${to}>`);
  if (r.code !== 250) {
    c.close();
    return text(r);
  }
  await c.cmd('DATA');
  const data = Buffer.isBuffer(body) ? body.toString('latin1') : body;
  const stuffed = data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
  c.write(stuffed.endsWith('\r\n') ? stuffed : stuffed + '\r\n');
  c.write('.\r\n');
  const done = await c.read();
  c.close();
  return text(done);
}

/** Rows of the accounting CSV (header first), waiting until `pred` finds one. */
async function acctRow(pred: (row: Record<string, string>) => boolean, timeoutMs = 10_000): Promise<Record<string, string>> {
  const file = path.join(petrel.dir, 'acct.csv');
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (fs.existsSync(file)) {
      const rows = parseCsv(fs.readFileSync(file, 'utf8'));
      const header = rows[0] ?? [];
      for (const r of rows.slice(1)) {
        const obj = Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']));
        if (pred(obj)) return obj;
      }
    }
    if (Date.now() > end) throw new Error('no matching accounting record');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

test('a DSN sent to the bounce domain becomes an rb record, and the bad mailbox is suppressed', async () => {
  const dsn = fs.readFileSync(path.join(FIXTURES, 'dsn', 'gmail.eml'));
  assert.match(await send('', 'news-jane.doe=gmail.com@bounces.example.test', dsn), /^250 /);
  const rb = await acctRow((r) => r['type'] === 'rb');
  assert.equal(rb['rcpt'], 'jane.doe@gmail.com');
  assert.match(rb['dsnStatus'] ?? '', /^5\.1\.1/);
  assert.equal(rb['bounceCat'], 'bad-mailbox');
  assert.ok(petrel.mta.suppression?.get('jane.doe@gmail.com'), 'the address is on the suppression list');
  const refused = await send('news@example.test', 'jane.doe@gmail.com', 'Subject: again\r\n\r\nx\r\n');
  assert.match(refused, /^550 5\.7\.1 <jane\.doe@gmail\.com>: recipient is on the suppression list/);
});

test('an ARF report to the feedback-loop domain becomes an f record', async () => {
  const arf = fs.readFileSync(path.join(FIXTURES, 'arf', 'yahoo.eml'));
  assert.match(await send('', 'fbl@fbl.example.test', arf), /^250 /);
  const f = await acctRow((r) => r['type'] === 'f');
  assert.equal(f['feedbackType'], 'abuse');
  assert.ok(f['rcpt'], 'the complaining recipient is recorded');
});

test('delivery outcomes become d and b records; acceptance r records', async () => {
  await send('alice@petrel.test', 'accept-1@remote.example.test', 'Subject: d\r\n\r\nx\r\n');
  await send('alice@petrel.test', '550-nobody@remote.example.test', 'Subject: b\r\n\r\nx\r\n');
  const d = await acctRow((r) => r['type'] === 'd' && r['rcpt'] === 'accept-1@remote.example.test');
  assert.equal(d['orig'], 'alice@petrel.test');
  assert.match(d['dsnStatus'] ?? '', /^2\./);
  assert.equal(d['dlvDestinationIp'], '127.0.0.2');
  const b = await acctRow((r) => r['type'] === 'b' && r['rcpt'] === '550-nobody@remote.example.test');
  assert.equal(b['bounceCat'], 'bad-mailbox');
  assert.match(b['dsnDiag'] ?? '', /550 5\.1\.1/);
  await acctRow((r) => r['type'] === 'r' && r['rcpt'] === 'accept-1@remote.example.test');
});

test('hostile mail to the processors is consumed: no crash, no bounce, the queue goes on', async () => {
  const junk = 'Content-Type: multipart/report; boundary="x"\r\n\r\n' + '--x\r\n'.repeat(2000) + '\x00\xff garbage\r\n';
  assert.match(await send('someone@example.net', 'x@bounces.example.test', junk), /^250 /);
  assert.match(await send('someone@example.net', 'x@fbl.example.test', 'Subject: not a report\r\n\r\nhello\r\n'), /^250 /);
  await send('alice@petrel.test', 'accept-2@remote.example.test', 'Subject: after\r\n\r\nx\r\n');
  await acctRow((r) => r['type'] === 'd' && r['rcpt'] === 'accept-2@remote.example.test');
  assert.ok(!sink.messages.some((m) => m.from === '' && /x@(bounces|fbl)\.example\.test/.test(m.body.toString('latin1'))), 'no bounce of their own');
});
