/**
 * @module management/api/v1/queue-resume
 *
 * `POST /api/v1/queues/:domain/:vmta/resume` (admin): resumes a paused queue
 * (wildcards as for pause) and asks the queue manager to look for work.
 * PowerMTA: `pmta resume queue DOMAIN/VMTA`.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, QUEUE_PARAMS, matchQueues, type QueueParams, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export function registerQueueResume(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: QueueParams }>(`${PREFIX}/queues/:domain/:vmta/resume`, { schema: QUEUE_PARAMS }, async (req): Promise<ActionResponse> => {
    const queues = matchQueues(ctx.deps, req.params);
    for (const q of queues) await ctx.deps.spool.resumeQueue(q);
    ctx.deps.queues?.kick();
    return { ok: true, action: 'resume', queues };
  });
}
