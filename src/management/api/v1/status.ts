/**
 * @module management/api/v1/status
 *
 * `GET /api/v1/status` (monitor): version, uptime, traffic in/out for the
 * last minute, hour and since start or `reset counters`, connections, spool
 * size, queue counts. PowerMTA: `/status`, `pmta show status`.
 */
import type { FastifyInstance } from 'fastify';
import { queueRows, statusOf } from '../../read-models.js';
import { PREFIX, type RouteContext } from './common.js';
import type { StatusResponse } from './types.js';

export function registerStatus(app: FastifyInstance, ctx: RouteContext): void {
  app.get(`${PREFIX}/status`, async (): Promise<StatusResponse> => statusOf(ctx.deps, queueRows(ctx.deps)));
}
