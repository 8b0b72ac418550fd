/**
 * @module management/api/v1/types
 *
 * The JSON shapes of the management API, version 1 — shared by the server
 * (`src/management/api/v1/*.ts`) and the CLI (`src/cli/api-client.ts`), so
 * both sides change together (STYLE habit 21). Types only.
 *
 * Conventions: times are milliseconds since the Unix epoch (`…At`), ages in
 * seconds; counts are recipients unless the name says messages or bytes.
 * An error is `{ error: { code, message } }` with a 4xx/5xx status.
 */

export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'CONFIG_REFUSED'
  | 'NOT_IMPLEMENTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface DiagnosticJson {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string; readonly diagnostics?: readonly DiagnosticJson[] };
}

export type QueueMode = 'normal' | 'backoff';

export interface TrafficWindow {
  readonly in: { readonly recipients: number; readonly messages: number; readonly bytes: number };
  readonly out: { readonly delivered: number; readonly deferred: number; readonly bounced: number; readonly expired: number; readonly deleted: number };
}

export interface StatusResponse {
  readonly version: string;
  readonly hostname: string;
  readonly startedAt: number;
  readonly now: number;
  readonly uptimeSeconds: number;
  readonly traffic: {
    readonly lastMinute: TrafficWindow;
    readonly lastHour: TrafficWindow;
    readonly total: TrafficWindow & { readonly since: number };
  };
  readonly connections: { readonly in: number; readonly out: number };
  readonly spool: { readonly messages: number; readonly recipients: number; readonly bytes: number; readonly freeBytes: number; readonly segments: number };
  readonly queues: { readonly total: number; readonly paused: number; readonly backoff: number; readonly limited: number };
  readonly delivery: 'running' | 'not running';
}

export interface QueueRow {
  readonly queue: string;
  readonly domain: string;
  readonly vmta: string;
  readonly recipients: number;
  readonly messages: number;
  readonly bytes: number;
  readonly inFlight: number;
  readonly oldestAt: number | null;
  readonly ageSeconds: number | null;
  /** Earliest due time of a queued recipient. */
  readonly nextAttemptAt: number | null;
  readonly paused: boolean;
  readonly mode: QueueMode;
  readonly sessions: number;
  /** Why it is not sending now: `paused`, `backoff`, `max-msg-rate reached`, `retry at …` … (empty: not limited). */
  readonly limitedBy: readonly string[];
  readonly lastError: string | null;
}

export interface QueuesResponse {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly queues: readonly QueueRow[];
}

export interface SettingJson {
  readonly directive: string;
  readonly value: unknown;
  readonly raw: string | null;
  readonly from: 'default' | { readonly file: string; readonly line: number };
  readonly cleared?: boolean;
  readonly status: string;
}

export interface EventJson {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly messageId?: string;
  readonly recipientId?: string;
  readonly queue?: string;
  readonly queues?: readonly string[];
  readonly recipients?: number;
  readonly jobId?: string;
  readonly attempts?: number;
  readonly reply?: string;
  readonly nextAttemptAt?: number;
}

export interface QueueDetailResponse {
  readonly queue: QueueRow;
  /** Settings in force for this queue, each with its source (`file:line` or `default`); secrets shown as `***`. */
  readonly settings: ReadonlyArray<{ readonly title: string; readonly settings: readonly SettingJson[] }>;
  readonly recentErrors: readonly EventJson[];
}

export interface DomainRow {
  readonly domain: string;
  readonly recipients: number;
  readonly messages: number;
  readonly bytes: number;
  readonly queues: number;
  readonly vmtas: readonly string[];
  readonly oldestAt: number | null;
  readonly ageSeconds: number | null;
  readonly pausedQueues: number;
  readonly sessions: number;
}

export interface DomainsResponse {
  readonly total: number;
  readonly domains: readonly DomainRow[];
}

export interface VmtaRow {
  readonly name: string;
  /** Declared by a `<virtual-mta>` block (`{default}` is not). */
  readonly configured: boolean;
  readonly sourceHosts: ReadonlyArray<{ readonly ip: string; readonly hostname: string }>;
  readonly pools: readonly string[];
  readonly recipients: number;
  readonly messages: number;
  readonly queues: number;
  readonly sessions: number;
}

export interface VmtasResponse {
  readonly vmtas: readonly VmtaRow[];
}

export interface JobRow {
  readonly jobId: string;
  readonly messages: number;
  /** Recipients not yet final. */
  readonly recipients: number;
  readonly oldestAt: number | null;
}

export interface JobsResponse {
  readonly jobs: readonly JobRow[];
  /** Live messages looked at; the scan is bounded. */
  readonly scanned: number;
  readonly truncated: boolean;
}

export interface RecipientJson {
  readonly id: string;
  readonly address: string;
  readonly state: string;
  readonly queue: string;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastReply: string | null;
}

export interface MessageJson {
  readonly id: string;
  readonly from: string;
  readonly arrivedAt: number;
  readonly size: number;
  readonly jobId: string | null;
  readonly envelopeId: string | null;
  readonly vmta: string;
  readonly sourceIp: string | null;
  readonly authUser: string | null;
  readonly listener: string | null;
  readonly recipients: readonly RecipientJson[];
}

export interface MessagesResponse {
  readonly messages: readonly MessageJson[];
  readonly scanned: number;
  readonly truncated: boolean;
}

export interface EventsResponse {
  readonly events: readonly EventJson[];
  /** Pass as `since` to continue. */
  readonly last: number;
  /** Some events after `since` were overwritten before this read. */
  readonly lost: boolean;
}

export interface TrafficResponse {
  readonly start: number;
  readonly minutes: number;
  readonly series: Readonly<Record<string, readonly number[]>>;
  readonly bouncedByCategory: Readonly<Record<string, readonly number[]>>;
  readonly deferredByCategory: Readonly<Record<string, readonly number[]>>;
}

export interface ActionResponse {
  readonly ok: true;
  readonly action: string;
  readonly queues?: readonly string[];
  readonly recipients?: number;
  readonly message?: string;
}

export interface ReloadResponse {
  readonly ok: true;
  readonly warnings: readonly DiagnosticJson[];
}

/** One `snapshot` event of `GET /api/v1/stream` (also embedded in the monitor page). */
export interface StreamSnapshot {
  readonly seq: number;
  readonly level: 'monitor' | 'admin';
  readonly status: StatusResponse;
  readonly topQueues: readonly QueueRow[];
  readonly topDomains: readonly DomainRow[];
  readonly vmtas: readonly VmtaRow[];
  /** Paused, backoff or otherwise limited queues, with why. */
  readonly limited: readonly QueueRow[];
  readonly traffic: TrafficResponse;
  /** Last hour, by category. */
  readonly bounceCategories: Readonly<Record<string, number>>;
  readonly deferralCategories: Readonly<Record<string, number>>;
}
