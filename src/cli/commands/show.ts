/**
 * @module cli/commands/show
 *
 * `petrel show status|queues|topqueues|topdomains|queue|domains|vmtas|jobs|message`
 * — the read-only verbs, as rows of the CLI grammar table. Each prints the
 * API's JSON with `--json`, a plain table otherwise. (`show settings`, which
 * reads the configuration file offline, stays in cli/main.ts.)
 *
 * Exports: `SHOW_VERBS`.
 */
import { queuePath, splitQueue, type ApiClient } from '../api-client.js';
import type {
  DomainsResponse,
  JobsResponse,
  MessageJson,
  QueueDetailResponse,
  QueueRow,
  QueuesResponse,
  StatusResponse,
  VmtasResponse,
} from '../../management/api/v1/types.js';
import { age, bytes, kv, n, table, when } from './table.js';
import { EXIT, type Verb, type VerbIo, type VerbOptions } from './verb.js';

function queueTable(rows: readonly QueueRow[]): string {
  return table(
    [{ title: 'QUEUE' }, { title: 'RCPTS', right: true }, { title: 'MSGS', right: true }, { title: 'SIZE', right: true }, { title: 'OLDEST', right: true }, { title: 'MODE' }, { title: 'CONN', right: true }, { title: 'LIMITED BY' }],
    rows.map((r) => [r.queue, n(r.recipients), n(r.messages), bytes(r.bytes), age(r.ageSeconds), r.paused ? `${r.mode},paused` : r.mode, n(r.sessions), r.limitedBy.join('; ')]),
  );
}

function print<T>(io: VerbIo, data: T, human: (d: T) => string): number {
  io.out(io.json ? JSON.stringify(data, null, 2) + '\n' : human(data));
  return EXIT.OK;
}

const maxItems = ['--maxitems <n>', 'at most this many rows', '10'] as const;

function positiveInt(v: string | boolean | undefined, name: string): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1 || x > 10000) throw new UsageError(`${name} must be an integer from 1 to 10000`);
  return x;
}

export class UsageError extends Error {}

async function showQueues(api: ApiClient, opts: VerbOptions, io: VerbIo, sort: 'size' | 'domain', limit: number): Promise<number> {
  const q: Record<string, string | number | boolean | undefined> = { sort, limit };
  if (typeof opts['domain'] === 'string') q['domain'] = opts['domain'];
  if (typeof opts['vmta'] === 'string') q['vmta'] = opts['vmta'];
  if (typeof opts['mode'] === 'string') q['mode'] = opts['mode'];
  if (opts['paused'] === true) q['paused'] = true;
  const res = await api.get<QueuesResponse>('queues', q);
  return print(io, res, (d) => queueTable(d.queues) + (d.total > d.queues.length ? `(${d.queues.length} of ${d.total} queues shown)\n` : ''));
}

