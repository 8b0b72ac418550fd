/**
 * @module management/api/v1/stream
 *
 * `GET /api/v1/stream` (monitor): Server-Sent Events for the live monitor —
 * a `snapshot` event (`StreamSnapshot`) at once, then every second and soon
 * after each change. 503 when too many streams are open.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';
import { SECURITY_HEADERS } from './headers.js';

export function registerStream(app: FastifyInstance, ctx: RouteContext): void {
  app.get(`${PREFIX}/stream`, async (req, reply) => {
    if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send('');
    if (ctx.hub.full) throw new ApiError('UNAVAILABLE', 'too many monitor streams open; try again later');
    const level = req.petrelLevel === 'admin' ? 'admin' : 'monitor';
    reply.hijack();
    ctx.hub.add(reply.raw, level, { ...SECURITY_HEADERS });
  });
}
