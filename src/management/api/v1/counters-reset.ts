/**
 * @module management/api/v1/counters-reset
 *
 * `POST /api/v1/counters/reset` (admin): traffic totals start again from
 * zero (PowerMTA: `pmta reset counters`). The per-minute history and the
 * Prometheus counters are kept (Prometheus counters never go backwards).
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, type RouteContext } from './common.js';
import type { ActionResponse } from './types.js';

export function registerCountersReset(app: FastifyInstance, ctx: RouteContext): void {
  app.post(`${PREFIX}/counters/reset`, async (): Promise<ActionResponse> => {
    ctx.deps.history.resetCounters();
    return { ok: true, action: 'reset counters' };
  });
}
