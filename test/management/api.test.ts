/**
 * Every v1 route against a real Petrel (SMTP in, spool) with the management
 * server on loopback: status codes, response shapes, filters, validation
 * errors (400), unknown things (404), actions and their effect on the spool,
 * 501s for what the queue side cannot do yet, secrets redacted, no stack
 * traces, and PowerMTA's path-traversal hole (never a file).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup, request, sendMail, spoolMessage, type Setup } from './helpers.js';
import type { QueueControl, QueueRuntimeView } from '../../src/management/deps.js';
import type { Diagnostic } from '../../src/config/types.js';

const runtimes = new Map<string, QueueRuntimeView>();
const modes: Array<[string, string]> = [];
let kicks = 0;
const fakeQueues: QueueControl = {
  runtime: (q) => runtimes.get(q),
  kick: () => {
    kicks++;
  },
  setMode: (q, m) => {
    modes.push([q, m]);
  },
};
let reloadResult: { ok: boolean; errors: readonly Diagnostic[] } | Error = { ok: true, errors: [] };

let s: Setup;
let port: number;
const get = (p: string) => request(port, 'GET', p);
const post = (p: string, body?: string, headers?: Record<string, string>) => request(port, 'POST', p, { ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
const del = (p: string) => request(port, 'DELETE', p);

before(async () => {
  s = await setup({
    queues: fakeQueues,
    reload: async () => {
      if (reloadResult instanceof Error) throw reloadResult;
      return reloadResult;
    },
  });
  port = s.mgmt.port;
});
after(async () => {
  await s?.stop();
});

test('GET status: version, uptime, traffic windows, connections, spool, queues', async () => {
  await sendMail(s.petrel.port, ['a@status.example', 'b@status.example']);
  const r = await get('/api/v1/status');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /application\/json/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  const b = r.json();
  assert.equal(b.version, '0.1.0-test');
  assert.equal(b.hostname, 'petrel.test');
  assert.ok(b.uptimeSeconds >= 0);
  assert.ok(b.traffic.total.in.recipients >= 2);
  assert.ok(b.traffic.lastHour.in.messages >= 1);
  assert.deepEqual(Object.keys(b.traffic.lastMinute.out).sort(), ['bounced', 'deferred', 'deleted', 'delivered', 'expired']);
  assert.deepEqual(Object.keys(b.connections).sort(), ['in', 'out']);
  assert.ok(b.spool.messages >= 1 && b.spool.recipients >= 2);
  assert.ok(b.queues.total >= 1);
  assert.equal(b.delivery, 'running');
});

test('GET queues: filters, sorting, paging; bad input is 400', async () => {
  await spoolMessage(s.petrel.mta.spool, ['x@big.example', 'y@big.example', 'z@big.example'], { vmta: 'mta1' });
  await spoolMessage(s.petrel.mta.spool, ['x@small.example']);
  runtimes.set('small.example/{default}', { sessions: 2, mode: 'backoff', limitedBy: 'max-msg-rate reached', lastError: '421 4.7.0 slow down' });
  let b = (await get('/api/v1/queues')).json();
  assert.ok(b.total >= 3);
  const first = b.queues[0];
  assert.ok(b.queues.every((q: any, i: number) => i === 0 || b.queues[i - 1].recipients >= q.recipients), 'size order');
  assert.equal(typeof first.queue, 'string');
  for (const k of ['domain', 'vmta', 'recipients', 'messages', 'bytes', 'inFlight', 'oldestAt', 'ageSeconds', 'nextAttemptAt', 'paused', 'mode', 'sessions', 'limitedBy', 'lastError']) assert.ok(k in first, k);
  b = (await get('/api/v1/queues?domain=BIG.example')).json();
  assert.deepEqual(b.queues.map((q: any) => q.queue), ['big.example/mta1']);
  b = (await get('/api/v1/queues?vmta=mta1')).json();
  assert.deepEqual(b.queues.map((q: any) => q.queue), ['big.example/mta1']);
  b = (await get('/api/v1/queues?mode=backoff')).json();
  assert.deepEqual(b.queues.map((q: any) => q.queue), ['small.example/{default}']);
  assert.equal(b.queues[0].sessions, 2);
  assert.deepEqual(b.queues[0].limitedBy, ['backoff', 'max-msg-rate reached']);
  assert.equal(b.queues[0].lastError, '421 4.7.0 slow down');
  b = (await get('/api/v1/queues?sort=domain')).json();
  const names = b.queues.map((q: any) => q.domain);
  assert.deepEqual(names, [...names].sort());
  const page = (await get('/api/v1/queues?sort=domain&limit=1&offset=1')).json();
  assert.equal(page.queues.length, 1);
  assert.equal(page.queues[0].domain, names[1]);
  assert.equal(page.limit, 1);
  assert.equal(page.offset, 1);
  for (const bad of ['sort=bogus', 'limit=0', 'limit=abc', 'offset=-1', 'mode=fast', 'paused=maybe', 'unknown=1']) {
    const r = await get(`/api/v1/queues?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json().error.code, 'BAD_REQUEST');
    assert.ok(r.json().error.message.length > 0);
    assert.doesNotMatch(r.text, /at .*\.(js|ts):\d+/, 'no stack trace');
  }
});

test('GET queues/:domain/:vmta: detail, settings with file:line, secrets redacted, why limited, recent errors; 404 when unknown', async () => {
  const id = await spoolMessage(s.petrel.mta.spool, ['u@detail.example']);
  const spool = s.petrel.mta.spool;
  const batch = await spool.takeBatch('detail.example/{default}', 10);
  await spool.recordOutcomes(batch.flatMap((m) => m.recipients.map((r) => ({ recipientId: r.id, kind: 'deferred' as const, reply: '451 4.4.1 <script>x</script> busy', nextAttemptAt: Date.now() + 3_600_000 }))));
  await spool.pauseQueue('detail.example/{default}');
  const r = await get('/api/v1/queues/detail.example/%7Bdefault%7D');
  assert.equal(r.status, 200, r.text);
  const b = r.json();
  assert.equal(b.queue.queue, 'detail.example/{default}');
  assert.equal(b.queue.paused, true);
  assert.ok(b.queue.limitedBy.includes('paused'));
  assert.equal(b.recentErrors[0].type, 'deferred');
  assert.equal(b.recentErrors[0].messageId, id);
  const all = b.settings.flatMap((sec: any) => sec.settings);
  const hosts = all.find((x: any) => x.directive === 'smtp-hosts');
  assert.equal(hosts.raw, '[127.0.0.1]:9');
  assert.match(hosts.from.file, /petrel\.conf$/);
  assert.equal(typeof hosts.from.line, 'number');
  const pw = all.find((x: any) => x.directive === 'auth-password');
  assert.equal(pw.value, '***');
  assert.equal(pw.raw, '***');
  assert.doesNotMatch(r.text, /s3cret-value/, 'the password never leaves');
  await spool.resumeQueue('detail.example/{default}');
  // Uppercase domain in the path finds the lower-case queue.
  assert.equal((await get('/api/v1/queues/DETAIL.example/%7Bdefault%7D')).status, 200);
  const nf = await get('/api/v1/queues/nowhere.example/%7Bdefault%7D');
  assert.equal(nf.status, 404);
  assert.equal(nf.json().error.code, 'NOT_FOUND');
  assert.equal((await get('/api/v1/queues/detail.example/mta9')).status, 404);
  assert.equal((await get('/api/v1/queues/a%00b/x')).status, 400);
});

test('GET domains aggregates VMTAs; GET vmtas lists configured VMTAs with source IPs and pools', async () => {
  await spoolMessage(s.petrel.mta.spool, ['a@agg.example'], { vmta: 'mta1' });
  await spoolMessage(s.petrel.mta.spool, ['b@agg.example', 'c@agg.example']);
  const d = (await get('/api/v1/domains')).json();
  const agg = d.domains.find((x: any) => x.domain === 'agg.example');
  assert.equal(agg.recipients, 3);
  assert.equal(agg.queues, 2);
  assert.deepEqual(agg.vmtas, ['mta1', '{default}']);
  assert.equal((await get('/api/v1/domains?sort=nope')).status, 400);
  const v = (await get('/api/v1/vmtas')).json();
  const mta1 = v.vmtas.find((x: any) => x.name === 'mta1');
  assert.equal(mta1.configured, true);
  assert.deepEqual(mta1.sourceHosts, [{ ip: '127.0.0.1', hostname: 'mta1.example.test' }]);
  assert.deepEqual(mta1.pools, ['pool1']);
  assert.ok(mta1.recipients >= 1);
  const def = v.vmtas.find((x: any) => x.name === '{default}');
  assert.equal(def.configured, false);
});

test('GET jobs (X-Job), GET messages by id / job / envid / rcpt / queue, GET messages/:id', async () => {
  const id = await sendMail(s.petrel.port, ['j1@jobs.example', 'j2@other.example'], { headers: ['X-Job: campaign-7'] });
  const jobs = (await get('/api/v1/jobs')).json();
  const j = jobs.jobs.find((x: any) => x.jobId === 'campaign-7');
  assert.deepEqual({ messages: j.messages, recipients: j.recipients }, { messages: 1, recipients: 2 });
  assert.equal(jobs.truncated, false);
  assert.equal((await get('/api/v1/jobs?scan=0')).status, 400);

  const byId = (await get(`/api/v1/messages?id=${id}`)).json();
  assert.equal(byId.messages[0].id, id);
  const byJob = (await get('/api/v1/messages?job=campaign-7')).json();
  assert.deepEqual(byJob.messages.map((m: any) => m.id), [id]);
  const byRcpt = (await get('/api/v1/messages?rcpt=J2@other.example')).json();
  assert.deepEqual(byRcpt.messages.map((m: any) => m.id), [id]);
  assert.deepEqual((await get('/api/v1/messages?rcpt=nobody@other.example')).json().messages, []);
  const byQueue = (await get(`/api/v1/messages?queue=${encodeURIComponent('jobs.example/{default}')}`)).json();
  assert.deepEqual(byQueue.messages.map((m: any) => m.id), [id]);
  const env = await spoolMessage(s.petrel.mta.spool, ['e@envid.example']);
  void env;
  assert.deepEqual((await get('/api/v1/messages?envid=none-such')).json().messages, []);
  assert.equal((await get('/api/v1/messages?id=a&job=b')).status, 400);
  assert.equal((await get('/api/v1/messages?id=../../etc')).status, 400);
  assert.equal((await get('/api/v1/messages?rcpt=no-at-sign')).status, 400);

  const m = await get(`/api/v1/messages/${id}`);
  assert.equal(m.status, 200);
  const mb = m.json();
  assert.equal(mb.jobId, 'campaign-7');
  assert.equal(mb.from, 'sender@client.test');
  assert.deepEqual(mb.recipients.map((r: any) => [r.address, r.state, r.queue]), [
    ['j1@jobs.example', 'queued', 'jobs.example/{default}'],
    ['j2@other.example', 'queued', 'other.example/{default}'],
  ]);
  assert.equal((await get('/api/v1/messages/38H0000000Z')).status, 404);
  assert.equal((await get('/api/v1/messages/bad%2Fid')).status, 400);
});

test('GET events?since= and GET traffic', async () => {
  const before = (await get('/api/v1/events?since=0&limit=5000')).json();
  const id = await spoolMessage(s.petrel.mta.spool, ['ev@events.example']);
  const after = (await get(`/api/v1/events?since=${before.last}`)).json();
  assert.deepEqual(after.events.map((e: any) => [e.type, e.messageId]), [['enqueued', id]]);
  assert.ok(after.last > before.last);
  const one = (await get(`/api/v1/events?message=${id}`)).json();
  assert.equal(one.events.length, 1);
  assert.equal((await get('/api/v1/events?since=-1')).status, 400);
  assert.equal((await get('/api/v1/events?since=abc')).status, 400);
  const t = (await get('/api/v1/traffic?minutes=5')).json();
  assert.equal(t.minutes, 5);
  assert.equal(t.series.received.length, 5);
  assert.ok(t.series.received[4] >= 1);
  for (const bad of ['0', '1441', 'x']) assert.equal((await get(`/api/v1/traffic?minutes=${bad}`)).status, 400, bad);
});

test('POST pause/resume with wildcards and pools; unknown queue 404', async () => {
  await spoolMessage(s.petrel.mta.spool, ['p@wild.example'], { vmta: 'mta1' });
  await spoolMessage(s.petrel.mta.spool, ['p@wild.example']);
  let r = await post('/api/v1/queues/wild.example/*/pause');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json().queues, ['wild.example/mta1', 'wild.example/{default}']);
  assert.ok(s.petrel.mta.spool.queueStats().filter((q) => q.domain === 'wild.example').every((q) => q.paused));
  const k = kicks;
  r = await post('/api/v1/queues/wild.example/pool1/resume');
  assert.deepEqual(r.json().queues, ['wild.example/mta1']);
  assert.equal(s.petrel.mta.spool.queueStats('wild.example/mta1')[0]!.paused, false);
  assert.equal(s.petrel.mta.spool.queueStats('wild.example/{default}')[0]!.paused, true);
  assert.ok(kicks > k, 'resume kicks the queue manager');
  await post('/api/v1/queues/wild.example/%7Bdefault%7D/resume');
  r = await post('/api/v1/queues/none.example/mta1/pause');
  assert.equal(r.status, 404);
  r = await post('/api/v1/queues/*/nosuchvmta/pause');
  assert.equal(r.status, 404);
});

