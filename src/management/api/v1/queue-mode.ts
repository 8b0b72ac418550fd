/**
 * @module management/api/v1/queue-mode
 *
 * `POST /api/v1/queues/:domain/:vmta/mode` with `{"mode":"normal"|"backoff"}`
 * (admin): PowerMTA's `pmta set queue --mode=normal|backoff Q`. Needs the
 * queue manager to offer `setMode`; until it does the answer is 501
 * NOT_IMPLEMENTED (and nothing changes).
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, matchQueues, queueParamsSchema, type QueueParams, type RouteContext } from './common.js';
import type { ActionResponse, QueueMode } from './types.js';

export function registerQueueMode(app: FastifyInstance, ctx: RouteContext): void {
  const body = { type: 'object', required: ['mode'], additionalProperties: false, properties: { mode: { type: 'string', enum: ['normal', 'backoff'] } } } as const;
  app.post<{ Params: QueueParams; Body: { mode: QueueMode } }>(
    `${PREFIX}/queues/:domain/:vmta/mode`,
    { schema: { params: queueParamsSchema, body } },
    async (req): Promise<ActionResponse> => {
      const queues = matchQueues(ctx.deps, req.params);
      const setMode = ctx.deps.queues?.setMode?.bind(ctx.deps.queues);
      if (!setMode) {
        throw new ApiError('NOT_IMPLEMENTED', ctx.deps.queues ? 'the queue manager cannot set a queue mode yet' : 'delivery is not running, so there is no queue mode to set');
      }
      for (const q of queues) setMode(q, req.body.mode);
      ctx.deps.queues?.kick();
      return { ok: true, action: `mode ${req.body.mode}`, queues };
    },
  );
}
