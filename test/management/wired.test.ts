/**
 * The management server as `petrel start` runs it: started by the MTA when
 * `http-mgmt-port` is set, reading the live spool and queue manager, and
 * acting on them (mode, retry now, reload) over real HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { startPetrel } from '../harness/petrel.js';
import { TestDnsServer } from '../harness/dns-server.js';

test('http-mgmt-port starts the API on loopback; queue mode and retry-now act on the running queue manager', async () => {
  const dns = await TestDnsServer.start();
  const p = await startPetrel(
    `
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
http-mgmt-port {{PORT2}}
http-access 127.0.0.1 admin
<source 127.0.0.1>
    always-allow-relaying yes
    process-x-job yes
</source>
<domain *>
    smtp-hosts [127.0.0.1]:9
    retry-after 1h
    use-starttls no
</domain>
`,
    { noDelivery: false, queueTickMs: 100 },
  );
  try {
    const api = `http://127.0.0.1:${p.ports[1]}/api/v1`;
    const c = await SmtpTestClient.connect(p.port);
    await c.read();
    await c.cmd('EHLO x');
    await c.cmd('MAIL FROM:<a@petrel.test>');
    await c.cmd('RCPT TO:<r@stuck.example>');
    await c.cmd('DATA');
    c.write('Subject: stuck\r\n\r\nx\r\n.\r\n');
    await c.read();
    c.close();
    // Port 9 on loopback refuses: the recipient is deferred for an hour.
    const q = 'stuck.example/{default}';
    const end = Date.now() + 10_000;
    while ((p.mta.spool.queueStats(q)[0]?.recipients ?? 0) === 0 || p.mta.spool.readyQueues(Date.now()).includes(q)) {
      if (Date.now() > end) throw new Error('not deferred');
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = (await (await fetch(`${api}/status`)).json()) as Record<string, unknown>;
    assert.ok(status, 'status answers');
    const queues = (await (await fetch(`${api}/queues`)).json()) as { queues?: Array<{ name?: string; queue?: string }> };
    assert.match(JSON.stringify(queues), /stuck\.example/);

    const mode = await fetch(`${api}/queues/stuck.example/%7Bdefault%7D/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'backoff' }) });
    assert.equal(mode.status, 200, await mode.text());
    assert.equal(p.mta.queues!.runtime(q)!.mode, 'backoff');

    const sched = await fetch(`${api}/queues/stuck.example/%7Bdefault%7D/schedule`, { method: 'POST' });
    assert.equal(sched.status, 200, await sched.text());
    // Retry now: the deferred recipient is attempted again at once (attempts grows).
    const end2 = Date.now() + 10_000;
    for (;;) {
      const info = (await p.mta.spool.listMessages({ queue: q })).length;
      const m = info ? await p.mta.spool.getMessage(p.mta.spool.listMessages({ queue: q })[0]!) : undefined;
      if ((m?.recipients[0]?.attempts ?? 0) >= 2) break;
      if (Date.now() > end2) throw new Error('retry-now did not cause a new attempt');
      await new Promise((r) => setTimeout(r, 50));
    }
    const reload = await fetch(`${api}/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    const metrics = await (await fetch(`http://127.0.0.1:${p.ports[1]}/metrics`)).text();
    assert.match(metrics, /^petrel_spool_commit_seconds_total \d/m, 'spool commit latency');
    assert.match(metrics, /^petrel_inbound_sessions_total [1-9]/m, 'inbound sessions counted');
    assert.match(metrics, /^petrel_inbound_tls_sessions_total 0/m, 'none of them used TLS');

    // pause job: a message of the paused job is held back (no attempt) while other mail is tried.
    assert.equal((await fetch(`${api}/jobs/campaign-9/pause`, { method: 'POST' })).status, 200);
    const send = async (rcpt: string, job?: string): Promise<string> => {
      const s = await SmtpTestClient.connect(p.port);
      await s.read();
      await s.cmd('EHLO x');
      await s.cmd('MAIL FROM:<a@petrel.test>');
      await s.cmd(`RCPT TO:<${rcpt}>`);
      await s.cmd('DATA');
      s.write(`${job ? `X-Job: ${job}\r\n` : ''}Subject: job\r\n\r\nx\r\n.\r\n`);
      const r = await s.read();
      s.close();
      return /queued as (\S+)/.exec(r!.lines[0]!)![1]!;
    };
    const held = await send('r@jobs.example', 'campaign-9');
    const free = await send('r2@jobs2.example');
    const attempts = async (id: string): Promise<number> => (await p.mta.spool.getMessage(id))?.recipients[0]?.attempts ?? -1;
    const endFree = Date.now() + 10_000;
    while ((await attempts(free)) < 1) {
      if (Date.now() > endFree) throw new Error('the other message was not tried');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await attempts(held), 0, 'the paused job was not tried');
    assert.equal((await fetch(`${api}/jobs/campaign-9/resume`, { method: 'POST' })).status, 200);
    const endHeld = Date.now() + 10_000;
    while ((await attempts(held)) < 1) {
      if (Date.now() > endHeld) throw new Error('the resumed job was not tried');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await fetch(`${api}/jobs/campaign-9/resume`, { method: 'POST' })).status, 404, 'not paused any more');

    // The suppression list through the CLI (a real child process) and the API.
    // Asynchronously: the API server runs in this very process, so a synchronous spawn would deadlock it.
    const { execFile } = await import('node:child_process');
    const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--url', `http://127.0.0.1:${p.ports[1]}`], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) =>
          resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
    const added = await cli('suppression', 'add', 'Blocked@Example.NET', '--reason', 'asked to be removed');
    assert.equal(added.status, 0, added.stderr);
    assert.equal(p.mta.suppression?.get('blocked@example.net')?.source, 'manual');
    const listed = JSON.parse((await cli('suppression', 'list', '--json')).stdout) as { total: number; entries: Array<{ address: string }> };
    assert.ok(listed.entries.some((e) => e.address === 'blocked@example.net'));
    const bad = await fetch(`${api}/suppression`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: 'not an address' }) });
    assert.equal(bad.status, 400);
    assert.equal((await cli('suppression', 'remove', 'blocked@example.net')).status, 0);
    assert.equal((await cli('suppression', 'show', 'blocked@example.net')).status, 1, 'gone: not found');
  } finally {
    await p.stop();
    await dns.stop();
  }
});

test('http-mgmt-tls-certificate serves the API over HTTPS; the token grants admin to an address that has only monitor', async () => {
  const https = await import('node:https');
  const p = await startPetrel(`
smtp-listener 127.0.0.1:{{PORT}}
http-mgmt-port {{PORT2}}
http-mgmt-tls-certificate {{TLS}}/mail.example.test.pem
http-api-token s3cr3t-token-value
http-access 127.0.0.1 monitor
`);
  const call = (method: string, urlPath: string, token?: string): Promise<{ status: number; body: string; protocol: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: p.ports[1], path: urlPath, method, rejectUnauthorized: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
        (res) => {
          let body = '';
          const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol?.() ?? '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    const status = await call('GET', '/api/v1/status');
    assert.equal(status.status, 200);
    assert.match(status.protocol, /^TLSv1\.[23]$/);
    assert.equal((await call('POST', '/api/v1/reload')).status, 403, 'monitor level may not change anything');
    assert.equal((await call('POST', '/api/v1/reload', 'wrong-token')).status, 401);
    assert.equal((await call('POST', '/api/v1/reload', 's3cr3t-token-value')).status, 200, 'the token grants admin');
    await assert.rejects(fetch(`http://127.0.0.1:${p.ports[1]}/api/v1/status`), 'no plain HTTP on the TLS port');
  } finally {
    await p.stop();
  }
});
