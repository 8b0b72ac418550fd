/**
 * @module management/api/v1/messages
 *
 * `GET /api/v1/messages` (monitor): find live messages by exactly one of
 * `id`, `job` (X-Job), `envid` (DSN ENVID / X-EnvId), `rcpt` (recipient
 * address; only the queues of its domain are searched) or `queue`
 * (`domain/vmta`); none lists the oldest live messages. At most `limit`
 * (default 50, at most 1000) messages, reading at most `scan` envelopes
 * (default 5000); `truncated` says more may match.
 */
import type { FastifyInstance } from 'fastify';
import type { MessageInfo } from '../../../spool/types.js';
import { ApiError } from '../../errors.js';
import { messageJson } from '../../read-models.js';
import { PREFIX, type RouteContext } from './common.js';
import type { MessagesResponse } from './types.js';

interface Query {
  id?: string;
  job?: string;
  envid?: string;
  rcpt?: string;
  queue?: string;
  limit: number;
  scan: number;
}

export const MESSAGE_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' } as const;

export function registerMessages(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = {
    type: 'object',
    additionalProperties: false,
    properties: {
      id: MESSAGE_ID,
      job: { type: 'string', minLength: 1, maxLength: 255 },
      envid: { type: 'string', minLength: 1, maxLength: 255 },
      rcpt: { type: 'string', minLength: 3, maxLength: 512, pattern: '^[^@\\s]*@[^@\\s]+$' },
      queue: { type: 'string', minLength: 3, maxLength: 512, pattern: '^[^/\\s]+/[^/\\s]+$' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
      scan: { type: 'integer', minimum: 1, maximum: 50000, default: 5000 },
    },
  } as const;
  app.get<{ Querystring: Query }>(`${PREFIX}/messages`, { schema: { querystring } }, async (req): Promise<MessagesResponse> => {
    const q = req.query;
    const given = (['id', 'job', 'envid', 'rcpt', 'queue'] as const).filter((k) => q[k] !== undefined);
    if (given.length > 1) throw new ApiError('BAD_REQUEST', `give one of id, job, envid, rcpt, queue (got ${given.join(', ')})`);
    const spool = ctx.deps.spool;
    const load = async (ids: readonly string[]): Promise<MessageInfo[]> => (await Promise.all(ids.map((id) => spool.getMessage(id)))).filter((m): m is MessageInfo => m !== undefined);
    let found: MessageInfo[];
    let scanned = 0;
    let truncated = false;
    if (q.id !== undefined) {
      found = await load([q.id]);
      scanned = 1;
    } else if (q.job !== undefined || q.envid !== undefined) {
      const ids = q.job !== undefined ? await spool.findByJobId(q.job) : await spool.findByEnvelopeId(q.envid!);
      truncated = ids.length > q.limit;
      found = await load(ids.slice(0, q.limit));
      scanned = ids.length;
    } else if (q.rcpt !== undefined) {
      const want = q.rcpt.toLowerCase();
      const domain = want.slice(want.lastIndexOf('@') + 1);
      const queues = spool.queueNames().filter((n) => n.slice(0, n.lastIndexOf('/')) === domain);
      const ids = [...new Set(queues.flatMap((queue) => spool.listMessages({ queue })))].sort();
      truncated = ids.length > q.scan;
      found = [];
      for (const m of await load(ids.slice(0, q.scan))) {
        scanned++;
        if (m.recipients.some((r) => r.address.toLowerCase() === want)) found.push(m);
        if (found.length >= q.limit) {
          truncated = truncated || scanned < ids.length;
          break;
        }
      }
    } else {
      const ids = spool.listMessages({ ...(q.queue !== undefined ? { queue: q.queue } : {}), limit: q.limit + 1 });
      truncated = ids.length > q.limit;
      found = await load(ids.slice(0, q.limit));
      scanned = found.length;
    }
    return { messages: found.map(messageJson), scanned, truncated };
  });
}
