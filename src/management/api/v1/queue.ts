/**
 * @module management/api/v1/queue
 *
 * `GET /api/v1/queues/:domain/:vmta` (monitor): one queue in detail — its
 * counts, mode, sessions and why it is limited now (`paused`, `backoff`,
 * `max-msg-rate reached`, `waiting for retry at …`), the settings in force
 * with the `file:line` each came from (secrets as `***`), and its recent
 * errors from the event ring. Unknown queue → 404. PowerMTA: `show queue`.
 */
import type { FastifyInstance } from 'fastify';
import { queueRow, settingsFor } from '../../read-models.js';
import { PREFIX, QUEUE_PARAMS, findQueue, type QueueParams, type RouteContext } from './common.js';
import type { QueueDetailResponse } from './types.js';

export function registerQueue(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: QueueParams }>(`${PREFIX}/queues/:domain/:vmta`, { schema: QUEUE_PARAMS }, async (req): Promise<QueueDetailResponse> => {
    const s = findQueue(ctx.deps, req.params);
    const now = ctx.deps.clock?.now() ?? Date.now();
    return {
      queue: queueRow(ctx.deps, s, now),
      settings: settingsFor(ctx.deps, s.domain, s.vmta),
      recentErrors: ctx.deps.events.recent({ queue: s.queue, types: ['deferred', 'bounced', 'expired'] }, 20),
    };
  });
}
