/**
 * The web monitor, the SSE stream and /metrics over real sockets: the page
 * escapes attacker-controlled names (a queue for the domain
 * `<script>alert(1)</script>.example`), carries a nonce CSP, shows admin
 * buttons only to admins; the stream sends a snapshot at once and another
 * when traffic changes; the metrics are Prometheus text with bounded labels.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { setup, request, sendMail, spoolMessage, type Setup } from './helpers.js';
import type { StreamSnapshot } from '../../src/management/api/v1/types.js';

const HOSTILE = '<script>alert(1)</script>.example';
let s: Setup;

before(async () => {
  s = await setup();
  await spoolMessage(s.petrel.mta.spool, [`victim@${HOSTILE}`, `o'neil@"quote".example`]);
});
after(async () => {
  await s?.stop();
});

test('monitor page: hostile queue names are escaped, never markup', async () => {
  const r = await request(s.mgmt.port, 'GET', '/');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /text\/html/);
  assert.ok(!r.text.includes('<script>alert(1)</script>'), 'raw hostile markup must not appear');
  assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;.example'), 'it appears escaped');
  assert.ok(r.text.includes('data-domain="&lt;script&gt;alert(1)&lt;/script&gt;.example"'), 'attribute values are escaped too');
  assert.ok(r.text.includes('data-domain="&quot;quote&quot;.example"'), 'quotes cannot end an attribute');
  assert.ok(!r.text.includes('"quote".example'));
  // Only the page's own two scripts, and the executable one carries the nonce from the CSP.
  const csp = String(r.headers['content-security-policy']);
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const scripts = [...r.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  assert.deepEqual(scripts, ['<script type="application/json" id="spec">', `<script nonce="${nonce}">`]);
  assert.equal(r.headers['x-frame-options'], 'DENY');
});

test('monitor page: admin buttons for admins only', async () => {
  const admin = await request(s.mgmt.port, 'GET', '/', { from: '127.0.0.1' });
  assert.match(admin.text, /data-action="pause"/);
  assert.match(admin.text, /data-level="admin"/);
  const monitor = await request(s.mgmt.port, 'GET', '/', { from: '127.0.0.2' });
  assert.equal(monitor.status, 200);
  assert.doesNotMatch(monitor.text, /data-action=/);
  assert.match(monitor.text, /data-level="monitor"/);
});

/** Opens the SSE stream and yields parsed snapshots. */
function openStream(port: number): { next(pred: (s: StreamSnapshot) => boolean): Promise<StreamSnapshot>; close(): void; headers: Promise<http.IncomingHttpHeaders> } {
  let buf = '';
  const queue: StreamSnapshot[] = [];
  let waiter: (() => void) | undefined;
  let resolveHeaders!: (h: http.IncomingHttpHeaders) => void;
  const headers = new Promise<http.IncomingHttpHeaders>((r) => (resolveHeaders = r));
  const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/stream', agent: false }, (res) => {
    resolveHeaders(res.headers);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!/^event: snapshot$/m.test(block)) continue;
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        queue.push(JSON.parse(data) as StreamSnapshot);
        waiter?.();
      }
    });
  });
  req.on('error', () => undefined);
  return {
    headers,
    async next(pred) {
      for (;;) {
        const i = queue.findIndex(pred);
        if (i >= 0) return queue.splice(0, i + 1)[i]!;
        queue.length = 0;
        await new Promise<void>((r) => (waiter = r));
      }
    },
    close: () => req.destroy(),
  };
}

test('SSE stream: a snapshot at once, and an update when traffic changes', async () => {
  const st = openStream(s.mgmt.port);
  try {
    assert.match(String((await st.headers)['content-type']), /text\/event-stream/);
    const first = await st.next(() => true);
    const before = first.status.traffic.total.in.recipients;
    assert.ok(first.topQueues.some((q) => q.domain === HOSTILE), 'the snapshot carries the queues (as data, escaped by the page script)');
    assert.equal(first.level, 'admin');
    await sendMail(s.petrel.port, ['live@stream.example']);
    const later = await st.next((x) => x.status.traffic.total.in.recipients > before);
    assert.equal(later.status.traffic.total.in.recipients, before + 1);
    assert.ok(later.topQueues.some((q) => q.queue === 'stream.example/{default}'));
    assert.ok(later.seq > first.seq);
    assert.ok(later.traffic.series['received']!.at(-1)! >= 1);
  } finally {
    st.close();
  }
});

test('/metrics: Prometheus text; counters, queue gauges, spool and connections', async () => {
  const r = await request(s.mgmt.port, 'GET', '/metrics', { from: '127.0.0.2' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /text\/plain/);
  const t = r.text;
  assert.match(t, /^# TYPE petrel_recipients_received_total counter$/m);
  assert.match(t, /^petrel_recipients_received_total\{vmta="\{default\}"\} \d+$/m);
  assert.match(t, /^petrel_queue_recipients\{domain="stream\.example"\} 1$/m);
  assert.match(t, /^petrel_connections\{direction="in"\} \d+$/m);
  assert.match(t, /^petrel_spool_messages \d+$/m);
  assert.match(t, /^petrel_spool_commit_flushes_total \d+$/m);
  assert.match(t, /^petrel_info\{version="0\.1\.0-test"\} 1$/m);
  assert.match(t, /^petrel_process_cpu_seconds_total/m);
  // Label values are escaped per the exposition format.
  assert.ok(t.includes('petrel_queue_recipients{domain="<script>alert(1)</script>.example"} 1'));
});

test('/metrics: queue gauges are bounded to the top 20 domains', async () => {
  for (let i = 0; i < 25; i++) await spoolMessage(s.petrel.mta.spool, [`x@many${i}.example`]);
  const t = (await request(s.mgmt.port, 'GET', '/metrics')).text;
  const n = t.split('\n').filter((l) => l.startsWith('petrel_queue_recipients{')).length;
  assert.equal(n, 20);
});
