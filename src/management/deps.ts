/**
 * @module management/deps
 *
 * What the management server needs from the running MTA, as narrow
 * interfaces, so it is built and tested apart from `Mta` (the lead wires
 * the real objects in `mta.ts`):
 *
 * - `ManagementDeps`: read models (spool, configuration, queue runtime,
 *   connection counts, event ring, traffic history) and the few commands
 *   (reload, and optional hooks the queue side may grow: `retryNow`,
 *   `setMode`).
 * - `SpoolView`: the public `Spool` methods used here (a `Spool` satisfies it).
 * - `QueueControl`: the part of `QueueManager` used here (a `QueueManager`
 *   satisfies it; `setMode` is optional until the manager has one).
 * - `AccessRule`, `AccessLevel`, `ManagementOptions`.
 * - `createManagementFeeds(spool)`: the event ring and traffic history,
 *   subscribed to the spool; create them when the MTA starts so history
 *   covers the whole run, not just the time the HTTP server is up.
 *
 * Contract: nothing here reads a file; the server only ever shows the
 * configuration through the resolver (resolved values with file:line).
 */
import type { PetrelConfig } from '../config/model.js';
import type { ConfigResolver } from '../config/resolve.js';
import type { Cidr, Diagnostic } from '../config/types.js';
import type { Spool } from '../spool/spool.js';
import type { SuppressionList } from '../policy/suppression.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { EventRing } from './event-ring.js';
import { TrafficHistory, type Categorize } from './history.js';

export type AccessLevel = 'none' | 'monitor' | 'admin';

/** One `http-access CIDR LEVEL` line. */
export interface AccessRule {
  readonly cidr: Cidr;
  readonly level: AccessLevel;
}

/** The spool methods the management side uses (`Spool` has them all). */
export type SpoolView = Pick<
  Spool,
  | 'queueStats'
  | 'queueNames'
  | 'getMessage'
  | 'listMessages'
  | 'findByJobId'
  | 'findByEnvelopeId'
  | 'pauseQueue'
  | 'resumeQueue'
  | 'deleteQueue'
  | 'deleteMessage'
  | 'stats'
  | 'observe'
  | 'nextDueAt'
  | 'takeBatch'
  | 'release'
>;

/** What the queue manager tells about a queue (a subset of `QueueRuntime`). */
export interface QueueRuntimeView {
  readonly sessions: number;
  readonly mode: 'normal' | 'backoff';
  readonly limitedBy?: string | undefined;
  readonly lastError?: string | undefined;
}

/** The queue manager as the management side sees it (`QueueManager` fits). */
export interface QueueControl {
  runtime(queue: string): QueueRuntimeView | undefined;
  kick(): void;
  readonly activeSessions?: number;
  /** `set queue --mode=…`; absent until the queue manager supports it (the API answers 501). */
  setMode?(queue: string, mode: 'normal' | 'backoff'): boolean | void;
  /** `pause job ID` / `resume job ID`: hold back one job's recipients. */
  pauseJob?(jobId: string): void;
  resumeJob?(jobId: string): boolean;
}

export interface ManagementDeps {
  readonly spool: SpoolView;
  /** The configuration in force (changes on reload). */
  config(): PetrelConfig;
  /** The resolver of the configuration in force. */
  resolver(): ConfigResolver;
  /** Absent when delivery is not running (then queues show mode normal, no sessions). */
  readonly queues?: QueueControl | undefined;
  /** Current SMTP sessions: inbound (server) and outbound (delivery). */
  connections(): { in: number; out: number };
  /** Process start, ms since the epoch. */
  readonly startedAt: number;
  readonly version: string;
  /** Re-reads the configuration; applied as a whole or not at all. */
  reload(): Promise<{ ok: boolean; errors: readonly Diagnostic[] }>;
  readonly events: EventRing;
  readonly history: TrafficHistory;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Host name shown in the monitor's title. */
  readonly hostname?: string;
  /** Inbound sessions since start and how many of them used TLS, if the server counts them. */
  tlsShare?(): { sessions: number; tls: number };
  /** Delivery's DNS questions by outcome, their total time, and cache hits (absent with delivery off). */
  dnsStats?(): { noerror: number; nxdomain: number; failed: number; seconds: number; cacheHits: number } | undefined;
  /**
   * Makes the queue's deferred recipients due now (`schedule Q`). When
   * absent the server does it with the spool's public API (lease every
   * queued recipient, release them due now).
   */
  retryNow?(queue: string): Promise<number>;
  /** The suppression list (policy/suppression.ts), when the MTA keeps one. */
  readonly suppression?: SuppressionList | undefined;
}

/** Options of `startManagement`. */
export interface ManagementOptions {
  readonly host: string;
  readonly port: number;
  readonly access: readonly AccessRule[];
  /** PEM with certificate and key (`http-mgmt-tls-certificate`): the API, monitor and metrics are served over HTTPS. */
  readonly tls?: Buffer | undefined;
  /** `Authorization: Bearer TOKEN` grants admin from any address. */
  readonly token?: string | undefined;
  /** Extra host names accepted in the Host header (IP literals, localhost and this host's name always are). */
  readonly allowedHosts?: readonly string[];
  /** Most concurrent SSE streams; default 32. */
  readonly maxStreams?: number;
}

/** Event ring and traffic history fed from the spool; `detach()` unsubscribes both. */
export function createManagementFeeds(
  spool: Pick<Spool, 'observe'>,
  opts: { clock?: Clock; categorize?: Categorize; eventCapacity?: number } = {},
): { events: EventRing; history: TrafficHistory; detach(): void } {
  const events = new EventRing({ ...(opts.eventCapacity ? { capacity: opts.eventCapacity } : {}), ...(opts.clock ? { clock: opts.clock } : {}) });
  const history = new TrafficHistory({ ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.categorize ? { categorize: opts.categorize } : {}) });
  const off = spool.observe((ev) => {
    events.push(ev);
    history.record(ev);
  });
  return { events, history, detach: off };
}
