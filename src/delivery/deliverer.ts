/**
 * @module delivery/deliverer
 *
 * `RoutingDeliverer`: opens the right kind of delivery session for a queue —
 * SMTP to its MX hosts, or a local type (`discard`, `file`, `pipe`) — with the
 * shared pieces every session needs (MX resolver and its cache, MTA-STS
 * policy cache, DKIM signer, the rotation over each VMTA's source hosts).
 *
 * Exports: `RoutingDeliverer`, `RoutingDelivererDeps`.
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { SourceHost } from '../config/types.js';
import type { Deliverer, DeliverySession } from '../queue/manager.js';
import type { QueueSettings } from '../queue/settings.js';
import type { Spool } from '../spool/spool.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { DkimSigner } from './dkim.js';
import { LocalSession } from './local.js';
import { ProcessorSession, type AcctRecorder, type ProcessorSet } from '../bounce/processors.js';
import type { MtaStsPolicies } from './mta-sts.js';
import type { MxResolver } from './resolver.js';
import { SmtpDeliverySession } from './smtp-session.js';

export interface RoutingDelivererDeps {
  /** The bounce and feedback-loop processors of the current configuration. */
  readonly processors?: () => ProcessorSet;
  /** Writes accounting records (rb, f) for the processors. */
  readonly record?: AcctRecorder;
  readonly spool: Spool;
  readonly resolver: () => ConfigResolver;
  readonly mx: MxResolver;
  readonly dkim: () => DkimSigner | undefined;
  readonly mtaSts?: MtaStsPolicies;
  readonly clock: Clock;
  readonly log: Logger;
  readonly hostname: () => string;
}

export class RoutingDeliverer implements Deliverer {
  #rotation = new Map<string, number>();

  constructor(private readonly d: RoutingDelivererDeps) {}

  open(queue: string, settings: QueueSettings): DeliverySession {
    const inner = this.#open(queue, settings);
    const processors = this.d.processors?.();
    if (processors && !processors.empty && processors.mayClaim(settings.domain)) {
      return new ProcessorSession(processors, inner, this.d.spool, this.d.record ?? (async () => undefined), this.d.clock, this.d.log);
    }
    return inner;
  }

  #open(queue: string, settings: QueueSettings): DeliverySession {
    if (settings.type !== 'smtp') return new LocalSession(this.d.spool, settings);
    const dkim = this.d.dkim();
    return new SmtpDeliverySession(
      {
        spool: this.d.spool,
        resolver: this.d.resolver(),
        mx: this.d.mx,
        ...(dkim ? { dkim } : {}),
        ...(this.d.mtaSts ? { mtaSts: this.d.mtaSts } : {}),
        clock: this.d.clock,
        log: this.d.log,
        hostname: this.d.hostname(),
        pickSource: (vmta, hosts) => this.#pick(vmta, hosts),
      },
      queue,
      settings,
    );
  }

  /** `smtp-source-host` lines of a VMTA take turns, connection by connection. */
  #pick(vmta: string | undefined, hosts: readonly SourceHost[]): SourceHost | undefined {
    if (hosts.length === 0) return undefined;
    const key = vmta ?? '{default}';
    const i = this.#rotation.get(key) ?? 0;
    this.#rotation.set(key, (i + 1) % hosts.length);
    return hosts[i % hosts.length];
  }
}
