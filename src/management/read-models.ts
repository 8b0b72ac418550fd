/**
 * @module management/read-models
 *
 * Builds the API's read models from the running MTA (`ManagementDeps`):
 * queue rows with "why limited", domain and VMTA aggregates, the status
 * document, message JSON and redacted settings. Shared by the v1 routes,
 * the SSE stream, the monitor page and the metrics, so all four agree.
 *
 * Nothing here changes state or reads a file (settings come from the
 * resolver; secrets are replaced by `***`).
 *
 * Exports: `queueRows`, `domainRows`, `vmtaRows`, `statusOf`, `messageJson`,
 * `settingsFor`, `redactSetting`, `isSecretDirective`,
 * `sortQueues`, `trafficWindow`, `snapshotOf`, `queueRow`, `TOP_N`.
 */
import { effectiveSettings, resolvedToJson } from '../config/summary.js';
import type { SourceHost } from '../config/types.js';
import { DEFAULT_VMTA, type MessageInfo, type QueueStats } from '../spool/types.js';
import type { AccessLevel, ManagementDeps } from './deps.js';
import type { TrafficTotals } from './history.js';
import type {
  DomainRow,
  MessageJson,
  QueueRow,
  SettingJson,
  StatusResponse,
  StreamSnapshot,
  TrafficWindow,
  VmtaRow,
} from './api/v1/types.js';

export const TOP_N = 20;

const now = (deps: ManagementDeps): number => (deps.clock ? deps.clock.now() : Date.now());

export function queueRow(deps: ManagementDeps, s: QueueStats, at: number): QueueRow {
  const rt = deps.queues?.runtime(s.queue);
  const due = deps.spool.nextDueAt(s.queue);
  const waiting = s.recipients - s.inFlight;
  const limitedBy: string[] = [];
  if (s.paused) limitedBy.push('paused');
  if (rt?.mode === 'backoff') limitedBy.push('backoff');
  if (rt?.limitedBy) limitedBy.push(rt.limitedBy);
  if (!s.paused && waiting > 0 && due !== undefined && due > at) limitedBy.push(`waiting for retry at ${new Date(due).toISOString()}`);
  if (!deps.queues && waiting > 0) limitedBy.push('delivery not running');
  return {
    queue: s.queue,
    domain: s.domain,
    vmta: s.vmta,
    recipients: s.recipients,
    messages: s.messages,
    bytes: s.bytes,
    inFlight: s.inFlight,
    oldestAt: s.oldest ?? null,
    ageSeconds: s.oldest === undefined ? null : Math.max(0, Math.floor((at - s.oldest) / 1000)),
    nextAttemptAt: due ?? null,
    paused: s.paused,
    mode: rt?.mode ?? 'normal',
    sessions: rt?.sessions ?? 0,
    limitedBy,
    lastError: rt?.lastError ?? null,
  };
}

export function queueRows(deps: ManagementDeps, at = now(deps)): QueueRow[] {
  return deps.spool.queueStats().map((s) => queueRow(deps, s, at));
}

export type QueueSort = 'size' | 'age' | 'domain';

export function sortQueues<T extends { recipients: number; oldestAt: number | null; domain: string }>(rows: T[], by: QueueSort): T[] {
  const name = (r: T): string => ('queue' in r ? String((r as { queue: unknown }).queue) : r.domain);
  const cmp: Record<QueueSort, (a: T, b: T) => number> = {
    size: (a, b) => b.recipients - a.recipients || name(a).localeCompare(name(b)),
    age: (a, b) => (a.oldestAt ?? Infinity) - (b.oldestAt ?? Infinity) || name(a).localeCompare(name(b)),
    domain: (a, b) => a.domain.localeCompare(b.domain) || name(a).localeCompare(name(b)),
  };
  return rows.sort(cmp[by]);
}

export function domainRows(rows: readonly QueueRow[], at: number): DomainRow[] {
  const by = new Map<string, { recipients: number; messages: number; bytes: number; queues: number; vmtas: string[]; oldest: number | null; paused: number; sessions: number }>();
  for (const r of rows) {
    let d = by.get(r.domain);
    if (!d) by.set(r.domain, (d = { recipients: 0, messages: 0, bytes: 0, queues: 0, vmtas: [], oldest: null, paused: 0, sessions: 0 }));
    d.recipients += r.recipients;
    // A message with two recipients at one domain through two VMTAs counts once per queue here.
    d.messages += r.messages;
    d.bytes += r.bytes;
    d.queues++;
    d.vmtas.push(r.vmta);
    if (r.oldestAt !== null && (d.oldest === null || r.oldestAt < d.oldest)) d.oldest = r.oldestAt;
    if (r.paused) d.paused++;
    d.sessions += r.sessions;
  }
  return [...by].map(([domain, d]) => ({
    domain,
    recipients: d.recipients,
    messages: d.messages,
    bytes: d.bytes,
    queues: d.queues,
    vmtas: d.vmtas.sort(),
    oldestAt: d.oldest,
    ageSeconds: d.oldest === null ? null : Math.max(0, Math.floor((at - d.oldest) / 1000)),
    pausedQueues: d.paused,
    sessions: d.sessions,
  }));
}

