/**
 * The webhook extension (`<acct-file http://…>`) against a real HTTP server
 * on 127.0.0.1: batches of JSON records, retried with backoff while the
 * server fails, at-least-once across a close and reopen (the journal).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Accounting } from '../../src/accounting/index.js';
import type { WebhookSink } from '../../src/accounting/webhook.js';
import { config, event, tempDir } from './helpers.js';

interface Hook {
  server: Server;
  url: string;
  /** Every request body, parsed, in arrival order; `status` is what was answered. */
  requests: { status: number; records: Record<string, string>[]; contentType: string | undefined }[];
  /** Answer this many requests with 503 before accepting. */
  failNext: number;
  close(): Promise<void>;
}

async function hook(): Promise<Hook> {
  const h = { requests: [], failNext: 0 } as unknown as Hook;
  h.server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const status = h.failNext > 0 ? 503 : 200;
      if (h.failNext > 0) h.failNext--;
      h.requests.push({ status, records: JSON.parse(body) as Record<string, string>[], contentType: req.headers['content-type'] });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => h.server.listen(0, '127.0.0.1', resolve));
  h.url = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}/acct`;
  h.close = () => new Promise((resolve) => h.server.close(() => resolve()));
  return h;
}

const delivered = (h: Hook): string[] => h.requests.filter((r) => r.status === 200).flatMap((r) => r.records.map((x) => x.rcpt!));

describe('<acct-file http://…> webhook', () => {
  it('POSTs JSON batches and retries with backoff until the server accepts', async () => {
    const h = await hook();
    const tmp = tempDir();
    try {
      h.failNext = 3;
      const acct = await Accounting.fromConfig(config(`<acct-file ${h.url}>\nrecords d,b\nrecord-fields b rcpt,dsnStatus,bounceCat\n</acct-file>\n`), {
        fallbackDir: tmp.dir,
        tickMs: 0,
        webhook: { initialBackoffMs: 5, maxBackoffMs: 20, batchSize: 2 },
      });
      const sink = acct.sinks[0] as WebhookSink;
      try {
        await acct.record([event('b', '1@example.net'), event('b', '2@example.net'), event('b', '3@example.net')]);
        await acct.record([event('d', '4@example.net')]);
        await sink.idle();
      } finally {
        await acct.close();
      }
      assert.deepEqual(h.requests.slice(0, 3).map((r) => r.status), [503, 503, 503]);
      assert.deepEqual(delivered(h), ['1@example.net', '2@example.net', '3@example.net', '4@example.net']);
      assert.ok(h.requests.every((r) => r.records.length <= 2), 'batchSize respected');
      assert.equal(h.requests[0]!.contentType, 'application/json');
      const first = h.requests.find((r) => r.status === 200)!.records[0]!;
      assert.deepEqual(first, { type: 'b', rcpt: '1@example.net', dsnStatus: '5.1.1 (bad destination mailbox address)', bounceCat: 'bad-mailbox' });
      assert.equal(sink.attempts, h.requests.length);
    } finally {
      await h.close();
      tmp.cleanup();
    }
  });

  it('keeps unsent records in its journal across close and reopen (at least once)', async () => {
    const h = await hook();
    const tmp = tempDir();
    try {
      const text = `<acct-file ${h.url}>\nrecords d\nrecord-fields d rcpt\n</acct-file>\n`;
      const opts = { fallbackDir: tmp.dir, tickMs: 0, webhook: { initialBackoffMs: 5, maxBackoffMs: 10, compactBytes: 0 } };
      h.failNext = Number.MAX_SAFE_INTEGER;
      let acct = await Accounting.fromConfig(config(text), opts);
      await acct.record([event('d', '1@example.net'), event('d', '2@example.net')]);
      await acct.close(); // the server never accepted anything
      assert.deepEqual(delivered(h), []);
      h.failNext = 0;
      acct = await Accounting.fromConfig(config(text), opts);
      const sink = acct.sinks[0] as WebhookSink;
      await acct.record([event('d', '3@example.net')]);
      await sink.idle();
      await acct.close();
      assert.deepEqual(delivered(h), ['1@example.net', '2@example.net', '3@example.net']);
      // Everything acknowledged: a third start sends nothing again.
      const before = h.requests.length;
      acct = await Accounting.fromConfig(config(text), opts);
      await (acct.sinks[0] as WebhookSink).idle();
      await acct.close();
      assert.equal(h.requests.length, before);
    } finally {
      await h.close();
      tmp.cleanup();
    }
  });
});
