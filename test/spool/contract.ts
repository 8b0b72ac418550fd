/**
 * @module test/spool/contract
 *
 * The spool contract suite (STYLE habit 9): every behaviour a caller relies
 * on, written against the public `Spool` API only, so each implementation
 * (today: the segment log) runs the same checks. `runSpoolContract(name,
 * open)` registers the tests; `open` must open (or reopen) a spool at
 * `options.path`.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../src/util/clock.js';
import {
  MESSAGE_ID_RE,
  isSpoolError,
  type EnvelopeInput,
  type Spool,
  type SpoolEvent,
  type SpoolOptions,
} from '../../src/spool/index.js';
import { bodyFor, recordingLogger, tempDir } from './helpers.js';

export type OpenSpool = (options: SpoolOptions & { path: string }) => Promise<Spool>;

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);

export function runSpoolContract(name: string, open: OpenSpool): void {
  describe(`spool contract: ${name}`, () => {
    let tmp: ReturnType<typeof tempDir>;
    let clock: FakeClock;
    let spool: Spool;
    const opts = (extra: Partial<SpoolOptions> = {}): SpoolOptions & { path: string } => ({
      path: tmp.dir,
      clock,
      minFreeBytes: 0,
      logger: recordingLogger(),
      ...extra,
    });
    const reopen = async (extra: Partial<SpoolOptions> = {}): Promise<Spool> => {
      await spool.close();
      spool = await open(opts(extra));
      return spool;
    };
    const put = async (env: Partial<EnvelopeInput> & { recipients: EnvelopeInput['recipients'] }, body: Buffer | string = 'Subject: x\r\n\r\nhi\r\n'): Promise<string> => {
      const w = spool.createMessage({ mailFrom: 'sender@example.org', ...env });
      w.write(typeof body === 'string' ? Buffer.from(body) : body);
      return w.commit();
    };

    beforeEach(async () => {
      tmp = tempDir();
      clock = new FakeClock(T0);
      spool = await open(opts());
    });
    afterEach(async () => {
      await spool.close();
      tmp.cleanup();
    });

    it('stores the whole envelope and the body byte for byte', async () => {
      const body = bodyFor(1, 5000);
      const env: EnvelopeInput = {
        mailFrom: 'bob@example.org',
        mailParams: { size: 5000, body: '8BITMIME', smtputf8: true, ret: 'HDRS', envid: 'ENV-1' },
        recipients: [
          { address: 'a@Example.COM', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;a@example.com' },
          { address: 'b@other.net' },
        ],
        sourceIp: '192.0.2.7',
        authUser: 'bob',
        listener: '0.0.0.0:587',
        vmta: 'vmta1',
        jobId: 'job-42',
        envelopeId: 'pmta-env-9',
      };
      const w = spool.createMessage(env);
      w.write(body.subarray(0, 1000));
      w.write(body.subarray(1000));
      const id = await w.commit();
      assert.match(id, MESSAGE_ID_RE);
      for (const restart of [false, true]) {
        const s = restart ? await reopen() : spool;
        const info = await s.getMessage(id);
        assert.ok(info);
        assert.deepEqual(info.envelope, { ...env, arrivedAt: T0 });
        assert.equal(info.size, 5000);
        assert.deepEqual(info.recipients.map((r) => [r.id, r.address, r.queue, r.state]), [
          [`${id}.0`, 'a@Example.COM', 'example.com/vmta1', 'queued'],
          [`${id}.1`, 'b@other.net', 'other.net/vmta1', 'queued'],
        ]);
        assert.deepEqual(await s.readBody(id), body);
      }
    });

    it('names queues domain/vmta with {default} and sorts ids by arrival', async () => {
      const a = await put({ recipients: [{ address: 'x@A.example' }] });
      clock.advance(1);
      const b = await put({ recipients: [{ address: 'y@a.example' }], vmta: 'v2' });
      assert.ok(a < b);
      assert.deepEqual(spool.queueNames(), ['a.example/v2', 'a.example/{default}']);
    });

    it('gives each of many concurrent writers its own durable message, sharing commits', async () => {
      const n = 200;
      const ids = await Promise.all(
        Array.from({ length: n }, (_, i) => put({ recipients: [{ address: `u${i}@d.example` }] }, bodyFor(i, 300 + i))),
      );
      assert.equal(new Set(ids).size, n);
      assert.ok(spool.stats().commits.flushes < n / 4, `expected shared commits, got ${spool.stats().commits.flushes} flushes`);
      await reopen();
      for (let i = 0; i < n; i += 37) assert.deepEqual(await spool.readBody(ids[i]!), bodyFor(i, 300 + i));
      assert.equal(spool.queueStats('d.example/{default}')[0]!.recipients, n);
    });

    it('leases due recipients up to the limit, from one message or many', async () => {
      const m1 = await put({ recipients: [{ address: 'a@q.example' }, { address: 'b@q.example' }, { address: 'c@r.example' }] });
      const m2 = await put({ recipients: [{ address: 'd@q.example' }] });
      const b1 = await spool.takeBatch('q.example/{default}', 2);
      assert.deepEqual(b1.flatMap((m) => m.recipients.map((r) => r.address)).sort(), ['a@q.example', 'b@q.example']);
      assert.equal(b1[0]!.messageId, m1);
      assert.equal(b1[0]!.envelope.mailFrom, 'sender@example.org');
      const b2 = await spool.takeBatch('q.example/{default}', 10);
      assert.deepEqual(b2.map((m) => [m.messageId, m.recipients.length]), [[m2, 1]]);
      assert.deepEqual(await spool.takeBatch('q.example/{default}', 10), []);
      assert.equal(spool.queueStats('q.example/{default}')[0]!.inFlight, 3);
      assert.deepEqual(await spool.takeBatch('nowhere.example/{default}', 10), []);
    });

    it('defers: counts the attempt, keeps the reply, and offers the recipient again only when due', async () => {
      const id = await put({ recipients: [{ address: 'a@q.example' }] });
      const [m] = await spool.takeBatch('q.example/{default}', 1);
      await spool.recordOutcomes([{ recipientId: m!.recipients[0]!.id, kind: 'deferred', reply: '451 4.7.1 try later', nextAttemptAt: T0 + 60_000 }]);
      assert.deepEqual(await spool.takeBatch('q.example/{default}', 1), []);
      assert.equal(spool.nextDueAt('q.example/{default}'), T0 + 60_000);
      clock.advance(60_000);
      assert.deepEqual(spool.readyQueues(), ['q.example/{default}']);
      await reopen();
      const info = await spool.getMessage(id);
      assert.deepEqual(
        [info!.recipients[0]!.state, info!.recipients[0]!.attempts, info!.recipients[0]!.nextAttemptAt, info!.recipients[0]!.lastReply],
        ['queued', 1, T0 + 60_000, '451 4.7.1 try later'],
      );
      const again = await spool.takeBatch('q.example/{default}', 1);
      assert.equal(again[0]!.recipients[0]!.attempts, 1);
    });

    it('finishes a message when every recipient is final, and forgets it', async () => {
      const id = await put({ recipients: [{ address: 'a@q.example' }, { address: 'b@q.example' }] });
      const [m] = await spool.takeBatch('q.example/{default}', 5);
      const [r0, r1] = m!.recipients;
      await spool.recordOutcomes([{ recipientId: r0!.id, kind: 'delivered', reply: '250 ok' }]);
      assert.equal((await spool.getMessage(id))!.recipients[0]!.state, 'delivered');
      await spool.recordOutcomes([{ recipientId: r1!.id, kind: 'bounced', reply: '550 5.1.1 no such user' }]);
      assert.equal(await spool.getMessage(id), undefined);
      assert.deepEqual(spool.listMessages(), []);
      assert.deepEqual(spool.queueStats(), []);
      await reopen();
      assert.equal(await spool.getMessage(id), undefined);
      assert.deepEqual(spool.queueStats(), []);
    });

    it('rejects an outcome for an unknown, finished or repeated recipient and applies none of the call', async () => {
      const id = await put({ recipients: [{ address: 'a@q.example' }, { address: 'b@q.example' }] });
      const [m] = await spool.takeBatch('q.example/{default}', 5);
      const good = { recipientId: m!.recipients[0]!.id, kind: 'delivered' as const };
      await assert.rejects(spool.recordOutcomes([good, { recipientId: `${id}.7`, kind: 'delivered' }]), (e) => isSpoolError(e, 'NOT_FOUND'));
      await assert.rejects(spool.recordOutcomes([good, good]), (e) => isSpoolError(e, 'BAD_STATE'));
      assert.equal((await spool.getMessage(id))!.recipients[0]!.state, 'in-flight');
      await spool.recordOutcomes([good]);
      await assert.rejects(spool.recordOutcomes([good]), (e) => isSpoolError(e, 'BAD_STATE'));
    });

    it('brings in-flight recipients back as queued after a restart, attempts unchanged', async () => {
      const id = await put({ recipients: [{ address: 'a@q.example' }] });
      await spool.takeBatch('q.example/{default}', 5);
      await reopen();
      const info = await spool.getMessage(id);
      assert.deepEqual([info!.recipients[0]!.state, info!.recipients[0]!.attempts], ['queued', 0]);
      assert.equal((await spool.takeBatch('q.example/{default}', 5)).length, 1);
    });

    it('releases in-flight recipients without counting an attempt', async () => {
      await put({ recipients: [{ address: 'a@q.example' }] });
      const [m] = await spool.takeBatch('q.example/{default}', 5);
      spool.release([m!.recipients[0]!.id]);
      const [again] = await spool.takeBatch('q.example/{default}', 5);
      assert.equal(again!.recipients[0]!.attempts, 0);
    });

    it('pauses and resumes a queue, and the pause survives a restart', async () => {
      await put({ recipients: [{ address: 'a@q.example' }] });
      await spool.pauseQueue('q.example/{default}');
      assert.deepEqual(await spool.takeBatch('q.example/{default}', 5), []);
      await reopen();
      assert.equal(spool.queueStats('q.example/{default}')[0]!.paused, true);
      assert.deepEqual(await spool.takeBatch('q.example/{default}', 5), []);
      await spool.resumeQueue('q.example/{default}');
      assert.equal((await spool.takeBatch('q.example/{default}', 5)).length, 1);
    });

    it('deletes a queue with or without bouncing, leaving other queues alone', async () => {
      const events: SpoolEvent[] = [];
      spool.observe((e) => events.push(e));
      await put({ recipients: [{ address: 'a@q.example' }, { address: 'b@keep.example' }] });
      await put({ recipients: [{ address: 'c@q.example' }] });
      assert.equal(await spool.deleteQueue('q.example/{default}', { bounce: true, reply: 'deleted by operator' }), 2);
      assert.deepEqual(events.filter((e) => e.type === 'bounced').length, 2);
      assert.deepEqual(spool.queueStats().map((q) => [q.queue, q.recipients]), [['keep.example/{default}', 1]]);
      await put({ recipients: [{ address: 'd@keep.example' }] });
      assert.equal(await spool.deleteQueue('keep.example/{default}'), 2);
      assert.equal(events.filter((e) => e.type === 'deleted').length, 2);
      await reopen();
      assert.deepEqual(spool.queueStats(), []);
      assert.deepEqual(spool.listMessages(), []);
    });

    it('deletes one message', async () => {
      const a = await put({ recipients: [{ address: 'a@q.example' }] });
      const b = await put({ recipients: [{ address: 'b@q.example' }] });
      assert.equal(await spool.deleteMessage(a), 1);
      assert.deepEqual(spool.listMessages(), [b]);
      await assert.rejects(spool.deleteMessage(a), (e) => isSpoolError(e, 'NOT_FOUND'));
    });

    it('counts recipients, messages, bytes and the oldest arrival per queue', async () => {
      await put({ recipients: [{ address: 'a@q.example' }, { address: 'b@q.example' }] }, 'x'.repeat(100));
      clock.advance(5000);
      await put({ recipients: [{ address: 'c@q.example' }, { address: 'd@r.example' }] }, 'y'.repeat(50));
      const [q, r] = spool.queueStats();
      assert.deepEqual(
        { recipients: q!.recipients, messages: q!.messages, bytes: q!.bytes, oldest: q!.oldest, queue: q!.queue },
        { recipients: 3, messages: 2, bytes: 150, oldest: T0, queue: 'q.example/{default}' },
      );
      assert.deepEqual([r!.queue, r!.recipients, r!.messages, r!.bytes, r!.oldest], ['r.example/{default}', 1, 1, 50, T0 + 5000]);
    });

    it('lists and finds messages by id, job id and envelope id', async () => {
      const a = await put({ recipients: [{ address: 'a@q.example' }], jobId: 'J1', mailParams: { envid: 'E1' } });
      const b = await put({ recipients: [{ address: 'b@r.example' }], jobId: 'J1', envelopeId: 'E2' });
      const c = await put({ recipients: [{ address: 'c@r.example' }], jobId: 'J2' });
      assert.deepEqual(spool.listMessages(), [a, b, c]);
      assert.deepEqual(spool.listMessages({ queue: 'r.example/{default}' }), [b, c]);
      assert.deepEqual(spool.listMessages({ after: a, limit: 1 }), [b]);
      assert.deepEqual(await spool.findByJobId('J1'), [a, b]);
      assert.deepEqual(await spool.findByEnvelopeId('E1'), [a]);
      assert.deepEqual(await spool.findByEnvelopeId('E2'), [b]);
      assert.deepEqual(await spool.findByJobId('nope'), []);
      assert.equal(await spool.getMessage('not-an-id'), undefined);
    });

    it('tells observers each change only after it is written to the log', async () => {
      const seen: string[] = [];
      const logText = (): string =>
        readdirSync(path.join(tmp.dir, 'segments')).map((f) => readFileSync(path.join(tmp.dir, 'segments', f), 'latin1')).join('');
      spool.observe((e) => {
        seen.push(e.type);
        if (e.type === 'delivered') assert.ok(logText().includes('250 2.0.0 marker'), 'state change not yet in the log');
        if (e.type === 'enqueued') assert.ok(logText().includes('who@q.example'), 'message not yet in the log');
      });
      await put({ recipients: [{ address: 'who@q.example' }, { address: 'b@q.example' }] });
      const [m] = await spool.takeBatch('q.example/{default}', 5);
      await spool.recordOutcomes([
        { recipientId: m!.recipients[0]!.id, kind: 'delivered', reply: '250 2.0.0 marker' },
        { recipientId: m!.recipients[1]!.id, kind: 'deferred', nextAttemptAt: T0 + 1 },
      ]);
      await spool.pauseQueue('q.example/{default}');
      assert.deepEqual(seen, ['enqueued', 'leased', 'leased', 'delivered', 'deferred', 'queue-paused']);
    });

    it('refuses a body over max-message-size while streaming and keeps nothing', async () => {
      await spool.close();
      spool = await open(opts({ maxMessageSize: 1000, inlineBodyLimit: 300 }));
      const w = spool.createMessage({ mailFrom: '', recipients: [{ address: 'a@q.example' }] });
      w.write(Buffer.alloc(600));
      assert.throws(() => w.write(Buffer.alloc(600)), (e) => isSpoolError(e, 'MESSAGE_TOO_LARGE') && e.smtp.code === 552);
      w.write(Buffer.alloc(10)); // ignored: the server keeps reading to the end of DATA
      await assert.rejects(w.commit(), (e) => isSpoolError(e, 'MESSAGE_TOO_LARGE'));
      assert.throws(
        () => spool.createMessage({ mailFrom: '', mailParams: { size: 5000 }, recipients: [{ address: 'a@q.example' }] }),
        (e) => isSpoolError(e, 'MESSAGE_TOO_LARGE'),
      );
      await reopen({ maxMessageSize: 1000 });
      assert.deepEqual(spool.listMessages(), []);
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'tmp')), []);
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'bodies')), []);
    });

    it('refuses too many recipients and bad envelopes with typed errors', async () => {
      await spool.close();
      spool = await open(opts({ maxRecipients: 3 }));
      const rc = (n: number): EnvelopeInput['recipients'] => Array.from({ length: n }, (_, i) => ({ address: `u${i}@q.example` }));
      assert.throws(() => spool.createMessage({ mailFrom: '', recipients: rc(4) }), (e) => isSpoolError(e, 'TOO_MANY_RECIPIENTS') && e.smtp.enhanced === '4.5.3');
      assert.throws(() => spool.createMessage({ mailFrom: '', recipients: [] }), (e) => isSpoolError(e, 'BAD_ENVELOPE'));
      const w = spool.createMessage({ mailFrom: '', recipients: rc(3) });
      w.write(Buffer.from('x'));
      await w.commit();
      await assert.rejects(w.commit(), (e) => isSpoolError(e, 'WRITER_CLOSED'));
    });

    it('keeps nothing of an aborted message', async () => {
      await spool.close();
      spool = await open(opts({ inlineBodyLimit: 100 }));
      const w = spool.createMessage({ mailFrom: '', recipients: [{ address: 'a@q.example' }] });
      w.write(Buffer.alloc(1000, 1));
      await w.drain();
      await w.abort();
      await reopen();
      assert.deepEqual(spool.listMessages(), []);
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'tmp')), []);
    });

    it('stores a large body outside the log, byte for byte, and removes it when the message is done', async () => {
      await spool.close();
      spool = await open(opts({ inlineBodyLimit: 4096 }));
      const body = bodyFor(7, 300_000);
      const w = spool.createMessage({ mailFrom: '', recipients: [{ address: 'a@q.example' }] });
      for (let off = 0; off < body.length; off += 7000) w.write(body.subarray(off, off + 7000));
      const id = await w.commit();
      await reopen({ inlineBodyLimit: 4096 });
      assert.deepEqual(await spool.readBody(id), body);
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'bodies')), [id]);
      const [m] = await spool.takeBatch('q.example/{default}', 1);
      await spool.recordOutcomes([{ recipientId: m!.recipients[0]!.id, kind: 'delivered' }]);
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(readdirSync(path.join(tmp.dir, 'bodies')), []);
    });

    it('refuses new mail with 452 4.3.1 when free space is below the reserve', async () => {
      await spool.close();
      spool = await open(opts({ minFreeBytes: Number.MAX_SAFE_INTEGER }));
      assert.throws(
        () => spool.createMessage({ mailFrom: '', recipients: [{ address: 'a@q.example' }] }),
        (e) => isSpoolError(e, 'SPOOL_FULL') && e.smtp.code === 452 && e.smtp.enhanced === '4.3.1',
      );
    });

    it('refuses a second open of the same spool, and any use after close', async () => {
      await assert.rejects(open(opts()), (e) => isSpoolError(e, 'SPOOL_LOCKED'));
      const id = await put({ recipients: [{ address: 'a@q.example' }] });
      const old = spool;
      await reopen();
      await assert.rejects(old.getMessage(id), (e) => isSpoolError(e, 'SPOOL_CLOSED'));
      assert.throws(() => old.createMessage({ mailFrom: '', recipients: [{ address: 'a@q.example' }] }), (e) => isSpoolError(e, 'SPOOL_CLOSED'));
      assert.ok(await spool.getMessage(id));
    });

    it('recovers thousands of recipients across segments, with old segments reclaimed', async () => {
      await spool.close();
      spool = await open(opts({ segmentSize: 64 * 1024 }));
      const ids: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => put({ recipients: [{ address: `u${i}@d${i % 7}.example` }, { address: 'x@z.example' }] }, bodyFor(batch * 50 + i, 400))))));
      }
      assert.ok(spool.stats().segments >= 4, `expected several segments, got ${spool.stats().segments}`);
      // Finish most of them so old segments become (almost) empty.
      for (const q of spool.queueNames()) {
        for (;;) {
          const b = await spool.takeBatch(q, 100);
          if (b.length === 0) break;
          await spool.recordOutcomes(b.flatMap((m) => m.recipients.filter((r) => !r.address.startsWith('u3@')).map((r) => ({ recipientId: r.id, kind: 'delivered' as const }))));
        }
      }
      const left = spool.listMessages();
      assert.ok(left.length > 0 && left.length < ids.length / 3);
      await new Promise((r) => setTimeout(r, 50));
      await reopen({ segmentSize: 64 * 1024 });
      assert.deepEqual(spool.listMessages(), left);
      // The survivors were copied forward; the emptied segments are gone.
      assert.ok(spool.stats().segments <= 2, `old segments not reclaimed: ${spool.stats().segments}`);
      for (const id of left) {
        const i = ids.indexOf(id);
        assert.deepEqual(await spool.readBody(id), bodyFor(i, 400));
        assert.equal((await spool.getMessage(id))!.recipients[0]!.state, 'queued');
      }
    });
  });
}
