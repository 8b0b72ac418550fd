/**
 * @module management/api/v1/events
 *
 * `GET /api/v1/events?since=SEQ` (monitor): recent spool events after a
 * sequence number, oldest first, optionally for one `message` or `queue`,
 * at most `limit` (default 500). `last` is where to continue; `lost` says
 * the ring (10,000 events) overwrote some. Used by `petrel trace`.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, type RouteContext } from './common.js';
import { MESSAGE_ID } from './messages.js';
import type { EventsResponse } from './types.js';

interface Query {
  since: number;
  message?: string;
  queue?: string;
  limit: number;
}

export function registerEvents(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = {
    type: 'object',
    additionalProperties: false,
    properties: {
      since: { type: 'integer', minimum: 0, default: 0 },
      message: MESSAGE_ID,
      queue: { type: 'string', minLength: 3, maxLength: 512, pattern: '^[^/\\s]+/[^/\\s]+$' },
      limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 },
    },
  } as const;
  app.get<{ Querystring: Query }>(`${PREFIX}/events`, { schema: { querystring } }, async (req): Promise<EventsResponse> => {
    const q = req.query;
    const filter = { ...(q.message !== undefined ? { messageId: q.message } : {}), ...(q.queue !== undefined ? { queue: q.queue } : {}) };
    return ctx.deps.events.since(q.since, filter, q.limit);
  });
}
