/**
 * @module mta
 *
 * `Mta`: Petrel assembled from a validated configuration — spool opened
 * and recovered, TLS contexts, user directory, AUTH limiter, listeners —
 * and taken apart again in order on stop (listeners first, transactions
 * finish, then the spool is flushed and closed).
 *
 * Used by `petrel start` and by the tests that run Petrel in-process.
 *
 * Exports: `Mta`, `MtaOptions`, `ConfigRefused`, `spoolOptionsFrom`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasErrors, loadConfig } from './config/loader.js';
import { lastSetting, values, type PetrelConfig } from './config/model.js';
import { ConfigResolver } from './config/resolve.js';
import type { CategoryRule, Diagnostic, Listener, RateValue } from './config/types.js';
import { RoutingDeliverer } from './delivery/deliverer.js';
import { DkimSigner } from './delivery/dkim.js';
import { isDkimConfigError } from './delivery/dkim-errors.js';
import { MtaStsPolicies } from './delivery/mta-sts.js';
import { MxResolver } from './delivery/resolver.js';
import { BackoffNotifier } from './queue/backoff-notify.js';
import { BccUponDelivery } from './queue/bcc-upon-delivery.js';
import { queueSetting } from './queue/settings.js';
import { VmtaSelector } from './policy/vmta.js';
import { QueueManager, type OutcomeDecision } from './queue/manager.js';
import { DsnSender, type FailureReport } from './bounce/dsn-sender.js';
import { classify } from './bounce/classify.js';
import { ProcessorSet } from './bounce/processors.js';
import { Accounting } from './accounting/accounting.js';
import { isAccountingError } from './accounting/errors.js';
import type { AcctEvent } from './accounting/records.js';
import { SuppressionList } from './policy/suppression.js';
import { createManagementFeeds } from './management/deps.js';
import { managementOptionsFromConfig, startManagement } from './management/server.js';
import { PACKAGE_VERSION } from './version.js';
import { AuthFailureLimiter, DEFAULT_AUTH_FAILURE_RATE } from './server/auth-limiter.js';
import { DEFAULT_TIMEOUTS, type ServerContext, type SessionTimeouts, type UserCheck } from './server/context.js';
import { UserDirectory } from './server/credentials.js';
import { listenerInfos, SmtpServer, type BoundListener } from './server/listener.js';
import { buildServerTls } from './server/tls.js';
import { Spool } from './spool/spool.js';
import { DEFAULT_SPOOL_PATH, type SpoolOptions } from './spool/types.js';
import { systemClock, type Clock } from './util/clock.js';
import { silentLogger, type Logger } from './util/log.js';

export class ConfigRefused extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(`configuration has ${diagnostics.filter((d) => d.severity === 'error').length} error(s)`);
  }
}

export interface MtaOptions {
  readonly configFile: string;
  /** MTA-STS policy fetches (tests serve policies on a loopback port with their own CA). */
  readonly mtaSts?: { readonly port?: number; readonly ca?: string | Buffer };
  /** How often the queue manager looks for due work (ms; default 1000). */
  readonly queueTickMs?: number;
  /** Do not start delivery (receive only). */
  readonly noDelivery?: boolean;
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly timeouts?: Partial<SessionTimeouts>;
  /** `authentication-method system`: the shadow file (default /etc/shadow). */
  readonly shadowFile?: string;
  /** Least time between two `backoff-notify` notices about one queue (ms; default 5 min). */
  readonly backoffNotifyIntervalMs?: number;
}

/** Spool settings from `spool DIR` / `<spool DIR>` and `min-free-space`; runtime paths are relative to the working directory. */
export function spoolOptionsFrom(config: PetrelConfig): SpoolOptions {
  const dir = config.spool?.arg || (lastSetting<string>(config.global, 'spool')?.value ?? DEFAULT_SPOOL_PATH);
  const minFree = lastSetting<number>(config.spool, 'min-free-space')?.value ?? lastSetting<number>(config.global, 'min-free-space')?.value;
  return {
    path: path.resolve(dir),
    ...(typeof minFree === 'number' && Number.isFinite(minFree) ? { minFreeBytes: minFree } : {}),
    // Per-source limits (max-message-size, max-rcpt-per-message) are enforced by the session; the spool's are backstops.
    maxMessageSize: 0,
    maxRecipients: 100_000,
  };
}

