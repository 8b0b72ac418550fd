/**
 * @module spool/spool
 *
 * `Spool`: the durable message store and queue index of Petrel.
 *
 * Invariants (DESIGN invariants 1–3):
 * 1. `MessageWriter.commit()` resolves only after the message's record (and
 *    its body file, if any) reached the disk: fdatasync of the log segment
 *    returned, after fsync of the body file and of `bodies/`. The server says
 *    250 only then. Group commit is the only speed trick: many writers share
 *    one write and one fdatasync; no fsync is ever skipped.
 * 2. A recipient is in exactly one state. Every change to a final state, or
 *    back to queued with a new due time, is written through the same group
 *    commit and is durable before observers hear of it. `leased` and
 *    `released` are not persisted: in flight is recovered as queued.
 * 3. A failed write leaves nothing behind: the caller gets a SpoolError
 *    (SPOOL_FULL → 452 4.3.1, SPOOL_IO → 451 4.3.0), the in-memory state is
 *    as before, and the next write works again once the cause is gone.
 * 4. The event loop never waits for the disk: writes and fsyncs run on the
 *    libuv thread pool (fs promises), one group commit at a time.
 *
 * Storage is delegated: spool/commit-path (group commit, space reclaim),
 * spool/segment-log (bytes on disk), spool/queue-index (memory),
 * spool/recovery (start), spool/inspect (reads), spool/writer (intake).
 *
 * Exports: `Spool` (open with `Spool.open(options)`), `SpoolLimits`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../util/clock.js';
import { CommitPath, type CommitResult } from './commit-path.js';
import { FreeSpaceMonitor } from './disk-space.js';
import { notify, recipientEvent, type RecipientEventType } from './events.js';
import { SpoolError, toSpoolIoError } from './errors.js';
import { MessageIdGenerator, formatMessageId, parseMessageId, parseRecipientId } from './ids.js';
import * as inspect from './inspect.js';
import { acquireSpoolLock } from './lock.js';
import { PausedStore } from './paused-store.js';
import { ST, fnv1a, isFinal, QueueIndex } from './queue-index.js';
import { encodeMessageRecord, encodeStateRecord, type MessageMeta, type StateChange } from './record.js';
import { domainOf, recoverIndex, type RecoveryReport } from './recovery.js';
import { SegmentLog } from './segment-log.js';
import {
  DEFAULT_SPOOL_PATH,
  type EnvelopeInput,
  type LeasedMessage,
  type MessageInfo,
  type Outcome,
  type QueueStats,
  type SpoolEvent,
  type SpoolLogger,
  type SpoolObserver,
  type SpoolOptions,
  type StoredEnvelope,
} from './types.js';
import { MessageWriter, type PreparedMessage, type WriterHost } from './writer.js';
import { BodyCache, RecentMap } from './body-cache.js';

export interface SpoolLimits {
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  readonly minFreeBytes: number;
}

type ChangeEvent = 'delivered' | 'bounced' | 'expired' | 'deferred' | 'deleted';
interface Change {
  readonly r: number;
  readonly code: number;
  readonly attempts: number;
  readonly due: number;
  readonly reply: string | undefined;
  readonly event: ChangeEvent;
}

const consoleLogger: SpoolLogger = {
  warn: (m, f) => console.warn(m, f ?? ''),
  error: (m, f) => console.error(m, f ?? ''),
};

/** How long a message whose envelope could not be read waits before the next try. */
const UNREADABLE_RETRY_MS = 60 * 60 * 1000;

export class Spool implements WriterHost {
  readonly path: string;
  readonly limits: SpoolLimits;
  readonly inlineBodyLimit: number;
  readonly tmpDir: string;
  readonly bodiesDir: string;
  readonly corruptDir: string;
  readonly segmentSize: number;
  /** What recovery found at start. */
  recovery!: RecoveryReport;
  readonly #clock: Clock;
  readonly #logger: SpoolLogger;
  readonly #index = new QueueIndex();
  readonly #ids = new MessageIdGenerator();
  readonly #observers = new Set<SpoolObserver>();
  readonly #bodies = new BodyCache();
  readonly #metas = new RecentMap<number, MessageMeta>();
  #commits!: CommitPath;
  #log!: SegmentLog;
  #space!: FreeSpaceMonitor;
  #unlock: (() => Promise<void>) | undefined;
  #closed = false;
  readonly #paused: PausedStore;

