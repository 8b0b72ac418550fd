/**
 * @module cli/commands/control
 *
 * The verbs that change things (the server requires admin access: a
 * loopback address by default, or `--token`): `pause`/`resume` a queue or a
 * job, `delete --queue=Q [--bounce]` or `--message=ID`, `schedule Q` (retry
 * now), `set queue --mode=normal|backoff Q`, `reload`, `reset counters`;
 * and `trace ID`, which follows one message's events until every recipient
 * is final. Queue names are `DOMAIN/VMTA`; `*` works for either part, a
 * pool name for the VMTA part, and a bare `DOMAIN` means `DOMAIN/*`.
 *
 * Exports: `CONTROL_VERBS`.
 */
import { ApiClientError, queuePath, splitQueue, type ApiClient } from '../api-client.js';
import type { ActionResponse, EventJson, EventsResponse, MessageJson, ReloadResponse } from '../../management/api/v1/types.js';
import { UsageError } from './show.js';
import { clean, n, when } from './table.js';
import { EXIT, type Verb, type VerbIo } from './verb.js';

function done(io: VerbIo, r: ActionResponse | ReloadResponse, text: string): number {
  io.out(io.json ? JSON.stringify(r, null, 2) + '\n' : clean(text) + '\n');
  return EXIT.OK;
}

function actionText(r: ActionResponse): string {
  const what = r.queues ? `${r.queues.length} queue${r.queues.length === 1 ? '' : 's'} (${r.queues.join(', ')})` : '';
  const count = r.recipients !== undefined ? `; ${n(r.recipients)} recipient${r.recipients === 1 ? '' : 's'}` : '';
  return `${r.action}: ${what}${count}${r.message ? `; ${r.message}` : ''}`.replace(': ;', ':');
}

function queueVerb(word: 'pause' | 'resume', pmta: string, description: string): Verb {
  return {
    words: [word, 'queue'],
    args: ['<queue>'],
    description,
    pmta,
    run: async (api, args, _o, io) => {
      const r = await api.post<ActionResponse>(queuePath(splitQueue(args[0]!), word));
      return done(io, r, actionText(r));
    },
  };
}

function jobVerb(word: 'pause' | 'resume'): Verb {
  return {
    words: [word, 'job'],
    args: ['<id>'],
    description: `${word} one job's mail (not supported yet: the server answers 501)`,
    pmta: `pmta ${word} job ID`,
    run: async (api, args, _o, io) => {
      const r = await api.post<ActionResponse>(`jobs/${encodeURIComponent(args[0]!)}/${word}`);
      return done(io, r, actionText(r));
    },
  };
}

const FINAL = new Set(['delivered', 'bounced', 'expired', 'deleted']);

function eventLine(e: EventJson): string {
  const who = e.recipientId ?? e.messageId ?? e.queue ?? '';
  const extra = [
    e.queue && e.recipientId ? e.queue : '',
    e.type === 'enqueued' && e.queues ? `queues ${e.queues.join(', ')}` : '',
    e.reply ?? '',
    e.nextAttemptAt ? `next attempt ${when(e.nextAttemptAt)}` : '',
  ].filter(Boolean);
  return clean(`${when(e.at)}  ${e.type.padEnd(9)} ${who}${extra.length ? '  ' + extra.join('  ') : ''}`);
}

