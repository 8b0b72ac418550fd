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
import * as os from 'node:os';
import * as path from 'node:path';
import { hasErrors, loadConfig } from './config/loader.js';
import { lastSetting, type PetrelConfig } from './config/model.js';
import { ConfigResolver } from './config/resolve.js';
import type { Diagnostic, RateValue } from './config/types.js';
import { VmtaSelector } from './policy/vmta.js';
import { AuthFailureLimiter, DEFAULT_AUTH_FAILURE_RATE } from './server/auth-limiter.js';
import { DEFAULT_TIMEOUTS, type ServerContext, type SessionTimeouts, type UserCheck } from './server/context.js';
import { UserDirectory } from './server/credentials.js';
import { SmtpServer, type BoundListener } from './server/listener.js';
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
  readonly log?: Logger;
  readonly clock?: Clock;
  readonly timeouts?: Partial<SessionTimeouts>;
  /** `authentication-method system`: the shadow file (default /etc/shadow). */
  readonly shadowFile?: string;
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

export class Mta {
  private constructor(
    readonly config: PetrelConfig,
    readonly spool: Spool,
    readonly server: SmtpServer,
    readonly ctx: ServerContext,
    readonly warnings: readonly Diagnostic[],
  ) {}

  static async start(opts: MtaOptions): Promise<Mta> {
    const res = loadConfig(opts.configFile);
    if (!res.config || hasErrors(res.diagnostics)) throw new ConfigRefused(res.diagnostics);
    const config = res.config;
    const log = opts.log ?? silentLogger;
    const clock = opts.clock ?? systemClock;
    const resolver = new ConfigResolver(config);
    const spool = await Spool.open({ ...spoolOptionsFrom(config), clock, logger: log });
    try {
      const tls = buildServerTls(config);
      const users = new UserDirectory(config, opts.shadowFile ? { shadowFile: opts.shadowFile } : {});
      const userCheck: UserCheck = {
        verifyPassword: (u, p) => users.verifyPassword(u, p),
        cramMd5Secret: (u) => users.cramMd5Secret(u),
        verifyCertificate: (u, s) => users.verifyCertificate(u, s),
        hasUsers: config.smtpUsers.size > 0,
      };
      const limiters = new Map<string, AuthFailureLimiter>();
      const authLimiterFor = (rate: RateValue | undefined): AuthFailureLimiter => {
        const r = rate ?? DEFAULT_AUTH_FAILURE_RATE;
        const key = r === 'unlimited' ? 'unlimited' : `${r.count}/${r.perMs}`;
        let l = limiters.get(key);
        if (!l) limiters.set(key, (l = new AuthFailureLimiter(r, clock)));
        return l;
      };
      const ctx: ServerContext = {
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
      const server = new SmtpServer(ctx);
      await server.listen();
      return new Mta(config, spool, server, ctx, res.diagnostics.filter((d) => d.severity === 'warning'));
    } catch (e) {
      await spool.close().catch(() => undefined);
      throw e;
    }
  }

  get listeners(): readonly BoundListener[] {
    return this.server.listeners;
  }

  /** Graceful stop: no new connections, transactions finish (up to `graceMs`), spool closed. */
  async stop(graceMs = 30_000): Promise<void> {
    await this.server.stop(graceMs);
    await this.spool.close();
  }
}