  private constructor(options: SpoolOptions) {
    this.path = path.resolve(options.path ?? DEFAULT_SPOOL_PATH);
    this.limits = Object.freeze({
      maxMessageSize: options.maxMessageSize ?? 0,
      maxRecipients: options.maxRecipients ?? 1000,
      minFreeBytes: options.minFreeBytes ?? 64 * 1024 * 1024,
    });
    this.inlineBodyLimit = options.inlineBodyLimit ?? 256 * 1024;
    this.segmentSize = Math.min(options.segmentSize ?? 64 * 1024 * 1024, 1024 * 1024 * 1024);
    this.tmpDir = path.join(this.path, 'tmp');
    this.bodiesDir = path.join(this.path, 'bodies');
    this.corruptDir = path.join(this.path, 'corrupt');
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? consoleLogger;
    this.#paused = new PausedStore(this.path);
  }

  get maxMessageSize(): number {
    return this.limits.maxMessageSize;
  }

  /** Opens (creating if needed) and recovers the spool at `options.path`. */
  static async open(options: SpoolOptions = {}): Promise<Spool> {
    const s = new Spool(options);
    try {
      for (const d of [s.path, s.tmpDir, s.bodiesDir, s.corruptDir]) await fsp.mkdir(d, { recursive: true });
      s.#unlock = await acquireSpoolLock(s.path);
      s.#log = await SegmentLog.open(path.join(s.path, 'segments'), s.corruptDir, s.segmentSize, s.#logger);
      s.recovery = await recoverIndex(
        s.#log,
        s.#index,
        s.#ids,
        { bodies: s.bodiesDir, tmp: s.tmpDir, corrupt: s.corruptDir },
        s.#logger,
        () => s.#clock.now(),
      );
      await s.#loadPaused();
      s.#space = new FreeSpaceMonitor(s.path, s.limits.minFreeBytes, options.freeSpaceCheckMs ?? 1000);
      await s.#space.refresh();
      s.#commits = new CommitPath(s.#log, s.#index, s.#space, s.bodiesDir, s.segmentSize, s.#logger);
    } catch (e) {
      await s.#log?.close();
      await s.#unlock?.();
      throw toSpoolIoError(e, `spool open ${s.path}`);
    }
    return s;
  }

  // ---------------------------------------------------------------- intake