async function trace(api: ApiClient, id: string, timeoutMs: number, pollMs: number, io: VerbIo): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const seen: EventJson[] = [];
  let since = 0;
  for (;;) {
    // The message's state first, then its events: a final event is in the ring before the message leaves the spool.
    let msg: MessageJson | undefined;
    try {
      msg = await api.get<MessageJson>(`messages/${encodeURIComponent(id)}`);
    } catch (e) {
      if (!(e instanceof ApiClientError && e.code === 'NOT_FOUND')) throw e;
    }
    const ev = await api.get<EventsResponse>('events', { since, message: id, limit: 1000 });
    since = ev.last;
    for (const e of ev.events) {
      seen.push(e);
      if (!io.json) io.out(eventLine(e) + '\n');
    }
    const finished = msg === undefined ? seen.length > 0 : msg.recipients.every((r) => FINAL.has(r.state));
    if (finished || msg === undefined || Date.now() >= deadline) {
      const state = finished ? 'final' : msg === undefined ? 'unknown' : 'timeout';
      if (io.json) io.out(JSON.stringify({ id, state, events: seen, ...(msg ? { message: msg } : {}) }, null, 2) + '\n');
      else if (state === 'unknown') io.err(`no live message ${clean(id)} and no events for it in the server's recent history\n`);
      else if (state === 'timeout') io.err(`still not final after ${Math.round(timeoutMs / 1000)}s: ${msg!.recipients.map((r) => `${clean(r.address)} ${r.state}`).join(', ')}\n`);
      else io.out(`${clean(id)}: every recipient is final\n`);
      return state === 'final' ? EXIT.OK : EXIT.FAILED;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export const CONTROL_VERBS: readonly Verb[] = [
  queueVerb('pause', 'pmta pause queue DOMAIN/VMTA', 'pause a queue (no deliveries until resumed; survives restarts)'),
  queueVerb('resume', 'pmta resume queue DOMAIN/VMTA', 'resume a paused queue'),
  jobVerb('pause'),
  jobVerb('resume'),
  {
    words: ['delete'],
    description: "delete a queue's or a message's queued recipients",
    pmta: 'pmta delete --queue=Q',
    options: [
      ['--queue <queue>', 'the queue (DOMAIN/VMTA)'],
      ['--message <id>', 'one message'],
      ['--bounce', 'record them as bounced (a DSN goes to the sender) instead of deleted'],
    ],
    run: async (api, _a, o, io) => {
      const queue = typeof o['queue'] === 'string' ? o['queue'] : undefined;
      const message = typeof o['message'] === 'string' ? o['message'] : undefined;
      if ((queue === undefined) === (message === undefined)) throw new UsageError('give exactly one of --queue=DOMAIN/VMTA or --message=ID');
      const bounce = o['bounce'] === true;
      const r = queue !== undefined
        ? await api.delete<ActionResponse>(queuePath(splitQueue(queue)), { bounce })
        : await api.delete<ActionResponse>(`messages/${encodeURIComponent(message!)}`, { bounce });
      return done(io, r, actionText(r));
    },
  },
  {
    words: ['schedule'],
    args: ['<queue>'],
    description: "retry now: the queue's deferred recipients become due at once",
    pmta: 'pmta schedule Q',
    run: async (api, args, _o, io) => {
      const r = await api.post<ActionResponse>(queuePath(splitQueue(args[0]!), 'schedule'));
      return done(io, r, actionText(r));
    },
  },
  {
    words: ['set', 'queue'],
    args: ['<queue>'],
    description: 'put a queue in normal or backoff mode',
    pmta: 'pmta set queue --mode=normal|backoff Q',
    options: [['--mode <mode>', 'normal or backoff']],
    run: async (api, args, o, io) => {
      const mode = o['mode'];
      if (mode !== 'normal' && mode !== 'backoff') throw new UsageError('--mode must be normal or backoff');
      const r = await api.post<ActionResponse>(queuePath(splitQueue(args[0]!), 'mode'), { mode });
      return done(io, r, actionText(r));
    },
  },
  {
    words: ['reload'],
    description: 're-read the configuration (applied whole, or refused with every error)',
    pmta: 'pmta reload',
    run: async (api, _a, _o, io) => {
      const r = await api.post<ReloadResponse>('reload');
      return done(io, r, `configuration reloaded${r.warnings.length ? ` (${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'})` : ''}` + r.warnings.map((w) => `\n${w.file}:${w.line}:${w.column}: warning: ${w.message}`).join(''));
    },
  },
  {
    words: ['reset', 'counters'],
    description: 'start the traffic totals again from zero',
    pmta: 'pmta reset counters',
    run: async (api, _a, _o, io) => {
      const r = await api.post<ActionResponse>('counters/reset');
      return done(io, r, 'counters reset');
    },
  },
  {
    words: ['trace'],
    args: ['<id>'],
    description: "follow one message's events until every recipient is final (or --timeout)",
    pmta: 'pmta trace',
    options: [
      ['--timeout <seconds>', 'give up after this long', '60'],
      ['--interval <ms>', 'poll interval', '500'],
    ],
    run: async (api, args, o, io) => {
      const t = Number(o['timeout']);
      const p = Number(o['interval']);
      if (!(t > 0 && t <= 86400)) throw new UsageError('--timeout must be 1..86400 seconds');
      if (!(p >= 50 && p <= 60000)) throw new UsageError('--interval must be 50..60000 ms');
      return trace(api, args[0]!, t * 1000, p, io);
    },
  },
];
