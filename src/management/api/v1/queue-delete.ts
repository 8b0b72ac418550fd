/**
 * @module management/api/v1/queue-delete
 *
 * `DELETE /api/v1/queues/:domain/:vmta?bounce=true|false` (admin): removes
 * the queue's queued recipients — as `deleted` (default), or as `bounced`
 * with `bounce=true` (so a DSN is sent once the bounce module acts on it).
 * Recipients in flight finish their attempt. Wildcards as for pause.
 * PowerMTA: `pmta delete --queue=Q`.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, matchQueues, queueParamsSchema, type QueueParams, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export function registerQueueDelete(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = { type: 'object', additionalProperties: false, properties: { bounce: { type: 'boolean', default: false } } } as const;
  app.delete<{ Params: QueueParams; Querystring: { bounce: boolean } }>(
    `${PREFIX}/queues/:domain/:vmta`,
    { schema: { params: queueParamsSchema, querystring } },
    async (req): Promise<ActionResponse> => {
      const queues = matchQueues(ctx.deps, req.params);
      const reply = req.query.bounce ? '554 5.0.0 deleted by the administrator (bounced)' : '554 5.0.0 deleted by the administrator';
      let recipients = 0;
      for (const q of queues) recipients += await ctx.deps.spool.deleteQueue(q, { bounce: req.query.bounce, reply });
      return { ok: true, action: req.query.bounce ? 'delete (bounce)' : 'delete', queues, recipients };
    },
  );
}