test('POST schedule: deferred recipients become due now, attempts unchanged', async () => {
  const spool = s.petrel.mta.spool;
  await spoolMessage(spool, ['s@sched.example']);
  const batch = await spool.takeBatch('sched.example/{default}', 10);
  const later = Date.now() + 3_600_000;
  await spool.recordOutcomes(batch.flatMap((m) => m.recipients.map((rc) => ({ recipientId: rc.id, kind: 'deferred' as const, reply: '451 later', nextAttemptAt: later }))));
  assert.ok(spool.nextDueAt('sched.example/{default}')! >= later);
  const r = await post('/api/v1/queues/sched.example/%7Bdefault%7D/schedule');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().recipients, 1);
  assert.ok(spool.nextDueAt('sched.example/{default}')! <= Date.now());
  const id = spool.listMessages({ queue: 'sched.example/{default}' })[0]!;
  const info = await spool.getMessage(id);
  assert.equal(info!.recipients[0]!.attempts, 1);
  assert.equal(info!.recipients[0]!.state, 'queued');
});

test('POST mode: uses the queue manager; bad body 400', async () => {
  await spoolMessage(s.petrel.mta.spool, ['m@mode.example']);
  let r = await post('/api/v1/queues/mode.example/%7Bdefault%7D/mode', JSON.stringify({ mode: 'backoff' }), { 'content-type': 'application/json' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(modes.at(-1), ['mode.example/{default}', 'backoff']);
  r = await post('/api/v1/queues/mode.example/%7Bdefault%7D/mode', JSON.stringify({ mode: 'turbo' }), { 'content-type': 'application/json' });
  assert.equal(r.status, 400);
  r = await post('/api/v1/queues/mode.example/%7Bdefault%7D/mode', '{not json', { 'content-type': 'application/json' });
  assert.equal(r.status, 400);
  r = await post('/api/v1/queues/mode.example/%7Bdefault%7D/mode', 'mode=backoff', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
});

test('DELETE queue (?bounce) and DELETE message; 404 afterwards', async () => {
  const spool = s.petrel.mta.spool;
  await spoolMessage(spool, ['d1@del.example', 'd2@del.example']);
  const id = await spoolMessage(spool, ['d3@delmsg.example']);
  assert.equal((await del('/api/v1/queues/del.example/%7Bdefault%7D?bounce=maybe')).status, 400);
  const before = (await get('/api/v1/status')).json().traffic.total.out.bounced;
  let r = await del('/api/v1/queues/del.example/%7Bdefault%7D?bounce=true');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json().recipients, 2);
  assert.equal((await get('/api/v1/status')).json().traffic.total.out.bounced, before + 2);
  assert.equal((await get('/api/v1/queues/del.example/%7Bdefault%7D')).status, 404);
  r = await del(`/api/v1/messages/${id}`);
  assert.equal(r.status, 200);
  assert.equal(r.json().recipients, 1);
  assert.equal((await del(`/api/v1/messages/${id}`)).status, 404);
  assert.equal((await get(`/api/v1/messages/${id}`)).status, 404);
});

test('POST jobs/:id/pause|resume: 501 with a reason when the queue manager cannot hold jobs', async () => {
  for (const a of ['pause', 'resume']) {
    const r = await post(`/api/v1/jobs/campaign-7/${a}`);
    assert.equal(r.status, 501);
    assert.equal(r.json().error.code, 'NOT_IMPLEMENTED');
    assert.match(r.json().error.message, /no job to hold back/);
  }
  assert.equal((await post('/api/v1/jobs/x/stop')).status, 400);
});

test('POST reload: accepted with warnings, refused (422) with every error, failure (500) without details', async () => {
  reloadResult = { ok: true, errors: [{ severity: 'warning', pos: { file: '/etc/petrel/config', line: 3, column: 1 }, message: 'overrides line 2' }] };
  let r = await post('/api/v1/reload');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().warnings, [{ severity: 'warning', file: '/etc/petrel/config', line: 3, column: 1, message: 'overrides line 2' }]);
  reloadResult = { ok: false, errors: [{ severity: 'error', pos: { file: '/etc/petrel/config', line: 9, column: 5 }, message: "unknown directive 'max-smtp-ot'" }] };
  r = await post('/api/v1/reload');
  assert.equal(r.status, 422);
  assert.equal(r.json().error.code, 'CONFIG_REFUSED');
  assert.equal(r.json().error.diagnostics[0].line, 9);
  reloadResult = new Error('EACCES: permission denied, open /etc/shadow');
  r = await post('/api/v1/reload');
  assert.equal(r.status, 500);
  assert.deepEqual(r.json(), { error: { code: 'INTERNAL', message: 'internal error; see the server log' } });
  reloadResult = { ok: true, errors: [] };
});

test('POST counters/reset zeroes the totals', async () => {
  await spoolMessage(s.petrel.mta.spool, ['c@count.example']);
  assert.ok((await get('/api/v1/status')).json().traffic.total.in.recipients > 0);
  assert.equal((await post('/api/v1/counters/reset')).status, 200);
  const t = (await get('/api/v1/status')).json().traffic.total;
  assert.equal(t.in.recipients, 0);
  assert.ok(t.since > 0);
});

test('bodies over 64 KB are refused with 413; unknown routes and methods are 404 JSON', async () => {
  const big = JSON.stringify({ mode: 'normal', pad: 'x'.repeat(70 * 1024) });
  const r = await post('/api/v1/queues/mode.example/%7Bdefault%7D/mode', big, { 'content-type': 'application/json' });
  assert.equal(r.status, 413);
  assert.equal(r.json().error.code, 'PAYLOAD_TOO_LARGE');
  const nf = await get('/api/v2/status');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.json(), { error: { code: 'NOT_FOUND', message: 'no such resource' } });
  assert.equal((await request(port, 'PUT', '/api/v1/status')).status, 404);
});

test("path traversal (PowerMTA's monitor hole): hostile paths never reach a file", async () => {
  const paths = [
    '/../../etc/passwd',
    '/api/v1/../../etc/passwd',
    '/api/v1/%2e%2e/%2e%2e/etc/passwd',
    '/static/..%2f..%2fetc%2fpasswd',
    '/..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '//etc/passwd',
    '/etc/passwd',
    '/api/v1/messages/..%2f..%2fetc%2fpasswd',
    '/config?file=/etc/passwd',
    '/api/v1/queues/..%2F..%2Fetc/passwd',
    '/api/v1/queues/%2e%2e/%2e%2e',
    '/%5c..%5c..%5cetc%5cpasswd',
    '/api/v1/status/..%00/etc/passwd',
  ];
  for (const p of paths) {
    const r = await get(p);
    assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
    assert.doesNotMatch(r.text, /root:|daemon:|\/bin\/(ba)?sh/, p);
    assert.ok(r.json().error.code, p);
  }
});
