/**
 * @module management/api/v1/job-pause
 *
 * `POST /api/v1/jobs/:id/pause` and `/resume` (admin): PowerMTA's
 * `pmta pause job ID` / `resume job ID`. The spool pauses queues, not jobs
 * (a job's messages share queues with other mail), so both answer 501
 * NOT_IMPLEMENTED until the queue side can hold back one job's recipients.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';

export function registerJobPause(app: FastifyInstance, _ctx: RouteContext): void {
  const params = { type: 'object', required: ['id', 'action'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 255 }, action: { type: 'string', enum: ['pause', 'resume'] } } } as const;
  app.post<{ Params: { id: string; action: 'pause' | 'resume' } }>(`${PREFIX}/jobs/:id/:action`, { schema: { params } }, async (req) => {
    throw new ApiError('NOT_IMPLEMENTED', `${req.params.action} job is not supported yet: the spool pauses whole queues, not one job's recipients`);
  });
}
