/**
 * @module management/metrics
 *
 * Prometheus metrics at `/metrics` (prom-client, a Registry of its own so
 * several servers in one process never share state). Values are read when
 * scraped, from the traffic history's never-reset lifetime counters, the
 * spool and the queue rows; nothing here subscribes to anything.
 *
 * Cardinality is bounded: per-VMTA labels (VMTAs come from the config; at
 * most 256, the rest `other`), bounce categories (a closed list, at most 32),
 * and queue gauges only for the top `TOP_DOMAINS` domains by size.
 *
 * The TLS share of inbound sessions is exported only when the MTA supplies
 * `deps.tlsShare`; DNS counters only when it supplies `deps.dnsStats` and
 * delivery is running.
 *
 * Exports: `createMetrics`, `TOP_DOMAINS`.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ManagementDeps } from './deps.js';
import { domainRows, queueRows, sortQueues } from './read-models.js';
import type { QueueRow } from './api/v1/types.js';

export const TOP_DOMAINS = 20;

export function createMetrics(deps: ManagementDeps): { registry: Registry; render(): Promise<string> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'petrel_' });
  let rows: QueueRow[] = [];
  const now = (): number => deps.clock?.now() ?? Date.now();

  const lifetimeCounter = (name: string, help: string, key: string): void => {
    new Counter({
      name,
      help,
      labelNames: ['vmta'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [vmta, m] of deps.history.lifetime()) this.inc({ vmta }, m.get(key) ?? 0);
      },
    });
  };
  lifetimeCounter('petrel_messages_received_total', 'Messages accepted into the spool.', 'receivedMessages');
  lifetimeCounter('petrel_recipients_received_total', 'Recipients accepted into the spool.', 'received');
  lifetimeCounter('petrel_received_bytes_total', 'Message bytes accepted into the spool.', 'bytesIn');
  lifetimeCounter('petrel_recipients_delivered_total', 'Recipients delivered.', 'delivered');
  lifetimeCounter('petrel_recipients_deferred_total', 'Delivery attempts deferred (temporary failures).', 'deferred');
  lifetimeCounter('petrel_recipients_expired_total', 'Recipients expired (bounce-after reached).', 'expired');
  lifetimeCounter('petrel_recipients_deleted_total', 'Recipients deleted by an administrator.', 'deleted');
  new Counter({
    name: 'petrel_recipients_bounced_total',
    help: 'Recipients bounced or expired, by bounce category (expired counts as message-expired).',
    labelNames: ['vmta', 'category'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [vmta, m] of deps.history.lifetime()) {
        for (const [k, n] of m) if (k.startsWith('bounced:')) this.inc({ vmta, category: k.slice(8) }, n);
      }
    },
  });

  new Gauge({
    name: 'petrel_queue_recipients',
    help: `Recipients queued or in flight, per recipient domain (top ${TOP_DOMAINS} domains by size).`,
    labelNames: ['domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of sortQueues(domainRows(rows, now()), 'size').slice(0, TOP_DOMAINS)) this.set({ domain: d.domain }, d.recipients);
    },
  });
  new Gauge({
    name: 'petrel_queue_oldest_age_seconds',
    help: `Age of the oldest queued message per recipient domain (top ${TOP_DOMAINS} domains by size).`,
    labelNames: ['domain'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of sortQueues(domainRows(rows, now()), 'size').slice(0, TOP_DOMAINS)) this.set({ domain: d.domain }, d.ageSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'petrel_queues',
    help: 'Queues with mail or paused, by state (all, paused, backoff, limited).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'all' }, rows.length);
      this.set({ state: 'paused' }, rows.filter((r) => r.paused).length);
      this.set({ state: 'backoff' }, rows.filter((r) => r.mode === 'backoff').length);
      this.set({ state: 'limited' }, rows.filter((r) => r.limitedBy.length > 0).length);
    },
  });
  new Gauge({
    name: 'petrel_connections',
    help: 'Open SMTP sessions: in (server) and out (delivery).',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const c = deps.connections();
      this.set({ direction: 'in' }, c.in);
      this.set({ direction: 'out' }, c.out);
    },
  });
  const spoolGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  spoolGauge('petrel_spool_messages', 'Live messages in the spool.', () => deps.spool.stats().messages);
  spoolGauge('petrel_spool_recipients', 'Recipients queued or in flight.', () => rows.reduce((a, r) => a + r.recipients, 0));
  spoolGauge('petrel_spool_bytes', 'Bytes of queued messages (per queue; a message in two queues counts twice).', () => rows.reduce((a, r) => a + r.bytes, 0));
  spoolGauge('petrel_spool_free_bytes', 'Free space estimate of the spool file system.', () => deps.spool.stats().freeBytes);
  spoolGauge('petrel_spool_segments', 'Segment files of the spool log.', () => deps.spool.stats().segments);
  spoolGauge('petrel_spool_commit_max_batch', 'Largest group commit so far (records in one fsync).', () => deps.spool.stats().commits.maxBatch);
  new Counter({ name: 'petrel_spool_commit_flushes_total', help: 'Group commits (one write + fdatasync each).', registers: [registry], collect() { this.reset(); this.inc(deps.spool.stats().commits.flushes); } });
  new Counter({ name: 'petrel_spool_commit_seconds_total', help: 'Time spent in group commits (write + fdatasync); divided by the flushes, the mean commit latency.', registers: [registry], collect() { this.reset(); this.inc((deps.spool.stats().commits.flushMs ?? 0) / 1000); } });
  new Counter({ name: 'petrel_spool_commit_records_total', help: 'Records committed; divided by flushes, the mean batch size.', registers: [registry], collect() { this.reset(); this.inc(deps.spool.stats().commits.items); } });
  if (deps.tlsShare) {
    const share = deps.tlsShare.bind(deps);
    new Counter({ name: 'petrel_inbound_sessions_total', help: 'Inbound SMTP sessions.', registers: [registry], collect() { this.reset(); this.inc(share().sessions); } });
    new Counter({ name: 'petrel_inbound_tls_sessions_total', help: 'Inbound SMTP sessions that used TLS (STARTTLS or implicit).', registers: [registry], collect() { this.reset(); this.inc(share().tls); } });
  }
  if (deps.dnsStats) {
    const dns = deps.dnsStats.bind(deps);
    new Counter({
      name: 'petrel_dns_queries_total',
      help: 'DNS questions delivery sent to the resolver, by outcome (noerror, nxdomain, failed = timeout/SERVFAIL/REFUSED/network after every retry).',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        const s = dns();
        if (!s) return;
        this.inc({ outcome: 'noerror' }, s.noerror);
        this.inc({ outcome: 'nxdomain' }, s.nxdomain);
        this.inc({ outcome: 'failed' }, s.failed);
      },
    });
    new Counter({ name: 'petrel_dns_query_seconds_total', help: 'Time spent waiting for DNS answers (retries included); divided by the queries, the mean lookup latency.', registers: [registry], collect() { this.reset(); this.inc(dns()?.seconds ?? 0); } });
    new Counter({ name: 'petrel_dns_cache_hits_total', help: 'Lookups answered from the TTL cache without asking the resolver.', registers: [registry], collect() { this.reset(); this.inc(dns()?.cacheHits ?? 0); } });
  }
  new Gauge({ name: 'petrel_info', help: 'Petrel version (value 1).', labelNames: ['version'], registers: [registry], collect() { this.set({ version: deps.version }, 1); } });
  new Gauge({ name: 'petrel_start_time_seconds', help: 'When Petrel started (Unix time).', registers: [registry], collect() { this.set(deps.startedAt / 1000); } });

  return {
    registry,
    async render(): Promise<string> {
      rows = queueRows(deps);
      try {
        return await registry.metrics();
      } finally {
        rows = [];
      }
    },
  };
}
