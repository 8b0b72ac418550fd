/**
 * @module management/api/v1/job-pause
 *
 * `POST /api/v1/jobs/:id/pause` and `/resume` (admin): PowerMTA's
 * `pmta pause job ID` / `resume job ID`. The queue manager holds back the
 * job's recipients (other mail in the same queues flows on); the pause
 * survives a restart. 501 when delivery is not running.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export function registerJobPause(app: FastifyInstance, ctx: RouteContext): void {
  const params = { type: 'object', required: ['id', 'action'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 255 }, action: { type: 'string', enum: ['pause', 'resume'] } } } as const;
  app.post<{ Params: { id: string; action: 'pause' | 'resume' } }>(`${PREFIX}/jobs/:id/:action`, { schema: { params } }, async (req): Promise<ActionResponse> => {
    const q = ctx.deps.queues;
    if (!q?.pauseJob || !q.resumeJob) throw new ApiError('NOT_IMPLEMENTED', 'delivery is not running, so there is no job to hold back');
    if (req.params.action === 'pause') {
      q.pauseJob(req.params.id);
      return { ok: true, action: 'pause job', queues: [], message: `job ${req.params.id} paused` };
    }
    const had = q.resumeJob(req.params.id);
    if (!had) throw new ApiError('NOT_FOUND', `job ${req.params.id} is not paused`);
    return { ok: true, action: 'resume job', queues: [], message: `job ${req.params.id} resumed` };
  });
}
