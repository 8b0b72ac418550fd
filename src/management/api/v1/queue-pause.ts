/**
 * @module management/api/v1/queue-pause
 *
 * `POST /api/v1/queues/:domain/:vmta/pause` (admin): pauses the queue (or
 * every queue matching `*` / a pool name); it survives restarts. Recipients
 * in flight finish their attempt. PowerMTA: `pmta pause queue DOMAIN/VMTA`.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, QUEUE_PARAMS, matchQueues, type QueueParams, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export function registerQueuePause(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: QueueParams }>(`${PREFIX}/queues/:domain/:vmta/pause`, { schema: QUEUE_PARAMS }, async (req): Promise<ActionResponse> => {
    const queues = matchQueues(ctx.deps, req.params);
    for (const q of queues) await ctx.deps.spool.pauseQueue(q);
    return { ok: true, action: 'pause', queues };
  });
}
