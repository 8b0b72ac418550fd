/**
 * @module management/api/v1/message
 *
 * `GET /api/v1/messages/:id` (monitor): one live message — envelope and the
 * state of each recipient (queued, in-flight, delivered, bounced, …), last
 * reply and next attempt. Finished or unknown → 404 (its history may still
 * be in `GET /api/v1/events?message=ID`). The body is never served.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { messageJson } from '../../read-models.js';
import { PREFIX, type RouteContext } from './common.js';
import { MESSAGE_ID } from './messages.js';
import type { MessageJson } from './types.js';

export const messageParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: MESSAGE_ID } } as const;

export function registerMessage(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { id: string } }>(`${PREFIX}/messages/:id`, { schema: { params: messageParams } }, async (req): Promise<MessageJson> => {
    const m = await ctx.deps.spool.getMessage(req.params.id);
    if (!m) throw new ApiError('NOT_FOUND', `no live message ${req.params.id}`);
    return messageJson(m);
  });
}
