/**
 * @module queue/manager
 *
 * The queue manager: decides which queue gets a connection next and applies
 * what delivery reports (STYLE habit 6: delivery reports, the queue applies).
 *
 * Invariants:
 *   - A queue never has more delivery sessions than its `max-smtp-out`
 *     (`backoff-max-smtp-out` in backoff mode), nor the whole server more
 *     than `total-max-smtp-out`.
 *   - Fairness: ready queues are served round robin, higher `queue-priority`
 *     first; a slow queue only ties up its own sessions, so one slow domain
 *     never starves the others. A message with recipients at many domains is
 *     in several queues and is delivered to each independently.
 *   - Every outcome goes to the spool (durable) before anything else hears of
 *     it; a deferral gets its next attempt time from `queue/retry.ts`, and a
 *     deferral past `bounce-after` becomes `expired` (category message-expired).
 *   - Paused queues are not served (the spool keeps the paused flag across restarts).
 *   - `max-msg-rate` counts recipients attempted, `max-connect-rate` sessions opened.
 *
 * Exports: `QueueManager`, `QueueManagerOptions`, `Deliverer`, `DeliverySession`,
 * `QueueRuntime` (from `runtime.ts`).
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { RecipientOutcome } from '../delivery/types.js';
import type { Spool } from '../spool/spool.js';
import type { LeasedMessage, Outcome, RecipientInfo } from '../spool/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyRates, dataRateLeaseLimit, fitDataRate, newRuntime, type QueueRuntime } from './runtime.js';
export type { QueueRuntime } from './runtime.js';
import { isExpired, nextAttemptAt } from './retry.js';
import { queueParts, queueSettings, type QueueSettings } from './settings.js';
import { replyActions } from './reply-patterns.js';

/** One connection's worth of delivery to one queue: opened once, used for several batches, closed when idle. */
export interface DeliverySession {
  /** Delivers the messages (each recipient once); resolves with one outcome per recipient. Never rejects. */
  deliver(messages: readonly LeasedMessage[]): Promise<RecipientOutcome[]>;
  /** Can it carry more mail (connection alive, under max-msg-per-connection)? */
  readonly usable: boolean;
  close(): Promise<void>;
}

/** Opens delivery sessions for a queue (SMTP to its MX hosts, or a local type: discard, file, pipe). */
export interface Deliverer {
  open(queue: string, settings: QueueSettings): DeliverySession;
}

/** What the manager decided for one recipient, before it is recorded (for DSNs and accounting). */
export interface OutcomeDecision {
  readonly message: LeasedMessage;
  readonly recipient: RecipientInfo;
  /** What delivery reported; undefined when it reported nothing for this recipient. */
  readonly outcome: RecipientOutcome | undefined;
  readonly final: 'delivered' | 'bounced' | 'expired' | 'deferred';
  readonly nextAttemptAt?: number;
  readonly queue: string;
}

export interface QueueManagerOptions {
  /**
   * Called with every decision before the spool records it: DSNs and
   * accounting records are written first, so a crash can repeat them but
   * never lose one (the recipient is then delivered and reported again).
   */
  readonly beforeRecord?: (decisions: readonly OutcomeDecision[]) => Promise<void>;
  readonly spool: Spool;
  readonly resolver: () => ConfigResolver;
  readonly deliverer: Deliverer;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often the manager looks for due work when nothing wakes it (ms). */
  readonly tickMs?: number;
  /** Told when a queue's mode actually changes (`backoff-notify`). */
  readonly onModeChange?: (queue: string, mode: 'normal' | 'backoff', why: string) => void;
}


/** Least time between two `retry-upon-new-mail` retries of one queue. */
const NEW_MAIL_RETRY_SPACING_MS = 60_000;

/** How long a paused job's recipients wait before their queue looks at them again. */
const JOB_HOLD_MS = 30_000;

export class QueueManager {
  #runtime = new Map<string, QueueRuntime>();
  /** When `retry-upon-new-mail` last brought each queue forward. */
  #newMailRetryAt = new Map<string, number>();
  #settings = new Map<string, QueueSettings>();
  #settingsFrom: ConfigResolver | undefined;
  #total = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #again = false;
  #stopped = true;
  #workers = new Set<Promise<void>>();
  /** `pmta pause job ID`: messages of these jobs are held back (persisted in the spool directory). */
  #pausedJobs = new Set<string>();
  /** Sessions kept open by connection-idle-timeout, waiting for new mail. */
  #idle = new Set<() => void>();
  #rr = 0;

