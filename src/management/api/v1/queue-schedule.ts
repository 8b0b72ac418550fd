/**
 * @module management/api/v1/queue-schedule
 *
 * `POST /api/v1/queues/:domain/:vmta/schedule` (admin): retry now — the
 * queue's deferred recipients become due now, without counting an attempt
 * (PowerMTA: `pmta schedule Q`). A paused queue stays paused.
 *
 * The spool has no "make due now" method yet, so unless the MTA supplies
 * `deps.retryNow`, this uses the spool's public API: lease the queue's
 * queued recipients whatever their due time (`takeBatch` with a far-future
 * "now", at most `MAX_PER_CALL`), then `release` them, which re-queues them
 * due now with their attempt count unchanged. `more: true` in the message
 * means the cap was reached; run it again.
 */
import type { FastifyInstance } from 'fastify';
import type { ManagementDeps } from '../../deps.js';
import { PREFIX, QUEUE_PARAMS, matchQueues, type QueueParams, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export const MAX_PER_CALL = 50_000;
const FAR_FUTURE = 8.64e15;

/** Makes a queue's queued recipients due now; returns how many. */
export async function retryNowWithSpool(deps: ManagementDeps, queue: string): Promise<number> {
  const batch = await deps.spool.takeBatch(queue, MAX_PER_CALL, { now: FAR_FUTURE });
  const ids = batch.flatMap((m) => m.recipients.map((r) => r.id));
  if (ids.length > 0) deps.spool.release(ids);
  return ids.length;
}

export function registerQueueSchedule(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: QueueParams }>(`${PREFIX}/queues/:domain/:vmta/schedule`, { schema: QUEUE_PARAMS }, async (req): Promise<ActionResponse> => {
    const queues = matchQueues(ctx.deps, req.params);
    let recipients = 0;
    let capped = false;
    for (const q of queues) {
      const n = ctx.deps.retryNow ? await ctx.deps.retryNow(q) : await retryNowWithSpool(ctx.deps, q);
      recipients += n;
      if (n >= MAX_PER_CALL) capped = true;
    }
    ctx.deps.queues?.kick();
    const paused = queues.filter((q) => ctx.deps.spool.queueStats(q)[0]?.paused);
    const notes = [
      ...(paused.length > 0 ? [`paused, not rescheduled: ${paused.join(', ')}`] : []),
      ...(capped ? [`more: true (at most ${MAX_PER_CALL} recipients per queue per call)`] : []),
      ...(ctx.deps.queues ? [] : ['delivery is not running']),
    ];
    return { ok: true, action: 'schedule', queues, recipients, ...(notes.length > 0 ? { message: notes.join('; ') } : {}) };
  });
}
