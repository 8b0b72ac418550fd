/**
 * kill -9 in the middle of a run, end to end: Petrel (a real child process,
 * `bin/petrel.js start`) accepts mail and delivers it to a sink while it is
 * killed with SIGKILL; restarted on the same spool, it delivers everything it
 * had acknowledged, and the accounting file holds a `d` record for every
 * recipient (a recipient delivered again after the crash may be recorded
 * twice — never zero times).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { ROOT, freePort } from '../harness/petrel.js';

const N = 120;

async function startChild(conf: string, dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'petrel.js'), 'start', '--config', conf], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  const end = Date.now() + 20_000;
  for (;;) {
    const ok = await SmtpTestClient.connect(port).then(
      (c) => (c.close(), true),
      () => false,
    );
    if (ok) return child;
    if (Date.now() > end) throw new Error('petrel did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function submit(port: number, i: number): Promise<boolean> {
  try {
    const c = await SmtpTestClient.connect(port);
    await c.read();
    await c.cmd('EHLO crash.test');
    await c.cmd('MAIL FROM:<s@petrel.test>');
    await c.cmd(`RCPT TO:<accept-${i}@crash.example.test>`);
    await c.cmd('DATA');
    c.write(`Subject: crash ${i}\r\n\r\nmessage ${i}\r\n.\r\n`);
    const r = await c.read();
    c.close();
    return r?.code === 250;
  } catch {
    return false; // the connection died with the process: not acknowledged
  }
}

test('SIGKILL during a run: every acknowledged message is delivered after restart, every recipient has a d record', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-crash-e2e-'));
  const dns = await TestDnsServer.start();
  const sinkPort = await freePort('127.0.0.2');
  const sink = await SmtpSink.start({ host: '127.0.0.2', port: sinkPort });
  dns.set('crash.example.test', [{ type: 'MX', preference: 10, exchange: 'mx.crash.example.test' }]);
  dns.set('mx.crash.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  const port = await freePort();
  const conf = path.join(dir, 'petrel.conf');
  fs.writeFileSync(
    conf,
    `resolver-servers ${dns.address}
smtp-listener 127.0.0.1:${port}
spool ${path.join(dir, 'spool')}
<acct-file ${path.join(dir, 'acct.csv')}>
    records d
</acct-file>
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain *>
    default-smtp-port ${sinkPort}
    use-starttls no
    retry-after 1s
    max-smtp-out 2
</domain>
`,
  );
  let child = await startChild(conf, dir, port);
  try {
    const acked = new Set<number>();
    let killed = false;
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      jobs.push(
        submit(port, i).then((ok) => {
          if (ok) acked.add(i);
        }),
      );
      if (i === N / 2) {
        // Kill once some mail is delivered and more is in flight.
        await sink.waitForMessages(5, 20_000);
        child.kill('SIGKILL');
        killed = true;
        await new Promise((r) => child.once('exit', r));
      }
    }
    await Promise.all(jobs);
    assert.ok(killed);
    child = await startChild(conf, dir, port);
    // Submit the ones refused while Petrel was down (a real client retries them).
    for (let i = 0; i < N; i++) if (!acked.has(i) && (await submit(port, i))) acked.add(i);
    const delivered = (): Set<string> => new Set(sink.messages.flatMap((m) => m.recipients.map((r) => r.address)));
    const end = Date.now() + 60_000;
    while ([...acked].some((i) => !delivered().has(`accept-${i}@crash.example.test`))) {
      if (Date.now() > end) throw new Error(`not delivered: ${[...acked].filter((i) => !delivered().has(`accept-${i}@crash.example.test`)).join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(acked.size, N, 'every message was eventually accepted');
    // The accounting file: a d record for every delivered recipient, all lines whole.
    const dEnd = Date.now() + 10_000;
    let rcpts = new Set<string>();
    for (;;) {
      const lines = fs.readFileSync(path.join(dir, 'acct.csv'), 'utf8').trim().split('\n');
      const header = lines[0]!.split(',');
      const at = header.indexOf('rcpt');
      rcpts = new Set(lines.slice(1).map((l) => l.split(',')[at]!));
      if (rcpts.size >= N || Date.now() > dEnd) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < N; i++) assert.ok(rcpts.has(`accept-${i}@crash.example.test`), `d record for accept-${i}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await sink.stop();
    await dns.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