  constructor(private readonly o: QueueManagerOptions) {}

  start(): void {
    this.#stopped = false;
    try {
      const saved = JSON.parse(fs.readFileSync(this.#jobsFile, 'utf8')) as unknown;
      if (Array.isArray(saved)) for (const j of saved) if (typeof j === 'string') this.#pausedJobs.add(j);
    } catch {
      // No paused jobs yet.
    }
    const tick = this.o.tickMs ?? 1000;
    this.#timer = setInterval(() => this.kick(), tick);
    this.#timer.unref();
    this.kick();
  }

  /** Stops starting new work and waits for the sessions in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const wake of this.#idle) wake();
    this.#idle.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#workers]);
  }

  /** Look for work now (new mail arrived, a queue was resumed, a retry is due). */
  kick(): void {
    if (this.#stopped) return;
    // One idle connection per kick (a kick is one new message, one resumed queue or one tick):
    // waking all of them would make every idle session race for the same message.
    const first = this.#idle.values().next();
    if (!first.done) {
      this.#idle.delete(first.value);
      first.value();
    }
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    void this.#tick().finally(() => {
      this.#ticking = false;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  runtime(queue: string): QueueRuntime | undefined {
    return this.#runtime.get(queue);
  }

  /**
   * New mail was queued in `queues`. With `retry-upon-new-mail yes` a queue
   * waiting to retry is tried at once: its deferred recipients become due
   * and a `defer-queue` hold ends. At most once per queue per
   * `NEW_MAIL_RETRY_SPACING_MS`, so a queue that keeps receiving mail while
   * its MX is down is not retried (and its retry schedule not run through)
   * for every message.
   */
  newMail(queues: readonly string[]): void {
    const now = this.o.clock.now();
    for (const queue of queues) {
      const s = this.settings(queue);
      if (!s.retryUponNewMail) continue;
      const rt = this.#runtime.get(queue);
      const last = this.#newMailRetryAt.get(queue);
      if (last !== undefined && now - last < NEW_MAIL_RETRY_SPACING_MS) continue;
      const held = rt?.deferredUntil !== undefined && rt.deferredUntil > now;
      if (rt && held) rt.deferredUntil = undefined;
      const n = this.o.spool.scheduleNow(queue);
      // Only a retry that brought something forward starts the spacing: mail arriving at a queue with nothing deferred costs nothing.
      if (n === 0 && !held) continue;
      this.#newMailRetryAt.set(queue, now);
      this.o.log.info('new mail: deferred recipients retried now (retry-upon-new-mail)', { queue, recipients: n });
      // The tick the new mail started may already have passed over this queue.
      this.kick();
    }
    if (this.#newMailRetryAt.size > 10_000) this.#newMailRetryAt.clear();
  }

  get #jobsFile(): string {
    return path.join(this.o.spool.path, 'paused-jobs.json');
  }

  /** Job ids currently paused. */
  pausedJobs(): string[] {
    return [...this.#pausedJobs];
  }

  /**
   * `petrel pause job ID` (pmta's): the job's recipients stay queued (a batch
   * that leases them puts them back for later) until `resumeJob`. Persisted,
   * so a restart keeps the pause. Mail of other jobs in the same queues flows on.
   */
  pauseJob(jobId: string): void {
    this.#pausedJobs.add(jobId);
    this.#saveJobs();
    this.o.log.info('job paused', { job: jobId });
  }

  resumeJob(jobId: string): boolean {
    const had = this.#pausedJobs.delete(jobId);
    this.#saveJobs();
    if (had) {
      // Recipients held back wait for their hold time: make every queue due now so they go at once.
      for (const q of this.o.spool.queueNames()) this.o.spool.scheduleNow(q);
      this.o.log.info('job resumed', { job: jobId });
      this.kick();
    }
    return had;
  }

  #saveJobs(): void {
    const tmp = `${this.#jobsFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([...this.#pausedJobs]));
    fs.renameSync(tmp, this.#jobsFile);
  }

  /**
   * `petrel set queue --mode=normal|backoff` (pmta's): backoff mode uses the
   * `backoff-*` limits (`backoff-max-smtp-out`, `backoff-max-msg-rate`,
   * `backoff-max-connect-rate`, `backoff-retry-after`) until set back.
   */
  setMode(queue: string, mode: 'normal' | 'backoff', why = 'set by an operator (API or petrel set queue)'): boolean {
    const s = this.settings(queue);
    const rt = this.#state(queue, s);
    const changed = rt.mode !== mode;
    rt.mode = mode;
    applyRates(rt, s);
    if (rt.normalTimer) clearTimeout(rt.normalTimer);
    rt.normalTimer = undefined;
    this.o.log.info('queue mode set', { queue, mode });
    if (changed) this.o.onModeChange?.(queue, mode, why);
    this.kick();
    return true;
  }

  /** Backoff mode with an automatic return to normal after `ms` (Infinity: stays until told). */
  #backoff(queue: string, ms: number, why: string): void {
    const rt = this.#runtime.get(queue);
    if (rt?.mode !== 'backoff') this.setMode(queue, 'backoff', why);
    const state = this.#runtime.get(queue)!;
    this.o.log.warn('queue in backoff mode', { queue, why });
    if (Number.isFinite(ms)) {
      if (state.normalTimer) clearTimeout(state.normalTimer);
      state.normalTimer = setTimeout(() => this.setMode(queue, 'normal', `backoff-to-normal-after ${Math.round(ms / 1000)}s elapsed`), ms);
      state.normalTimer.unref();
    }
  }

  get activeSessions(): number {
    return this.#total;
  }

  /** Effective settings of a queue under the current configuration. */
  settings(queue: string): QueueSettings {
    const resolver = this.o.resolver();
    if (resolver !== this.#settingsFrom) {
      this.#settings.clear();
      this.#settingsFrom = resolver;
    }
    let s = this.#settings.get(queue);
    if (!s) {
      const { domain, vmta } = queueParts(queue);
      s = queueSettings(resolver, domain, vmta);
      this.#settings.set(queue, s);
    }
    return s;
  }

  #state(queue: string, s: QueueSettings): QueueRuntime {
    let rt = this.#runtime.get(queue);
    if (!rt) {
      rt = newRuntime(s, this.o.clock);
      this.#runtime.set(queue, rt);
    } else if (rt.ratesFrom !== s) {
      // A reload changed the settings: the rates follow at once, tokens in hand kept within the new bursts.
      applyRates(rt, s);
    }
    return rt;
  }

  async #tick(): Promise<void> {
    const total = this.o.resolver().global<number>('total-max-smtp-out').value;
    const totalMax = typeof total === 'number' ? total : 1000;
    const now = this.o.clock.now();
    const ready = this.o.spool.readyQueues(now);
    if (ready.length === 0) return;
    // Higher queue-priority first; round robin among equals (rotate the start each tick).
    this.#rr = (this.#rr + 1) % ready.length;
    const rotated = [...ready.slice(this.#rr), ...ready.slice(0, this.#rr)];
    const ordered = rotated.map((q) => ({ q, s: this.settings(q) })).sort((a, b) => b.s.priority - a.s.priority);
    for (const { q, s } of ordered) {
      if (this.#total >= totalMax) break;
      const rt = this.#state(q, s);
      if (rt.deferredUntil !== undefined && rt.deferredUntil > now) {
        rt.limitedBy = `deferred by smtp-pattern-list until ${new Date(rt.deferredUntil).toISOString()}`;
        continue;
      }
      const max = rt.mode === 'backoff' ? s.backoff.maxSmtpOut : s.maxSmtpOut;
      if (rt.sessions >= max) {
        rt.limitedBy = `max-smtp-out reached (${max})`;
        continue;
      }
      if (rt.msgRate.available() < 1) {
        rt.limitedBy = 'max-msg-rate reached';
        continue;
      }
      if (rt.dataRate.available() < 1) {
        rt.limitedBy = 'max-data-volume-rate reached';
        continue;
      }
      // smtp-out-rampup-interval: the first session opens at once, each further one after the interval
      // (seen at the next tick: the interval is seconds, the tick one).
      if (rt.sessions > 0 && s.rampupIntervalMs > 0 && rt.lastOpenedAt !== undefined && now - rt.lastOpenedAt < s.rampupIntervalMs) {
        rt.limitedBy = `smtp-out-rampup-interval (${Math.round(s.rampupIntervalMs / 1000)}s between new connections)`;
        continue;
      }
      if (!rt.connectRate.tryTake()) {
        rt.limitedBy = 'max-connect-rate reached';
        continue;
      }
      rt.limitedBy = undefined;
      rt.lastOpenedAt = now;
      rt.sessions++;
      this.#total++;
      const w = this.#work(q, s, rt).finally(() => {
        rt.sessions--;
        this.#total--;
        this.#workers.delete(w);
        this.kick();
      });
      this.#workers.add(w);
    }
  }

  /** One delivery session: batches from the queue until it is empty, the session is used up, or we stop. */
  async #work(queue: string, s: QueueSettings, rt: QueueRuntime): Promise<void> {
    let session: DeliverySession | undefined;
    try {
      for (;;) {
        if (this.#stopped) return;
        const allowed = Math.min(s.maxRcptPerTransaction, rt.msgRate.available());
        if (allowed < 1) {
          rt.limitedBy = 'max-msg-rate reached';
          return;
        }
        if (rt.dataRate.available() < 1) {
          rt.limitedBy = 'max-data-volume-rate reached';
          // Keep a usable connection (connection-idle-timeout) through a short wait for the budget, rather than reconnecting per message.
          const wait = rt.dataRate.nextAt() - this.o.clock.now();
          if (session?.usable && s.connectionIdleTimeoutMs > 0 && wait <= s.connectionIdleTimeoutMs) {
            await this.#waitForMail(wait);
            if (this.#stopped) return;
            continue;
          }
          return;
        }
        // A byte budget: lease about as many recipients as it will let through (by the queue's mean message size), not a full batch to put back.
        const leased = dataRateLeaseLimit(rt, allowed);
        let batch = await this.o.spool.takeBatch(queue, leased, { now: this.o.clock.now() });
        if (this.#pausedJobs.size > 0) batch = this.#holdPausedJobs(batch);
        const over = fitDataRate(rt, batch);
        if (over.length > 0) {
          // Due again now: the queue's ticks hold them while the budget is spent, and a reload that raises the rate frees them at once.
          this.o.spool.release(over.flatMap((m) => m.recipients.map((r) => r.id)));
          batch = batch.slice(0, batch.length - over.length);
        }
        if (batch.length === 0) {
          // connection-idle-timeout: keep a usable connection a while for mail that is about to arrive.
          if (session?.usable && s.connectionIdleTimeoutMs > 0 && (await this.#waitForMail(s.connectionIdleTimeoutMs))) continue;
          return;
        }
        const n = batch.reduce((a, m) => a + m.recipients.length, 0);
        rt.msgRate.tryTake(n);
        session ??= this.o.deliverer.open(queue, s);
        const outcomes = await session.deliver(batch);
        await this.#apply(queue, s, rt, batch, outcomes);
        if (!session.usable) {
          await session.close();
          session = undefined;
          // A session that failed at the host or queue level: leave the rest for the retry schedule.
          if (outcomes.some((o) => o.kind === 'deferred' && (o.scope === 'host' || o.scope === 'queue'))) return;
        }
      }
    } catch (e) {
      this.o.log.error('delivery worker fault', { queue, error: String((e as Error)?.stack ?? e) });
    } finally {
      await session?.close().catch(() => undefined);
    }
  }

  /** Puts the recipients of paused jobs back in the queue for a while; returns the rest. */
  #holdPausedJobs(batch: LeasedMessage[]): LeasedMessage[] {
    const held = batch.filter((m) => m.envelope.jobId !== undefined && this.#pausedJobs.has(m.envelope.jobId));
    if (held.length === 0) return batch;
    this.o.spool.release(
      held.flatMap((m) => m.recipients.map((r) => r.id)),
      this.o.clock.now() + JOB_HOLD_MS,
    );
    return batch.filter((m) => !held.includes(m));
  }

  /** Resolves true when new work may be there (kick), false after `ms` or at stop. */
  #waitForMail(ms: number): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(!this.#stopped);
      };
      const timer = setTimeout(() => {
        this.#idle.delete(wake);
        resolve(false);
      }, ms);
      this.#idle.add(wake);
    });
  }

  async #apply(queue: string, s: QueueSettings, rt: QueueRuntime, batch: readonly LeasedMessage[], outcomes: readonly RecipientOutcome[]): Promise<void> {
    const now = this.o.clock.now();
    const byId = new Map(outcomes.map((o) => [o.recipientId, o]));
    const out: Outcome[] = [];
    const decisions: OutcomeDecision[] = [];
    let bounceQueue: string | undefined;
    for (const m of batch) {
      for (const r of m.recipients) {
        const o = byId.get(r.id);
        const decide = (final: OutcomeDecision['final'], reply: string, nextAttemptAt?: number): void => {
          decisions.push({ message: m, recipient: r, outcome: o, final, queue, ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}) });
          out.push(final === 'deferred' ? { recipientId: r.id, kind: 'deferred', reply, nextAttemptAt: nextAttemptAt! } : { recipientId: r.id, kind: final, reply });
        };
        if (!o) {
          // Delivery said nothing about it: treat as a transient failure, never as delivered.
          decide('deferred', '451 4.3.0 no outcome reported', nextAttemptAt(now, m.envelope.arrivedAt, r.attempts + 1, 'transient', s));
          continue;
        }
        const reply = `${o.reply.code}${o.reply.enhanced ? ' ' + o.reply.enhanced : ''} ${o.reply.text}`;
        const actions = replyActions(this.o.resolver().config, s.smtpPatternList, o.reply);
        if (actions) {
          const why = `the reply "${reply}" matched smtp-pattern-list rule ${actions.rule}`;
          if (actions.mode === 'backoff') this.#backoff(queue, actions.backoffToNormalAfterMs ?? s.backoff.toNormalAfterMs, why);
          else if (actions.mode === 'normal' && rt.mode !== 'normal') this.setMode(queue, 'normal', why);
          if (actions.deferQueue) rt.deferredUntil = nextAttemptAt(now, m.envelope.arrivedAt, r.attempts + 1, 'transient', s, rt.mode === 'backoff');
          if (actions.bounceQueue) bounceQueue = reply;
          if (actions.ignored) this.o.log.info('smtp-pattern-list actions not acted on', { queue, actions: actions.ignored });
          if (actions.bounceRcpt && o.kind === 'deferred') {
            decide('bounced', reply);
            continue;
          }
        }
        if (o.kind === 'delivered' && rt.mode === 'backoff' && s.backoff.toNormalAfterDelivery) this.setMode(queue, 'normal', 'a message was delivered (backoff-to-normal-after-delivery)');
        switch (o.kind) {
          case 'delivered':
          case 'bounced':
            decide(o.kind, reply);
            break;
          case 'deferred': {
            rt.lastError = reply;
            if (isExpired(now, m.envelope.arrivedAt, s.bounceAfter)) {
              decide('expired', reply);
              break;
            }
            const kind = o.reply.phase === 'dns' ? 'dns' : o.reply.phase === 'rcpt' && o.scope === 'recipient' ? 'rcpt' : 'transient';
            decide('deferred', reply, nextAttemptAt(now, m.envelope.arrivedAt, r.attempts + 1, kind, s, rt.mode === 'backoff'));
            break;
          }
        }
      }
    }
    if (this.o.beforeRecord) {
      try {
        await this.o.beforeRecord(decisions);
      } catch (e) {
        this.o.log.error('recording DSNs or accounting failed; outcomes recorded anyway', { queue, error: String((e as Error)?.message ?? e) });
      }
    }
    await this.o.spool.recordOutcomes(out);
    if (bounceQueue) {
      // smtp-pattern-list `bounce-queue`: the remote said this queue's mail will never be taken.
      const n = await this.o.spool.deleteQueue(queue, { bounce: true, reply: bounceQueue });
      this.o.log.warn('queue bounced by smtp-pattern-list', { queue, recipients: n, reply: bounceQueue.slice(0, 200) });
    }
    for (const o of outcomes) {
      this.o.log.info('delivery', { queue, rcpt: o.recipientId, kind: o.kind, scope: o.scope, reply: `${o.reply.code} ${o.reply.text}`.slice(0, 300), mta: o.reply.mta });
    }
  }
}
