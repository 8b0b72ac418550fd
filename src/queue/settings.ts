/**
 * @module queue/settings
 *
 * The delivery settings of one queue (`domain/vmta`), read from the
 * configuration through `ConfigResolver.domain()` (per directive: the
 * VMTA's `<domain>` blocks, then the global ones, exact before `[*.]`
 * before `*`, then PowerMTA's defaults). Computed once per queue and
 * resolver: a reload builds a new resolver, so queued mail picks up new
 * settings at its next attempt.
 *
 * Exports: `QueueSettings`, `queueSettings`, `queueParts`, `queueSetting`, `vmtaSourceHosts`.
 */
import type { ConfigResolver } from '../config/resolve.js';
import type { DataRateValue, HostRoute, RateValue, SourceHost } from '../config/types.js';
import type { TlsMode } from '../delivery/types.js';

export interface QueueSettings {
  readonly domain: string;
  readonly vmta: string | undefined;
  readonly type: 'smtp' | 'pipe' | 'file' | 'discard' | 'http-delivery';
  readonly command?: string;
  readonly fileDestination?: string;
  readonly maxSmtpOut: number;
  readonly maxMsgPerConnection: number;
  /** `max-errors-per-connection`: error replies after which the connection is closed (Infinity = unlimited). */
  readonly maxErrorsPerConnection: number;
  /** `smtp-out-rampup-interval`: least time between opening two sessions of the queue (0 = none). */
  readonly rampupIntervalMs: number;
  readonly maxRcptPerTransaction: number;
  readonly maxMsgRate: RateValue;
  readonly maxConnectRate: RateValue;
  /** `max-data-volume-rate`: message bytes per period, as a rate of bytes. */
  readonly maxDataVolumeRate: RateValue;
  readonly connectionIdleTimeoutMs: number;
  readonly priority: number;
  readonly retryAfter: readonly number[];
  readonly retryRecipientsAfter: number;
  /** `retry-upon-new-mail`: new mail for the queue brings its deferred recipients forward. */
  readonly retryUponNewMail: boolean;
  readonly retryAfterDnsError: number;
  readonly bounceAfter: number;
  readonly routes?: readonly HostRoute[];
  readonly defaultPort: number;
  readonly queueTo?: string;
  readonly tlsMode: TlsMode;
  readonly useDane: boolean;
  readonly useMtaSts: boolean;
  /** `tls-verify-certificate` (extension): judge the MX certificate by the CA store and its name. */
  readonly tlsVerify: boolean;
  /** `log-tls`: log each outbound connection's TLS outcome (protocol, cipher, how the certificate was judged). */
  readonly logTls: boolean;
  /** `log-resolution`: log what DNS (or smtp-hosts) gave for the queue's hosts. */
  readonly logResolution: boolean;
  readonly timeouts: { readonly connect: number; readonly greeting: number; readonly command: number; readonly dataSend: number; readonly dataTermination: number };
  readonly auth?: { readonly username: string; readonly password: string; readonly allowPlainWithoutTls: boolean };
  readonly ignore: { readonly pipelining: boolean; readonly chunking: boolean; readonly dsn: boolean; readonly eightBitMime: boolean };
  readonly smtp421MeansMxUnavailable: boolean;
  readonly mxConnectionAttempts: number;
  readonly bounceUpon5xxGreeting: boolean;
  readonly backoff: {
    readonly maxMsgRate?: RateValue;
    readonly maxConnectRate?: RateValue;
    readonly maxDataVolumeRate?: RateValue;
    readonly maxSmtpOut: number;
    readonly retryAfter: readonly number[];
    /** `backoff-to-normal-after` (never by default). */
    readonly toNormalAfterMs: number;
    /** `backoff-to-normal-after-delivery`: the first delivery ends backoff mode. */
    readonly toNormalAfterDelivery: boolean;
  };
  readonly smtpPatternList?: string;
}

const MIN = 60_000;

/** A queue name `domain/vmta` in its parts; `{default}` is no VMTA. */
export function queueParts(queue: string): { domain: string; vmta: string | undefined } {
  const slash = queue.lastIndexOf('/');
  const vmta = queue.slice(slash + 1);
  return { domain: queue.slice(0, slash), vmta: vmta === '{default}' ? undefined : vmta };
}

/** One `<domain>`-scope directive as it applies to a queue (its domain, within its VMTA). */
export function queueSetting<T>(r: ConfigResolver, name: string, queue: string): T | undefined {
  const { domain, vmta } = queueParts(queue);
  return r.domain<T>(name, domain, vmta).value;
}