export const SHOW_VERBS: readonly Verb[] = [
  {
    words: ['show', 'status'],
    description: 'traffic, connections, spool and queue totals',
    pmta: 'pmta show status',
    run: async (api, _a, _o, io) =>
      print(io, await api.get<StatusResponse>('status'), (s) =>
        kv([
          ['version', s.version],
          ['host', s.hostname],
          ['started', `${when(s.startedAt)} (up ${age(s.uptimeSeconds)})`],
          ['in, last minute', `${n(s.traffic.lastMinute.in.recipients)} rcpts, ${n(s.traffic.lastMinute.in.messages)} msgs`],
          ['in, last hour', `${n(s.traffic.lastHour.in.recipients)} rcpts, ${n(s.traffic.lastHour.in.messages)} msgs`],
          ['in, total', `${n(s.traffic.total.in.recipients)} rcpts, ${n(s.traffic.total.in.messages)} msgs, ${bytes(s.traffic.total.in.bytes)} (since ${when(s.traffic.total.since)})`],
          ['out, last minute', `${n(s.traffic.lastMinute.out.delivered)} delivered, ${n(s.traffic.lastMinute.out.deferred)} deferred, ${n(s.traffic.lastMinute.out.bounced)} bounced`],
          ['out, last hour', `${n(s.traffic.lastHour.out.delivered)} delivered, ${n(s.traffic.lastHour.out.deferred)} deferred, ${n(s.traffic.lastHour.out.bounced)} bounced`],
          ['out, total', `${n(s.traffic.total.out.delivered)} delivered, ${n(s.traffic.total.out.deferred)} deferred, ${n(s.traffic.total.out.bounced)} bounced, ${n(s.traffic.total.out.expired)} expired`],
          ['connections', `${n(s.connections.in)} in, ${n(s.connections.out)} out`],
          ['spool', `${n(s.spool.messages)} msgs, ${n(s.spool.recipients)} rcpts, ${bytes(s.spool.bytes)}; ${bytes(s.spool.freeBytes)} free`],
          ['queues', `${n(s.queues.total)} (${n(s.queues.paused)} paused, ${n(s.queues.backoff)} backoff, ${n(s.queues.limited)} limited)`],
          ['delivery', s.delivery],
        ]),
      ),
  },
  {
    words: ['show', 'queues'],
    description: 'queues (domain/vmta) with mail or paused',
    pmta: 'pmta show queues',
    options: [
      ['--domain <domain>', 'only this recipient domain'],
      ['--vmta <name>', 'only this virtual MTA'],
      ['--mode <mode>', 'only queues in this mode (normal, backoff)'],
      ['--paused', 'only paused queues'],
      ['--maxitems <n>', 'at most this many rows', '1000'],
    ],
    run: (api, _a, o, io) => showQueues(api, o, io, 'domain', positiveInt(o['maxitems'], '--maxitems')),
  },
  {
    words: ['show', 'topqueues'],
    description: 'the largest queues',
    pmta: 'pmta show topqueues',
    options: [maxItems],
    run: (api, _a, o, io) => showQueues(api, {}, io, 'size', positiveInt(o['maxitems'], '--maxitems')),
  },
  {
    words: ['show', 'topdomains'],
    description: 'recipient domains with the most queued mail',
    pmta: 'pmta show topdomains',
    options: [maxItems],
    run: async (api, _a, o, io) => showDomains(api, io, positiveInt(o['maxitems'], '--maxitems')),
  },
  {
    words: ['show', 'domains'],
    description: 'queued mail per recipient domain (over all VMTAs)',
    pmta: 'pmta show domains',
    options: [['--maxitems <n>', 'at most this many rows', '1000']],
    run: async (api, _a, o, io) => showDomains(api, io, positiveInt(o['maxitems'], '--maxitems')),
  },
  {
    words: ['show', 'queue'],
    args: ['<queue>'],
    description: 'one queue (DOMAIN/VMTA): counts, why limited, recent errors, settings in force',
    pmta: 'pmta show queue DOMAIN/VMTA',
    options: [['--all-settings', 'also list settings left at their defaults']],
    run: async (api, args, o, io) => {
      let q = splitQueue(args[0]!);
      if (q.vmta === '*') {
        const list = await api.get<QueuesResponse>('queues', { domain: q.domain, limit: 100 });
        if (list.queues.length !== 1) {
          io.err(list.queues.length === 0 ? `no queue for ${q.domain}\n` : `${q.domain} has several queues; name one: ${list.queues.map((x) => x.queue).join(', ')}\n`);
          return EXIT.FAILED;
        }
        q = { domain: list.queues[0]!.domain, vmta: list.queues[0]!.vmta };
      }
      const d = await api.get<QueueDetailResponse>(queuePath(q));
      return print(io, d, (x) => {
        const r = x.queue;
        let s = kv([
          ['queue', r.queue],
          ['recipients', `${n(r.recipients)} (${n(r.inFlight)} in flight) in ${n(r.messages)} messages, ${bytes(r.bytes)}`],
          ['oldest', r.oldestAt === null ? '' : `${when(r.oldestAt)} (${age(r.ageSeconds)})`],
          ['next attempt', when(r.nextAttemptAt)],
          ['mode', r.mode + (r.paused ? ', paused' : '')],
          ['sessions', n(r.sessions)],
          ['limited by', r.limitedBy.join('; ') || '-'],
          ['last error', r.lastError ?? '-'],
        ]);
        if (x.recentErrors.length > 0) {
          s += '\nrecent errors:\n' + table([{ title: 'TIME' }, { title: 'EVENT' }, { title: 'RECIPIENT' }, { title: 'REPLY' }], x.recentErrors.map((e) => [when(e.at), e.type, e.recipientId ?? '', e.reply ?? '']));
        }
        for (const sec of x.settings) {
          const rows = sec.settings.filter((st) => o['allSettings'] === true || st.from !== 'default');
          s += `\n# ${sec.title}${o['allSettings'] === true ? '' : ' (settings not at their default; --all-settings for all)'}\n`;
          s += rows.length === 0 ? '(all defaults)\n' : table([{ title: 'DIRECTIVE' }, { title: 'VALUE' }, { title: 'FROM' }], rows.map((st) => [st.directive, st.raw ?? '(none)', st.from === 'default' ? 'default' : `${st.from.file}:${st.from.line}`]));
        }
        return s;
      });
    },
  },
  {
    words: ['show', 'vmtas'],
    description: 'virtual MTAs: source addresses, pools, queued mail, sessions',
    pmta: 'pmta show vmtas',
    run: async (api, _a, _o, io) =>
      print(io, await api.get<VmtasResponse>('vmtas'), (d) =>
        table(
          [{ title: 'VMTA' }, { title: 'SOURCE' }, { title: 'POOLS' }, { title: 'QUEUES', right: true }, { title: 'RCPTS', right: true }, { title: 'CONN', right: true }],
          d.vmtas.map((v) => [v.name, v.sourceHosts.map((h) => `${h.ip} ${h.hostname}`).join(', '), v.pools.join(', '), n(v.queues), n(v.recipients), n(v.sessions)]),
        ),
      ),
  },
  {
    words: ['show', 'jobs'],
    description: 'queued mail by job id (X-Job)',
    pmta: 'pmta show jobs',
    options: [maxItems],
    run: async (api, _a, o, io) =>
      print(io, await api.get<JobsResponse>('jobs', { limit: positiveInt(o['maxitems'], '--maxitems') }), (d) =>
        table([{ title: 'JOB' }, { title: 'MSGS', right: true }, { title: 'RCPTS', right: true }, { title: 'OLDEST' }], d.jobs.map((j) => [j.jobId, n(j.messages), n(j.recipients), when(j.oldestAt)])) +
        (d.truncated ? `(only the first ${n(d.scanned)} messages were looked at)\n` : ''),
      ),
  },
  {
    words: ['show', 'message'],
    args: ['<id>'],
    description: 'one message: envelope and the state of each recipient',
    pmta: '(none; pmta shows recipients in show queue --rcpts)',
    run: async (api, args, _o, io) =>
      print(io, await api.get<MessageJson>(`messages/${encodeURIComponent(args[0]!)}`), (m) =>
        kv([
          ['message', m.id],
          ['from', m.from || '<>'],
          ['arrived', when(m.arrivedAt)],
          ['size', bytes(m.size)],
          ['job', m.jobId ?? '-'],
          ['envelope id', m.envelopeId ?? '-'],
          ['vmta', m.vmta],
          ['source', m.sourceIp ?? '-'],
        ]) +
        '\n' +
        table(
          [{ title: 'RECIPIENT' }, { title: 'STATE' }, { title: 'QUEUE' }, { title: 'TRIES', right: true }, { title: 'NEXT' }, { title: 'LAST REPLY' }],
          m.recipients.map((r) => [r.address, r.state, r.queue, n(r.attempts), when(r.nextAttemptAt), r.lastReply ?? '']),
        ),
      ),
  },
];

async function showDomains(api: ApiClient, io: VerbIo, limit: number): Promise<number> {
  return print(io, await api.get<DomainsResponse>('domains', { sort: 'size', limit }), (d) =>
    table(
      [{ title: 'DOMAIN' }, { title: 'RCPTS', right: true }, { title: 'MSGS', right: true }, { title: 'QUEUES', right: true }, { title: 'OLDEST', right: true }, { title: 'PAUSED', right: true }, { title: 'CONN', right: true }],
      d.domains.map((x) => [x.domain, n(x.recipients), n(x.messages), n(x.queues), age(x.ageSeconds), n(x.pausedQueues), n(x.sessions)]),
    ),
  );
}
