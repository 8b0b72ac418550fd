/**
 * @module management/api/v1/message-delete
 *
 * `DELETE /api/v1/messages/:id?bounce=true|false` (admin): removes one
 * message's queued recipients (as `deleted`, or `bounced`). Unknown or
 * finished message → 404.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';
import { messageParams } from './message.js';
import type { ActionResponse } from './types.js';

export function registerMessageDelete(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = { type: 'object', additionalProperties: false, properties: { bounce: { type: 'boolean', default: false } } } as const;
  app.delete<{ Params: { id: string }; Querystring: { bounce: boolean } }>(
    `${PREFIX}/messages/:id`,
    { schema: { params: messageParams, querystring } },
    async (req): Promise<ActionResponse> => {
      if (!(await ctx.deps.spool.getMessage(req.params.id))) throw new ApiError('NOT_FOUND', `no live message ${req.params.id}`);
      const reply = req.query.bounce ? '554 5.0.0 deleted by the administrator (bounced)' : '554 5.0.0 deleted by the administrator';
      const recipients = await ctx.deps.spool.deleteMessage(req.params.id, { bounce: req.query.bounce, reply });
      ctx.jobs.delete(req.params.id);
      return { ok: true, action: req.query.bounce ? 'delete (bounce)' : 'delete', recipients };
    },
  );
}