export function queueSettings(r: ConfigResolver, domain: string, vmta: string | undefined): QueueSettings {
  const get = <T>(name: string): T | undefined => r.domain<T>(name, domain, vmta).value;
  const num = (name: string, fallback: number): number => {
    const v = get<number>(name);
    return typeof v === 'number' ? v : fallback;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = get<boolean>(name);
    return typeof v === 'boolean' ? v : fallback;
  };
  const durations = (name: string, fallback: number[]): number[] => {
    const v = get<number[]>(name);
    return Array.isArray(v) && v.length > 0 ? v : fallback;
  };
  const routes = get<HostRoute[]>('smtp-hosts') ?? get<HostRoute[]>('route');
  const useTls = bool('use-starttls', true);
  const requireTls = bool('require-starttls', false);
  const user = get<string>('auth-username');
  const password = get<string>('auth-password');
  const maxMsgPerConn = num('max-msg-per-connection', 0);
  const command = get<string>('command');
  const fileDestination = get<string>('file-destination');
  const queueTo = get<string>('queue-to');
  const patterns = get<string>('smtp-pattern-list');
  return {
    domain,
    vmta,
    type: (get<string>('type') as QueueSettings['type']) ?? 'smtp',
    ...(command ? { command } : {}),
    ...(fileDestination ? { fileDestination } : {}),
    maxSmtpOut: Math.max(1, num('max-smtp-out', 20)),
    maxMsgPerConnection: maxMsgPerConn > 0 ? maxMsgPerConn : Infinity,
    maxErrorsPerConnection: Math.max(1, num('max-errors-per-connection', Infinity)),
    rampupIntervalMs: Math.max(0, num('smtp-out-rampup-interval', 0)),
    maxRcptPerTransaction: Math.max(1, num('max-rcpt-per-transaction', 1000)),
    maxMsgRate: get<RateValue>('max-msg-rate') ?? 'unlimited',
    maxConnectRate: get<RateValue>('max-connect-rate') ?? 'unlimited',
    maxDataVolumeRate: bytesRate(get<DataRateValue>('max-data-volume-rate')) ?? 'unlimited',
    connectionIdleTimeoutMs: Math.min(10 * MIN, num('connection-idle-timeout', 0)),
    priority: num('queue-priority', 50),
    retryAfter: durations('retry-after', [10 * MIN]),
    retryRecipientsAfter: num('retry-recipients-after', 10 * MIN),
    retryUponNewMail: bool('retry-upon-new-mail', false),
    retryAfterDnsError: num('retry-after-dns-error', MIN),
    bounceAfter: num('bounce-after', 4.5 * 24 * 60 * MIN),
    ...(routes && routes.length > 0 ? { routes } : {}),
    defaultPort: num('default-smtp-port', 25),
    ...(queueTo ? { queueTo } : {}),
    tlsMode: requireTls ? 'required' : useTls ? 'opportunistic' : 'none',
    useDane: bool('use-dane', false),
    useMtaSts: bool('use-mta-sts', false),
    tlsVerify: bool('tls-verify-certificate', false),
    logTls: bool('log-tls', false),
    logResolution: bool('log-resolution', false),
    timeouts: {
      connect: num('connect-timeout', 2 * MIN),
      greeting: num('smtp-greeting-timeout', 5 * MIN),
      command: 5 * MIN,
      dataSend: num('data-send-timeout', 3 * MIN),
      dataTermination: num('smtp-data-termination-timeout', 10 * MIN),
    },
    ...(user !== undefined && password !== undefined ? { auth: { username: user, password, allowPlainWithoutTls: bool('use-unencrypted-plain-auth', false) } } : {}),
    ignore: { pipelining: bool('ignore-pipelining', false), chunking: bool('ignore-chunking', false), dsn: bool('ignore-dsn', false), eightBitMime: bool('ignore-8bitmime', false) },
    smtp421MeansMxUnavailable: bool('smtp-421-means-mx-unavailable', false),
    mxConnectionAttempts: Math.max(1, num('mx-connection-attempts', 5)),
    bounceUpon5xxGreeting: bool('bounce-upon-5xx-greeting', true),
    backoff: {
      ...(get<RateValue>('backoff-max-msg-rate') ? { maxMsgRate: get<RateValue>('backoff-max-msg-rate')! } : {}),
      ...(get<RateValue>('backoff-max-connect-rate') ? { maxConnectRate: get<RateValue>('backoff-max-connect-rate')! } : {}),
      ...(get<DataRateValue>('backoff-max-data-volume-rate') ? { maxDataVolumeRate: bytesRate(get<DataRateValue>('backoff-max-data-volume-rate'))! } : {}),
      maxSmtpOut: num('backoff-max-smtp-out', 20),
      retryAfter: durations('backoff-retry-after', [60 * MIN]),
      toNormalAfterMs: num('backoff-to-normal-after', Infinity),
      toNormalAfterDelivery: bool('backoff-to-normal-after-delivery', false),
    },
    ...(patterns ? { smtpPatternList: patterns } : {}),
  };
}

/** The source addresses and EHLO names a VMTA sends from (`smtp-source-host`, several rotate); global ones when it has none. */
export function vmtaSourceHosts(r: ConfigResolver, vmta: string | undefined): SourceHost[] {
  const v = r.vmta<SourceHost[]>('smtp-source-host', vmta).value;
  return Array.isArray(v) ? v : [];
}

/** A data rate as a token rate whose tokens are bytes. */
function bytesRate(v: DataRateValue | undefined): RateValue | undefined {
  if (v === undefined) return undefined;
  return v === 'unlimited' ? 'unlimited' : { count: v.bytes, perMs: v.perMs };
}
