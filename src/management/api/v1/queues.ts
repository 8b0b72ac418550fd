/**
 * @module management/api/v1/queues
 *
 * `GET /api/v1/queues` (monitor): every queue (`domain/vmta`) with mail or
 * paused. Filters: `domain`, `vmta`, `mode` (normal|backoff), `paused`
 * (true|false); `sort` by `size` (most recipients first, the default),
 * `age` (oldest first) or `domain`; `limit` (1–10000, default 100) and
 * `offset` paging. PowerMTA: `pmta show queues`, `show topqueues`.
 */
import type { FastifyInstance } from 'fastify';
import { queueRows, sortQueues, type QueueSort } from '../../read-models.js';
import { PREFIX, pagingProps, type RouteContext } from './common.js';
import type { QueueMode, QueuesResponse } from './types.js';

interface Query {
  domain?: string;
  vmta?: string;
  mode?: QueueMode;
  paused?: boolean;
  sort: QueueSort;
  limit: number;
  offset: number;
}

export const queuesQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    domain: { type: 'string', minLength: 1, maxLength: 255 },
    vmta: { type: 'string', minLength: 1, maxLength: 255 },
    mode: { type: 'string', enum: ['normal', 'backoff'] },
    paused: { type: 'boolean' },
    sort: { type: 'string', enum: ['size', 'age', 'domain'], default: 'size' },
    ...pagingProps,
  },
} as const;

export function registerQueues(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: Query }>(`${PREFIX}/queues`, { schema: { querystring: queuesQuerySchema } }, async (req): Promise<QueuesResponse> => {
    const q = req.query;
    const domain = q.domain?.toLowerCase();
    const rows = queueRows(ctx.deps).filter(
      (r) =>
        (domain === undefined || r.domain === domain) &&
        (q.vmta === undefined || r.vmta === q.vmta) &&
        (q.mode === undefined || r.mode === q.mode) &&
        (q.paused === undefined || r.paused === q.paused),
    );
    sortQueues(rows, q.sort);
    return { total: rows.length, offset: q.offset, limit: q.limit, queues: rows.slice(q.offset, q.offset + q.limit) };
  });
}