  /** Throws SPOOL_FULL when free space is below the reserve (SMTP: 452 4.3.1 at MAIL FROM). */
  checkAccepting(extraBytes = 0): void {
    if (this.#closed) throw new SpoolError('SPOOL_CLOSED', 'spool is closed');
    if (this.#space.isLow(extraBytes)) {
      void this.#space.refresh();
      throw new SpoolError('SPOOL_FULL', `less than ${this.limits.minFreeBytes} bytes free in ${this.path}`);
    }
  }

  /** Starts a message; see spool/writer for the streaming contract. */
  createMessage(envelope: EnvelopeInput): MessageWriter {
    this.checkAccepting(envelope.mailParams?.size ?? 0);
    const n = envelope.recipients?.length ?? 0;
    if (n === 0) throw new SpoolError('BAD_ENVELOPE', 'a message needs at least one recipient');
    if (n > this.limits.maxRecipients) {
      throw new SpoolError('TOO_MANY_RECIPIENTS', `${n} recipients; at most ${this.limits.maxRecipients}`);
    }
    for (const r of envelope.recipients) {
      if (typeof r?.address !== 'string' || r.address.length === 0) throw new SpoolError('BAD_ENVELOPE', 'recipient without address');
    }
    if (typeof envelope.mailFrom !== 'string') throw new SpoolError('BAD_ENVELOPE', 'missing reverse-path');
    const max = this.limits.maxMessageSize;
    if (max > 0 && (envelope.mailParams?.size ?? 0) > max) {
      throw new SpoolError('MESSAGE_TOO_LARGE', `declared SIZE ${envelope.mailParams?.size} exceeds ${max}`);
    }
    const now = this.#clock.now();
    const num = this.#ids.next(now);
    const stored: StoredEnvelope = { ...envelope, arrivedAt: envelope.arrivedAt ?? now };
    return new MessageWriter(this, num, formatMessageId(num), stored);
  }

  /** @internal Called by MessageWriter.commit(). */
  async commitPrepared(msg: PreparedMessage): Promise<void> {
    this.checkAccepting(msg.size);
    const env = msg.envelope;
    const rec = encodeMessageRecord(
      { id: msg.id, env, size: msg.size, ...(msg.externalCrc !== undefined ? { ext: msg.externalCrc } : {}) },
      msg.body,
    );
    const res = await this.#commits.commit([rec], msg.externalCrc !== undefined);
    // Most mail is relayed within seconds of arrival: keep recent small bodies so delivery does not read them back.
    this.#metas.set(msg.id, { id: msg.id, env, size: msg.size, ...(msg.externalCrc !== undefined ? { ext: msg.externalCrc } : {}) });
    if (msg.externalCrc === undefined) this.#bodies.set(msg.idText, msg.body.length === 1 ? Buffer.from(msg.body[0]!) : Buffer.concat(msg.body as Uint8Array[]));
    const queues = env.recipients.map((r) => this.#index.queueFor(r.queue ?? domainOf(r.address), env.vmta));
    const envid = env.envelopeId ?? env.mailParams?.envid;
    const m = this.#index.addMessage({
      id: msg.id,
      segment: res.segment,
      offset: res.offsets[0]!,
      recLen: rec.length,
      metaLen: rec.chunks[2]!.length,
      size: msg.size,
      arrivedAt: env.arrivedAt,
      external: msg.externalCrc !== undefined,
      jobHash: env.jobId !== undefined ? fnv1a(env.jobId) : 0,
      envHash: envid !== undefined ? fnv1a(envid) : 0,
      queues: queues.map((q) => q.id),
    });
    const r0 = this.#index.mRcptStart[m]!;
    queues.forEach((q, i) => {
      q.count++;
      this.#index.enqueue(r0 + i, env.arrivedAt);
    });
    this.#emit({
      type: 'enqueued',
      at: this.#clock.now(),
      messageId: msg.idText,
      envelope: env,
      size: msg.size,
      queues: [...new Set(queues.map((q) => q.name))],
    });
  }

  // ---------------------------------------------------------------- queues

  /**
   * Leases up to `max` recipients of the queue that are due (one message or
   * many), marks them in flight, and returns them grouped by message with
   * their envelopes. Empty when the queue is paused, unknown or not due.
   */
  async takeBatch(queue: string, max: number, opts: { now?: number } = {}): Promise<LeasedMessage[]> {
    this.#assertOpen();
    const q = this.#index.queue(queue);
    if (!q || q.paused || max <= 0) return [];
    const now = opts.now ?? this.#clock.now();
    const slots = this.#index.lease(q, max, now);
    this.#index.tidy(q);
    const at = this.#clock.now();
    for (const r of slots) this.#emitRecipient('leased', r, at);
    return inspect.leasedMessages(this.#log, this.#index, slots, (id, rs, e) => {
      // XXX: a damaged envelope keeps coming back every hour, logged each time,
      // until an operator deletes the message; it is never silently dropped.
      this.#logger.error('spool: cannot read a leased message; retrying later', { id, error: String(e) });
      for (const r of rs) this.#requeue(r, now + UNREADABLE_RETRY_MS);
    }, (n) => this.#metas.get(n));
  }

  /**
   * `petrel schedule QUEUE` (pmta's "retry now"): every queued recipient of the
   * queue becomes due now. In memory only: after a restart the recorded retry
   * times stand again. Returns how many recipients were moved forward.
   */
  scheduleNow(queue: string): number {
    this.#assertOpen();
    const q = this.#index.queue(queue);
    if (!q) return 0;
    const now = this.#clock.now();
    let n = 0;
    for (const r of this.#index.queuedIn(q)) {
      if (this.#index.rDue[r]! > now) {
        this.#index.enqueue(r, now);
        n++;
      }
    }
    this.#index.tidy(q);
    return n;
  }

  /** Puts in-flight recipients back in their queue, due now (or at `dueAt`), without counting an attempt. */
  release(recipientIds: readonly string[], dueAt?: number): void {
    this.#assertOpen();
    const at = this.#clock.now();
    for (const rid of recipientIds) {
      const r = this.#slotOfRecipient(rid);
      if (this.#index.rState[r] !== ST.IN_FLIGHT) throw new SpoolError('BAD_STATE', `${rid} is not in flight`);
      this.#requeue(r, dueAt ?? at);
      this.#emitRecipient('released', r, at);
    }
  }

  /**
   * Records delivery outcomes (recipients in flight or queued). Durable when
   * it resolves; observers are told then. All or nothing: an unknown or
   * finished recipient rejects the whole call before anything is written.
   */
  async recordOutcomes(outcomes: readonly Outcome[]): Promise<void> {
    this.#assertOpen();
    const ix = this.#index;
    const changes: Change[] = [];
    const seen = new Set<number>();
    for (const o of outcomes) {
      const r = this.#slotOfRecipient(o.recipientId);
      const st = ix.rState[r]!;
      if ((st !== ST.IN_FLIGHT && st !== ST.QUEUED) || seen.has(r)) {
        throw new SpoolError('BAD_STATE', `${o.recipientId} is not queued or in flight`);
      }
      seen.add(r);
      const tried = st === ST.IN_FLIGHT && o.kind !== 'expired' ? 1 : 0;
      const attempts = Math.min(ix.rAttempts[r]! + tried, 0xffff);
      const code =
        o.kind === 'delivered' ? ST.DELIVERED : o.kind === 'bounced' ? ST.BOUNCED : o.kind === 'expired' ? ST.EXPIRED : ST.QUEUED;
      const due = o.kind === 'deferred' ? o.nextAttemptAt : ix.rDue[r]!;
      changes.push({ r, code, attempts, due, reply: o.reply, event: o.kind });
    }
    await this.#commitChanges(changes);
  }

  /** Pauses a queue: `takeBatch` returns nothing until resumed. Survives restarts. */
  async pauseQueue(queue: string): Promise<void> {
    await this.#setPaused(queue, true);
  }

  async resumeQueue(queue: string): Promise<void> {
    await this.#setPaused(queue, false);
  }

  /**
   * Deletes the queue's queued recipients (as `bounced` with `bounce: true`,
   * else `deleted`); recipients in flight finish their attempt. Returns how
   * many were removed.
   */
  async deleteQueue(queue: string, opts: { bounce?: boolean; reply?: string } = {}): Promise<number> {
    this.#assertOpen();
    const q = this.#index.queue(queue);
    if (!q) return 0;
    return this.#deleteSlots(this.#index.queuedIn(q), opts);
  }

  /** Like `deleteQueue`, for one message's queued recipients. */
  async deleteMessage(id: string, opts: { bounce?: boolean; reply?: string } = {}): Promise<number> {
    this.#assertOpen();
    const m = this.#slotOfMessage(id);
    const r0 = this.#index.mRcptStart[m]!;
    const slots: number[] = [];
    for (let r = r0; r < r0 + this.#index.mRcptCount[m]!; r++) if (this.#index.rState[r] === ST.QUEUED) slots.push(r);
    return this.#deleteSlots(slots, opts);
  }

  // ---------------------------------------------------------------- reads

  queueNames(): string[] {
    return this.#index.queues.filter((q) => q.count > 0 || q.paused).map((q) => q.name).sort();
  }

  /** Counts for `show queues` (all queues with mail or paused, or just `queue`). */
  queueStats(queue?: string): QueueStats[] {
    return inspect.queueStats(this.#index, queue);
  }

  /** Earliest due time of a queued recipient of the queue. */
  nextDueAt(queue: string): number | undefined {
    const q = this.#index.queue(queue);
    return q ? this.#index.nextDue(q) : undefined;
  }

  /** Queues not paused with a recipient due at or before `now`. */
  readyQueues(now: number = this.#clock.now()): string[] {
    const out: string[] = [];
    for (const q of this.#index.queues) {
      if (q.paused || q.count === q.inFlight) continue;
      const due = this.#index.nextDue(q);
      if (due !== undefined && due <= now) out.push(q.name);
    }
    return out;
  }

  /** Envelope and recipient states of a live message; undefined if unknown or finished. */
  async getMessage(id: string): Promise<MessageInfo | undefined> {
    this.#assertOpen();
    const n = parseMessageId(id);
    const m = n === undefined ? undefined : this.#index.slotOf(n);
    return m === undefined ? undefined : inspect.messageInfo(this.#log, this.#index, m);
  }

  /** Ids of live messages, ascending, optionally only those with recipients in `queue`. */
  listMessages(opts: { queue?: string; after?: string; limit?: number } = {}): string[] {
    return inspect.listMessageIds(this.#index, opts);
  }

  async findByJobId(jobId: string): Promise<string[]> {
    this.#assertOpen();
    return inspect.findByHash(this.#log, this.#index, this.#index.mJobHash, fnv1a(jobId), (m) => m.env.jobId === jobId);
  }

  async findByEnvelopeId(envelopeId: string): Promise<string[]> {
    this.#assertOpen();
    return inspect.findByHash(this.#log, this.#index, this.#index.mEnvHash, fnv1a(envelopeId),
      (m) => (m.env.envelopeId ?? m.env.mailParams?.envid) === envelopeId);
  }

  /** The body of a live message, checksum-verified. */
  async readBody(id: string): Promise<Buffer> {
    this.#assertOpen();
    const slot = this.#slotOfMessage(id);
    const cached = this.#bodies.get(id);
    if (cached) return cached;
    return inspect.readBody(this.#log, this.#index, slot, this.bodiesDir);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  observe(observer: SpoolObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Counters for benchmarks and metrics. */
  stats(): { messages: number; commits: { flushes: number; items: number; maxBatch: number; flushMs: number }; segments: number; indexArrayBytes: number; freeBytes: number } {
    return {
      messages: this.#index.messageCount,
      commits: this.#commits.stats,
      segments: this.#log.segments.length,
      indexArrayBytes: this.#index.arrayBytes,
      freeBytes: this.#space.estimate,
    };
  }

  /** Waits for pending commits, then closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#commits.close();
    await this.#paused.idle();
    this.#space.stop();
    await this.#log.close();
    await this.#unlock?.();
  }

  // ---------------------------------------------------------------- internals

  async #commitChanges(changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const ix = this.#index;
    const prev = changes.map((c) => ix.rState[c.r]!);
    for (const c of changes) ix.rState[c.r] = ST.PENDING;
    const entries: StateChange[] = changes.map((c) => {
      const m = ix.rMsg[c.r]!;
      const e: StateChange = [ix.mId[m]!, c.r - ix.mRcptStart[m]!, c.code, c.attempts, c.due];
      if (c.reply !== undefined) e.push(c.reply);
      return e;
    });
    const rec = encodeStateRecord(entries);
    let res: CommitResult;
    try {
      res = await this.#commits.commit([rec]);
    } catch (e) {
      changes.forEach((c, i) => {
        if (prev[i] === ST.QUEUED) ix.enqueue(c.r, ix.rDue[c.r]!);
        else ix.rState[c.r] = prev[i]!;
      });
      throw e;
    }
    const at = this.#clock.now();
    const finished: number[] = [];
    changes.forEach((c, i) => {
      const r = c.r;
      const m = ix.rMsg[r]!;
      const q = ix.queues[ix.rQueue[r]!]!;
      if (prev[i] === ST.IN_FLIGHT) q.inFlight--;
      ix.rAttempts[r] = c.attempts;
      if (c.reply !== undefined) {
        ix.rLastSeg[r] = res.segment;
        ix.rLastOff[r] = res.offsets[0]!;
      }
      if (c.code === ST.QUEUED) {
        ix.enqueue(r, c.due);
      } else {
        ix.rState[r] = c.code;
        q.count--;
        if (--ix.mLive[m]! === 0) finished.push(m);
      }
      this.#emitRecipient(c.event, r, at, c.reply, c.code === ST.QUEUED ? c.due : undefined);
    });
    for (const m of finished) this.#finish(m);
  }

  async #deleteSlots(slots: readonly number[], opts: { bounce?: boolean; reply?: string }): Promise<number> {
    const code = opts.bounce ? ST.BOUNCED : ST.DELETED;
    const event: ChangeEvent = opts.bounce ? 'bounced' : 'deleted';
    const ix = this.#index;
    await this.#commitChanges(
      slots.map((r) => ({ r, code, attempts: ix.rAttempts[r]!, due: ix.rDue[r]!, reply: opts.reply, event })),
    );
    return slots.length;
  }

  #requeue(r: number, due: number): void {
    const q = this.#index.queues[this.#index.rQueue[r]!]!;
    if (this.#index.rState[r] === ST.IN_FLIGHT) q.inFlight--;
    this.#index.enqueue(r, due);
  }

  #finish(m: number): void {
    const ix = this.#index;
    if ((ix.mFlags[m]! & 2) !== 0) {
      const file = path.join(this.bodiesDir, formatMessageId(ix.mId[m]!));
      fsp.unlink(file).catch((e: unknown) => this.#logger.warn('spool: could not remove body file', { file, error: String(e) }));
    }
    const seg = ix.mSeg[m]!;
    ix.removeMessage(m);
    this.#commits.finished(seg);
  }

  /** Deletes unreferenced old segments, through the committer (serialized with appends). */
  async #loadPaused(): Promise<void> {
    for (const name of await this.#paused.load(this.#logger)) {
      const slash = name.lastIndexOf('/');
      this.#index.queueFor(name.slice(0, slash), name.slice(slash + 1)).paused = true;
    }
  }

  async #setPaused(queue: string, paused: boolean): Promise<void> {
    this.#assertOpen();
    const slash = queue.lastIndexOf('/');
    if (slash <= 0) throw new SpoolError('NOT_FOUND', `queue name must be domain/vmta: ${queue}`);
    const q = this.#index.queueFor(queue.slice(0, slash).toLowerCase(), queue.slice(slash + 1));
    const prev = q.paused;
    q.paused = paused;
    try {
      await this.#paused.save(this.#index.queues.filter((x) => x.paused).map((x) => x.name));
    } catch (e) {
      q.paused = prev;
      throw e;
    }
    this.#emit({ type: paused ? 'queue-paused' : 'queue-resumed', at: this.#clock.now(), queue: q.name });
  }

  #slotOfMessage(id: string): number {
    const n = parseMessageId(id);
    const m = n === undefined ? undefined : this.#index.slotOf(n);
    if (m === undefined) throw new SpoolError('NOT_FOUND', `no live message ${id}`);
    return m;
  }

  #slotOfRecipient(rid: string): number {
    const p = parseRecipientId(rid);
    if (!p) throw new SpoolError('NOT_FOUND', `malformed recipient id ${rid}`);
    const m = this.#slotOfMessage(p.messageId);
    if (p.index >= this.#index.mRcptCount[m]!) throw new SpoolError('NOT_FOUND', `no recipient ${rid}`);
    const r = this.#index.mRcptStart[m]! + p.index;
    if (isFinal(this.#index.rState[r]!)) throw new SpoolError('BAD_STATE', `${rid} is already final`);
    return r;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SpoolError('SPOOL_CLOSED', 'spool is closed');
  }

  #emitRecipient(type: RecipientEventType, r: number, at: number, reply?: string, nextAttemptAt?: number): void {
    if (this.#observers.size > 0) this.#emit(recipientEvent(this.#index, type, r, at, reply, nextAttemptAt));
  }

  #emit(ev: SpoolEvent): void {
    notify(this.#observers, ev, this.#logger);
  }
}