function dkimDiagnostic(e: unknown, file: string): Diagnostic {
  const err = e as { message?: string; pos?: { file: string; line: number; column: number } };
  return { severity: 'error', pos: err.pos ?? { file, line: 0, column: 0 }, message: `DKIM: ${err.message ?? String(e)}` };
}

function buildContext(config: PetrelConfig, spool: Spool, opts: MtaOptions, log: Logger, clock: Clock, limiters: Map<string, AuthFailureLimiter>): ServerContext {
  const resolver = new ConfigResolver(config);
  const tls = buildServerTls(config);
  const users = new UserDirectory(config, opts.shadowFile ? { shadowFile: opts.shadowFile } : {});
  const userCheck: UserCheck = {
    verifyPassword: (u, p) => users.verifyPassword(u, p),
    cramMd5Secret: (u) => users.cramMd5Secret(u),
    exists: (u) => users.has(u),
    verifyCertificate: (u, s) => users.verifyCertificate(u, s),
    hasUsers: config.smtpUsers.size > 0,
  };
  // One limiter per distinct smtp-max-auth-failure-rate, kept across reloads so a reload does not forgive attackers.
  const authLimiterFor = (rate: RateValue | undefined): AuthFailureLimiter => {
    const r = rate ?? DEFAULT_AUTH_FAILURE_RATE;
    const key = r === 'unlimited' ? 'unlimited' : `${r.count}/${r.perMs}`;
    let l = limiters.get(key);
    if (!l) limiters.set(key, (l = new AuthFailureLimiter(r, clock)));
    return l;
  };
  return {
    config,
    resolver,
    spool,
    vmtas: new VmtaSelector(config),
    hostname: resolver.global<string>('host-name').value ?? os.hostname(),
    clock,
    log,
    timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
    ...(tls ? { tls } : {}),
    users: userCheck,
    authLimiterFor,
    shuttingDown: false,
  };
}

export class Mta {
  #config: PetrelConfig;
  #ctx: ServerContext;
  #dkim: DkimSigner | undefined;
  #queues: QueueManager | undefined;
  #mx: MxResolver | undefined;
  #unobserve: (() => void) | undefined;
  #notifier: BackoffNotifier | undefined;
  #stopping = false;
  #accounting: Accounting | undefined;
  #management: { close(): Promise<void> } | undefined;
  #feeds: { detach(): void } | undefined;
  readonly startedAt = Date.now();
  #suppression: SuppressionList | undefined;

  private constructor(
    private readonly opts: MtaOptions,
    config: PetrelConfig,
    readonly spool: Spool,
    readonly server: SmtpServer,
    ctx: ServerContext,
    private readonly limiters: Map<string, AuthFailureLimiter>,
    readonly warnings: readonly Diagnostic[],
  ) {
    this.#config = config;
    this.#ctx = ctx;
  }

  static async start(opts: MtaOptions): Promise<Mta> {
    const res = loadConfig(opts.configFile);
    if (!res.config || hasErrors(res.diagnostics)) throw new ConfigRefused(res.diagnostics);
    const config = res.config;
    const log = opts.log ?? silentLogger;
    const clock = opts.clock ?? systemClock;
    const spool = await Spool.open({ ...spoolOptionsFrom(config), clock, logger: log });
    let started: Mta | undefined;
    try {
      const limiters = new Map<string, AuthFailureLimiter>();
      const ctx = buildContext(config, spool, opts, log, clock, limiters);
      const suppression = await SuppressionList.open(spool.path, clock);
      const accounting = await Accounting.fromConfig(config, { fallbackDir: spool.path, clock, log });
      const server = new SmtpServer({ ...ctx, suppression });
      const mta = new Mta(opts, config, spool, server, { ...ctx, suppression }, limiters, res.diagnostics.filter((d) => d.severity === 'warning'));
      mta.#suppression = suppression;
      mta.#accounting = accounting;
      mta.#dkim = DkimSigner.fromConfig(config, ctx.resolver);
      mta.#observeReceipts();
      started = mta;
      await server.listen();
      if (!opts.noDelivery) mta.#startDelivery();
      await mta.#startManagement();
      return mta;
    } catch (e) {
      // Undo whatever had started (listeners, delivery, accounting) before the spool goes.
      if (started) await started.stop(0).catch(() => undefined);
      else await spool.close().catch(() => undefined);
      if (isDkimConfigError(e)) throw new ConfigRefused([...res.diagnostics, dkimDiagnostic(e, opts.configFile)]);
      if (isAccountingError(e)) throw new ConfigRefused([...res.diagnostics, { severity: 'error', pos: { file: opts.configFile, line: 0, column: 0 }, message: `accounting: ${(e as Error).message}` }]);
      throw e;
    }
  }

