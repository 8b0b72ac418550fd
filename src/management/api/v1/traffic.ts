/**
 * @module management/api/v1/traffic
 *
 * `GET /api/v1/traffic?minutes=N` (monitor): per-minute counts for the last
 * N minutes (1–1440, default 60; the current minute last): received,
 * delivered, deferred, bounced, expired…, and bounces and deferrals by
 * category. The history PowerMTA's monitor lacks.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, type RouteContext } from './common.js';
import type { TrafficResponse } from './types.js';

export function registerTraffic(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = {
    type: 'object',
    additionalProperties: false,
    properties: { minutes: { type: 'integer', minimum: 1, maximum: 1440, default: 60 } },
  } as const;
  app.get<{ Querystring: { minutes: number } }>(`${PREFIX}/traffic`, { schema: { querystring } }, async (req): Promise<TrafficResponse> => ctx.deps.history.series(req.query.minutes));
}
