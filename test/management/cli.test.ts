/**
 * The management verbs of the `petrel` CLI, run as an operator runs them
 * (a child process: `node --import tsx src/cli/main.ts …`) against a running
 * Petrel whose management server grants loopback only `monitor`, so every
 * change needs `--token`. Checks exit codes, --json output and the human
 * tables.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setup, sendMail, spoolMessage, cidr, type Setup } from './helpers.js';
import { ROOT, freePort } from '../harness/petrel.js';

const TOKEN = 'cli-test-token-0123456789';
let s: Setup;
let url: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function petrel(args: string[], onStdout?: (chunk: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, PETREL_API_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(c);
    });
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = async (args: string[]): Promise<any> => {
  const r = await petrel([...args, '--url', url, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
};

before(async () => {
  s = await setup({ token: TOKEN, access: [{ cidr: cidr('127.0.0.1'), level: 'monitor' }] });
  url = s.base;
  await sendMail(s.petrel.port, ['a@cli.example', 'b@cli.example', 'c@other.example'], { headers: ['X-Job: job-42'] });
});
after(async () => {
  await s?.stop();
});

test('show status / queues / topqueues / domains / topdomains / vmtas / jobs --json', async () => {
  const st = await json(['show', 'status']);
  assert.equal(st.version, '0.1.0-test');
  assert.ok(st.traffic.total.in.recipients >= 3);
  const q = await json(['show', 'queues', '--domain', 'cli.example']);
  assert.deepEqual(q.queues.map((x: any) => [x.queue, x.recipients]), [['cli.example/{default}', 2]]);
  const top = await json(['show', 'topqueues', '--maxitems', '1']);
  assert.equal(top.queues.length, 1);
  assert.equal(top.queues[0].queue, 'cli.example/{default}');
  const d = await json(['show', 'topdomains']);
  assert.equal(d.domains[0].domain, 'cli.example');
  const v = await json(['show', 'vmtas']);
  assert.ok(v.vmtas.some((x: any) => x.name === 'mta1' && x.sourceHosts[0].ip === '127.0.0.1'));
  const j = await json(['show', 'jobs']);
  assert.deepEqual(j.jobs.map((x: any) => [x.jobId, x.recipients]), [['job-42', 3]]);
});

test('show queues / queue / message: human tables', async () => {
  let r = await petrel(['show', 'queues', '--url', url]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^QUEUE\s+RCPTS\s+MSGS\s+SIZE\s+OLDEST\s+MODE\s+CONN\s+LIMITED BY$/);
  assert.ok(lines.some((l) => /^cli\.example\/\{default\}\s+2\s+1\s/.test(l)), r.stdout);
  r = await petrel(['show', 'queue', 'cli.example', '--url', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^queue:\s+cli\.example\/\{default\}$/m);
  assert.match(r.stdout, /^limited by:\s+delivery not running$/m);
  assert.match(r.stdout, /^smtp-hosts\s+\[127\.0\.0\.1\]:9\s+\S*petrel\.conf:\d+$/m);
  assert.match(r.stdout, /^auth-password\s+\*\*\*\s/m);
  assert.doesNotMatch(r.stdout, /s3cret-value/);
  const id = s.petrel.mta.spool.listMessages({ queue: 'cli.example/{default}' })[0]!;
  const m = await json(['show', 'message', id]);
  assert.equal(m.jobId, 'job-42');
  r = await petrel(['show', 'message', id, '--url', url]);
  assert.match(r.stdout, /^a@cli\.example\s+queued\s+cli\.example\/\{default\}\s+0\s/m);
  r = await petrel(['show', 'queue', 'nowhere.example/mta1', '--url', url]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^petrel: NOT_FOUND: no queue nowhere\.example\/mta1$/m);
});

test('changes need admin: refused without the token (exit 1), done with --token', async () => {
  let r = await petrel(['pause', 'queue', 'cli.example/{default}', '--url', url]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /FORBIDDEN/);
  assert.equal(s.petrel.mta.spool.queueStats('cli.example/{default}')[0]!.paused, false);
  r = await petrel(['pause', 'queue', 'cli.example/{default}', '--url', url, '--token', TOKEN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pause: 1 queue \(cli\.example\/\{default\}\)$/m);
  assert.equal(s.petrel.mta.spool.queueStats('cli.example/{default}')[0]!.paused, true);
  const paused = await json(['show', 'queues', '--paused']);
  assert.deepEqual(paused.queues.map((x: any) => x.queue), ['cli.example/{default}']);
  r = await petrel(['resume', 'queue', 'cli.example', '--url', url, '--token', TOKEN, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).queues, ['cli.example/{default}']);
  assert.equal(s.petrel.mta.spool.queueStats('cli.example/{default}')[0]!.paused, false);
  r = await petrel(['pause', 'queue', 'x@y', '--url', url, '--token', 'wrong']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /UNAUTHORIZED/);
});

test('schedule, set queue (501 without a queue manager), pause job (501), reload, reset counters', async () => {
  const t = ['--url', url, '--token', TOKEN];
  let r = await petrel(['schedule', 'other.example/{default}', ...t]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^schedule: 1 queue \(other\.example\/\{default\}\); 1 recipient; delivery is not running$/m);
  r = await petrel(['set', 'queue', '--mode=backoff', 'other.example/{default}', ...t]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /NOT_IMPLEMENTED: delivery is not running/);
  r = await petrel(['set', 'queue', '--mode=fast', 'other.example/{default}', ...t]);
  assert.equal(r.code, 2);
  r = await petrel(['pause', 'job', 'job-42', ...t]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /NOT_IMPLEMENTED/);
  r = await petrel(['reload', ...t]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration reloaded/);
  r = await petrel(['reset', 'counters', ...t]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await json(['show', 'status'])).traffic.total.in.recipients, 0);
});

test('delete --queue --bounce, delete --message; usage errors exit 2', async () => {
  const t = ['--url', url, '--token', TOKEN];
  const id = await spoolMessage(s.petrel.mta.spool, ['z@delete.example']);
  await spoolMessage(s.petrel.mta.spool, ['y@delq.example', 'x@delq.example']);
  let r = await petrel(['delete', '--queue=delq.example/{default}', '--bounce', ...t, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).recipients, 2);
  r = await petrel(['delete', `--message=${id}`, ...t]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await s.petrel.mta.spool.getMessage(id), undefined);
  r = await petrel(['delete', ...t]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /exactly one of --queue/);
  r = await petrel(['delete', `--message=${id}`, ...t, '--json']);
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).error.code, 'NOT_FOUND');
});

test('trace follows a message until every recipient is final', async () => {
  const spool = s.petrel.mta.spool;
  const id = await spoolMessage(spool, ['t1@trace.example']);
  let started!: () => void;
  const seenEnqueued = new Promise<void>((r) => (started = r));
  const run = petrel(['trace', id, '--url', url, '--timeout', '120', '--interval', '100'], (c) => {
    if (c.includes('enqueued')) started();
  });
  await seenEnqueued;
  const batch = await spool.takeBatch('trace.example/{default}', 10);
  await spool.recordOutcomes(batch.flatMap((m) => m.recipients.map((rc) => ({ recipientId: rc.id, kind: 'delivered' as const, reply: '250 2.0.0 ok' }))));
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /enqueued\s/);
  assert.match(r.stdout, new RegExp(`delivered\\s+${id}\\.0\\s+trace\\.example/\\{default\\}\\s+250 2\\.0\\.0 ok`));
  assert.match(r.stdout, /every recipient is final/);
  const unknown = await petrel(['trace', '38H0000000Z', '--url', url, '--timeout', '5']);
  assert.equal(unknown.code, 1);
});

test('the URL comes from the configuration (http-mgmt-port on 127.0.0.1); unreachable exits 69', async () => {
  const dir = fs.mkdtempSync(path.join(s.petrel.dir, 'cfg-'));
  const file = path.join(dir, 'config');
  fs.writeFileSync(file, `http-mgmt-port ${s.mgmt.port}\n`);
  let r = await petrel(['show', 'status', '-c', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).version, '0.1.0-test');
  const closed = await freePort();
  r = await petrel(['show', 'status', '--url', `http://127.0.0.1:${closed}`]);
  assert.equal(r.code, 69);
  assert.match(r.stderr, /UNREACHABLE: cannot reach the Petrel management API/);
  r = await petrel(['show', 'status', '--url', 'ftp://x']);
  assert.equal(r.code, 2);
});