export function vmtaRows(deps: ManagementDeps, rows: readonly QueueRow[]): VmtaRow[] {
  const cfg = deps.config();
  const resolver = deps.resolver();
  const names = new Set<string>([...cfg.vmtas.keys()]);
  for (const r of rows) names.add(r.vmta);
  const pools = new Map<string, string[]>();
  for (const p of cfg.pools.values()) for (const m of p.members) pools.set(m, [...(pools.get(m) ?? []), p.name]);
  const out: VmtaRow[] = [];
  for (const name of [...names].sort()) {
    const configured = cfg.vmtas.has(name);
    let hosts: SourceHost[] = [];
    try {
      const v = resolver.vmta<SourceHost[]>('smtp-source-host', name === DEFAULT_VMTA ? undefined : name).value;
      hosts = Array.isArray(v) ? v : [];
    } catch {
      hosts = [];
    }
    const mine = rows.filter((r) => r.vmta === name);
    out.push({
      name,
      configured,
      sourceHosts: hosts.map((h) => ({ ip: h.range ?? h.ip, hostname: h.hostname })),
      pools: pools.get(name) ?? [],
      recipients: mine.reduce((a, r) => a + r.recipients, 0),
      messages: mine.reduce((a, r) => a + r.messages, 0),
      queues: mine.length,
      sessions: mine.reduce((a, r) => a + r.sessions, 0),
    });
  }
  return out;
}

export function trafficWindow(t: TrafficTotals): TrafficWindow {
  return {
    in: { recipients: t.received, messages: t.receivedMessages, bytes: t.bytesIn },
    out: { delivered: t.delivered, deferred: t.deferred, bounced: t.bounced, expired: t.expired, deleted: t.deleted },
  };
}

export function statusOf(deps: ManagementDeps, rows: readonly QueueRow[], at = now(deps)): StatusResponse {
  const st = deps.spool.stats();
  const totals = deps.history.totals();
  let hostname = deps.hostname ?? '';
  if (!hostname) {
    try {
      hostname = String(deps.resolver().global<string>('host-name').value ?? '');
    } catch {
      hostname = '';
    }
  }
  return {
    version: deps.version,
    hostname,
    startedAt: deps.startedAt,
    now: at,
    uptimeSeconds: Math.max(0, Math.floor((at - deps.startedAt) / 1000)),
    traffic: {
      lastMinute: trafficWindow(deps.history.window(60_000)),
      lastHour: trafficWindow(deps.history.window(3_600_000)),
      total: { ...trafficWindow(totals), since: totals.since },
    },
    connections: deps.connections(),
    spool: {
      messages: st.messages,
      recipients: rows.reduce((a, r) => a + r.recipients, 0),
      bytes: rows.reduce((a, r) => a + r.bytes, 0),
      freeBytes: st.freeBytes,
      segments: st.segments,
    },
    queues: {
      total: rows.length,
      paused: rows.filter((r) => r.paused).length,
      backoff: rows.filter((r) => r.mode === 'backoff').length,
      limited: rows.filter((r) => r.limitedBy.length > 0).length,
    },
    delivery: deps.queues ? 'running' : 'not running',
  };
}

export function messageJson(m: MessageInfo): MessageJson {
  const e = m.envelope;
  return {
    id: m.id,
    from: e.mailFrom,
    arrivedAt: e.arrivedAt,
    size: m.size,
    jobId: e.jobId ?? null,
    envelopeId: e.envelopeId ?? e.mailParams?.envid ?? null,
    vmta: e.vmta || DEFAULT_VMTA,
    sourceIp: e.sourceIp ?? null,
    authUser: e.authUser ?? null,
    listener: e.listener ?? null,
    recipients: m.recipients.map((r) => ({
      id: r.id,
      address: r.address,
      state: r.state,
      queue: r.queue,
      attempts: r.attempts,
      nextAttemptAt: r.nextAttemptAt ?? null,
      lastReply: r.lastReply ?? null,
    })),
  };
}

/** Directives whose values are credentials: shown as `***`, never in clear. */
export function isSecretDirective(name: string): boolean {
  return /password|secret|token|passphrase|private-key/i.test(name);
}

export function redactSetting(s: SettingJson): SettingJson {
  if (!isSecretDirective(s.directive) || (s.raw === null && (s.value === undefined || s.value === null))) return s;
  return { ...s, value: '***', raw: '***' };
}

/** Settings in force for a queue, with their source lines, secrets redacted. */
export function settingsFor(deps: ManagementDeps, domain: string, vmta: string): Array<{ title: string; settings: SettingJson[] }> {
  const sections = effectiveSettings(deps.resolver(), { domain, ...(vmta !== DEFAULT_VMTA ? { vmta } : {}) });
  return sections.map((s) => ({ title: s.title, settings: s.settings.map((r) => redactSetting(resolvedToJson(r) as unknown as SettingJson)) }));
}

function lastHourByCategory(cats: Record<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(cats)) {
    const sum = v.reduce((a, b) => a + b, 0);
    if (sum > 0) out[k] = sum;
  }
  return out;
}

/** One snapshot for the monitor and the SSE stream. */
export function snapshotOf(deps: ManagementDeps, level: Exclude<AccessLevel, 'none'>, seq: number, minutes = 120): StreamSnapshot {
  const at = now(deps);
  const rows = queueRows(deps, at);
  const hour = deps.history.series(60);
  const traffic = deps.history.series(minutes);
  return {
    seq,
    level,
    status: statusOf(deps, rows, at),
    topQueues: sortQueues([...rows], 'size').slice(0, TOP_N),
    topDomains: sortQueues(domainRows(rows, at), 'size').slice(0, 10),
    vmtas: vmtaRows(deps, rows),
    limited: rows.filter((r) => r.limitedBy.length > 0).slice(0, 50),
    traffic: { start: traffic.start, minutes: traffic.minutes, series: traffic.series, bouncedByCategory: traffic.bouncedByCategory, deferredByCategory: traffic.deferredByCategory },
    bounceCategories: lastHourByCategory(hour.bouncedByCategory),
    deferralCategories: lastHourByCategory(hour.deferredByCategory),
  };
}