  get config(): PetrelConfig {
    return this.#config;
  }

  get ctx(): ServerContext {
    return this.#ctx;
  }

  /**
   * Reload (SIGHUP, `petrel reload`, the API): the file is validated first; with
   * any error the running configuration stays and every error is returned. A
   * valid one takes effect without dropping connections or mail: new sessions
   * use it, sessions in progress finish under the old one, new listeners open
   * and removed ones close; queued mail gets the new queue settings at its next
   * attempt. The spool directory is not moved by a reload (restart for that).
   */
  async reload(): Promise<{ ok: boolean; diagnostics: readonly Diagnostic[] }> {
    const res = loadConfig(this.opts.configFile);
    if (!res.config || hasErrors(res.diagnostics)) return { ok: false, diagnostics: res.diagnostics };
    const ctx = buildContext(res.config, this.spool, this.opts, this.#ctx.log, this.#ctx.clock, this.limiters);
    const diagnostics = [...res.diagnostics];
    if (spoolOptionsFrom(res.config).path !== this.spool.path) {
      diagnostics.push({ severity: 'warning', pos: { file: this.opts.configFile, line: 0, column: 0 }, message: 'the spool directory changed; it takes effect at the next restart' });
    }
    let dkim: DkimSigner;
    try {
      dkim = DkimSigner.fromConfig(res.config, ctx.resolver);
    } catch (e) {
      return { ok: false, diagnostics: [...res.diagnostics, dkimDiagnostic(e, this.opts.configFile)] };
    }
    this.#config = res.config;
    this.#ctx = this.#suppression ? { ...ctx, suppression: this.#suppression } : ctx;
    this.#dkim = dkim;
    this.#mx?.clearCache();
    this.server.setContext(this.#ctx);
    await this.server.reconcile(listenerInfos(values<Listener>(res.config.global, 'smtp-listener')));
    ctx.log.info('configuration reloaded', { file: this.opts.configFile, warnings: diagnostics.length });
    return { ok: true, diagnostics };
  }

  get suppression(): SuppressionList | undefined {
    return this.#suppression;
  }

  get accounting(): Accounting | undefined {
    return this.#accounting;
  }

  /** `r` records: one per recipient of each accepted message (after the spool commit). */
  #observeReceipts(): void {
    const acct = this.#accounting;
    if (!acct || !acct.wants('r')) return;
    this.spool.observe((e) => {
      if (e.type !== 'enqueued') return;
      const envelope = { ...e.envelope, id: e.messageId, size: e.size };
      void acct
        .record(e.envelope.recipients.map((r) => ({ type: 'r' as const, time: e.at, envelope, recipient: { address: r.address, ...(r.orcpt ? { orcpt: r.orcpt } : {}) } })))
        .catch((err: unknown) => this.#ctx.log.error('accounting: r record not written', { id: e.messageId, error: String((err as Error)?.message ?? err) }));
    });
  }

  /** The HTTP API, web monitor and /metrics, when `http-mgmt-port` is configured (on loopback unless `http-access` opens more). */
  async #startManagement(): Promise<void> {
    if (lastSetting<number>(this.#config.global, 'http-mgmt-port') === undefined) return;
    const feeds = createManagementFeeds(this.spool, { clock: this.#ctx.clock });
    this.#feeds = feeds;
    const token = this.#ctx.resolver.global<string>('http-api-token').value ?? process.env['PETREL_API_TOKEN'];
    const tlsFile = this.#ctx.resolver.global<string>('http-mgmt-tls-certificate').value;
    const opts = { ...managementOptionsFromConfig(this.#config, token), ...(tlsFile ? { tls: fs.readFileSync(tlsFile) } : {}) };
    this.#management = await startManagement(
      {
        spool: this.spool,
        config: () => this.#config,
        resolver: () => this.#ctx.resolver,
        queues: this.#queues,
        connections: () => ({ in: this.server.connections, out: this.#queues?.activeSessions ?? 0 }),
        startedAt: this.startedAt,
        version: PACKAGE_VERSION,
        reload: async () => {
          const r = await this.reload();
          return { ok: r.ok, errors: r.diagnostics.filter((d) => d.severity === 'error') };
        },
        events: feeds.events,
        history: feeds.history,
        clock: this.#ctx.clock,
        log: this.#ctx.log,
        hostname: this.#ctx.hostname,
        suppression: this.#suppression,
        tlsShare: () => this.server.tlsShare(),
        dnsStats: () => this.#mx?.stats(),
        retryNow: async (queue) => {
          const n = this.spool.scheduleNow(queue);
          this.#queues?.kick();
          return n;
        },
      },
      opts,
    );
    this.#ctx.log.info('management listening', { host: opts.host, port: opts.port });
  }

  /** The queue manager (undefined when delivery is off). */
  get queues(): QueueManager | undefined {
    return this.#queues;
  }

  #startDelivery(): void {
    const servers = this.#ctx.resolver.global<string[]>('resolver-servers').value ?? [];
    const clock = this.#ctx.clock;
    const mx = new MxResolver({ servers, clock });
    this.#mx = mx;
    const mtaSts = new MtaStsPolicies({ resolver: mx, clock, ...(this.opts.mtaSts ? { https: this.opts.mtaSts } : {}) });
    const record = async (events: readonly AcctEvent[]): Promise<void> => {
      // Suppression first: once the record is visible, the address is already refused.
      const sup = this.#suppression;
      if (sup) {
        const hard = new Set((this.#ctx.resolver.global<string[]>('suppress-upon-bounce-categories').value ?? []).map((c) => c.toLowerCase()));
        const complaints = this.#ctx.resolver.global<boolean>('suppress-upon-complaint').value !== false;
        for (const e of events) {
          const address = e.recipient?.address;
          if (!address) continue;
          if (e.type === 'f' && complaints) await sup.add(address, `complaint (${e.extra?.['feedbackType'] ?? 'abuse'})`, 'complaint');
          if (e.type === 'rb' && e.outcome?.category && hard.has(e.outcome.category)) await sup.add(address, `${e.outcome.category} (out-of-band bounce)`, 'bounce');
        }
      }
      await this.#accounting?.record(events);
    };
    const deliverer = new RoutingDeliverer({
      processors: () => new ProcessorSet(this.#config),
      record,
      spool: this.spool,
      resolver: () => this.#ctx.resolver,
      mx,
      dkim: () => this.#dkim,
      mtaSts,
      clock,
      log: this.#ctx.log,
      hostname: () => this.#ctx.hostname,
    });
    const dsn = new DsnSender({ spool: this.spool, resolver: () => this.#ctx.resolver, hostname: () => this.#ctx.hostname, clock, log: this.#ctx.log });
    const bcc = new BccUponDelivery({ spool: this.spool, resolver: () => this.#ctx.resolver, log: this.#ctx.log });
    const beforeRecord = async (decisions: readonly OutcomeDecision[]): Promise<void> => {
      const failures: FailureReport[] = [];
      for (const d of decisions) {
        if (d.final !== 'delivered' && d.outcome) failures.push({ message: d.message, recipient: d.recipient, outcome: d.outcome, final: d.final });
      }
      if (failures.length > 0) await dsn.report(failures);
      await bcc.copy(decisions);
      await this.#account(decisions);
    };
    const notifier = new BackoffNotifier({
      spool: this.spool,
      resolver: () => this.#ctx.resolver,
      hostname: () => this.#ctx.hostname,
      clock,
      log: this.#ctx.log,
      ...(this.opts.backoffNotifyIntervalMs !== undefined ? { intervalMs: this.opts.backoffNotifyIntervalMs } : {}),
    });
    this.#notifier = notifier;
    const queues = new QueueManager({
      spool: this.spool,
      resolver: () => this.#ctx.resolver,
      deliverer,
      clock,
      log: this.#ctx.log,
      beforeRecord,
      onModeChange: (queue, mode, why) => notifier.modeChanged(queue, mode, why),
      ...(this.opts.queueTickMs ? { tickMs: this.opts.queueTickMs } : {}),
    });
    this.#queues = queues;
    this.#unobserve = this.spool.observe((e) => {
      // After the event, not inside it: the spool is still announcing the commit.
      if (e.type === 'enqueued') setImmediate(() => this.#newMail(queues, e.queues));
      if (e.type === 'enqueued' || e.type === 'queue-resumed') queues.kick();
    });
    queues.start();
  }

  #newMail(queues: QueueManager, names: readonly string[]): void {
    if (this.#stopping || this.#queues !== queues) return; // stopped meanwhile
    try {
      queues.newMail(names);
    } catch (e) {
      this.#ctx.log.warn('retry-upon-new-mail failed', { queues: names, err: e instanceof Error ? e.message : String(e) });
    }
  }

  /** d, b and t records for delivery decisions (before the spool records them), and suppression of hard bounces. */
  async #account(decisions: readonly OutcomeDecision[]): Promise<void> {
    const acct = this.#accounting;
    const hard = new Set((this.#ctx.resolver.global<string[]>('suppress-upon-bounce-categories').value ?? []).map((c) => c.toLowerCase()));
    const events: AcctEvent[] = [];
    const rules = this.#categoryRules();
    // `disable-acct-records d,b,t,tq` per queue (looked up once per queue per batch).
    const disabled = new Map<string, Set<string>>();
    const disabledRecords = (queue: string): Set<string> => {
      let set = disabled.get(queue);
      if (!set) {
        const v = queueSetting<string[]>(this.#ctx.resolver, 'disable-acct-records', queue);
        set = new Set((v ?? []).map((t) => t.trim().toLowerCase()));
        disabled.set(queue, set);
      }
      return set;
    };
    for (const d of decisions) {
      const o = d.outcome;
      const type = d.final === 'delivered' ? 'd' : d.final === 'deferred' ? 't' : 'b';
      const status = d.final === 'expired' ? '5.4.7' : (o?.reply.enhanced ?? (o ? `${String(o.reply.code)[0]}.0.0` : '4.0.0'));
      const diagnostic = o ? `smtp;${o.reply.code} ${o.reply.enhanced ? o.reply.enhanced + ' ' : ''}${o.reply.text}` : 'smtp;451 4.3.0 no outcome reported';
      const category = d.final === 'delivered' ? undefined : d.final === 'expired' ? 'message-expired' : classify({ status, diagnostic }, rules).category;
      if (d.final === 'bounced' && category && hard.has(category) && this.#suppression) {
        await this.#suppression.add(d.recipient.address, `${category}: ${diagnostic.slice(5, 120)}`, 'bounce');
      }
      if (!acct?.wants(type) || disabledRecords(d.queue).has(type)) continue;
      events.push({
        type,
        time: this.#ctx.clock.now(),
        envelope: { ...d.message.envelope, id: d.message.messageId, size: d.message.size },
        recipient: { address: d.recipient.address, ...(d.recipient.orcpt ? { orcpt: d.recipient.orcpt } : {}) },
        outcome: {
          action: d.final === 'delivered' ? 'relayed' : d.final === 'deferred' ? 'delayed' : 'failed',
          status,
          diagnostic,
          ...(o?.reply.mta ? { mta: o.reply.mta } : {}),
          ...(category ? { category } : {}),
        },
        ...(o?.delivery ? { delivery: o.delivery } : {}),
        queue: d.queue,
      });
    }
    if (acct && events.length > 0) await acct.record(events);
  }

  #categoryRules(): CategoryRule[] | undefined {
    const block = this.#config.bounceCategoryPatterns;
    const rules = block?.settings.get('')?.map((s) => s.value as CategoryRule);
    return rules && rules.length > 0 ? rules : undefined;
  }

  get listeners(): readonly BoundListener[] {
    return this.server.listeners;
  }

  /** Graceful stop: no new connections, transactions finish (up to `graceMs`), spool closed. */
  async stop(graceMs = 30_000): Promise<void> {
    await this.#management?.close();
    this.#feeds?.detach();
    await this.server.stop(graceMs);
    this.#unobserve?.();
    this.#stopping = true;
    await this.#queues?.stop();
    this.#notifier?.close();
    await this.#accounting?.close();
    await this.spool.close();
  }
}
