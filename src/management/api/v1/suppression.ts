/**
 * @module management/api/v1/suppression
 *
 * The suppression list (Petrel's extension, see policy/suppression.ts):
 *   `GET    /api/v1/suppression?contains=&limit=&offset=`  (monitor) → entries
 *   `GET    /api/v1/suppression/:address`                  (monitor) → one entry, 404 when absent
 *   `POST   /api/v1/suppression` `{address, reason?}`      (admin)   → adds it
 *   `DELETE /api/v1/suppression/:address`                  (admin)   → removes it, 404 when absent
 * 501 when the MTA runs without a suppression list.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';

const ADDRESS = { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^\\s<>@]+@[^\\s<>@]+$' } as const;

export function registerSuppression(app: FastifyInstance, ctx: RouteContext): void {
  const list = () => {
    const s = ctx.deps.suppression;
    if (!s) throw new ApiError('NOT_IMPLEMENTED', 'this instance keeps no suppression list');
    return s;
  };
  app.get<{ Querystring: { contains?: string; limit?: number; offset?: number } }>(
    `${PREFIX}/suppression`,
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { contains: { type: 'string', maxLength: 320 }, limit: { type: 'integer', minimum: 1, maximum: 10000 }, offset: { type: 'integer', minimum: 0 } } } } },
    async (req) => {
      const s = list();
      return { total: s.size, entries: s.list({ ...(req.query.contains ? { contains: req.query.contains } : {}), limit: req.query.limit ?? 100, offset: req.query.offset ?? 0 }) };
    },
  );
  app.get<{ Params: { address: string } }>(`${PREFIX}/suppression/:address`, { schema: { params: { type: 'object', required: ['address'], properties: { address: ADDRESS } } } }, async (req) => {
    const e = list().get(req.params.address);
    if (!e) throw new ApiError('NOT_FOUND', `${req.params.address} is not on the suppression list`);
    return e;
  });
  app.post<{ Body: { address: string; reason?: string } }>(
    `${PREFIX}/suppression`,
    { schema: { body: { type: 'object', required: ['address'], additionalProperties: false, properties: { address: ADDRESS, reason: { type: 'string', maxLength: 300 } } } } },
    async (req) => {
      const e = await list().add(req.body.address, req.body.reason ?? 'added by an operator', 'manual');
      return { ok: true, entry: e };
    },
  );
  app.delete<{ Params: { address: string } }>(`${PREFIX}/suppression/:address`, { schema: { params: { type: 'object', required: ['address'], properties: { address: ADDRESS } } } }, async (req) => {
    if (!(await list().remove(req.params.address))) throw new ApiError('NOT_FOUND', `${req.params.address} is not on the suppression list`);
    return { ok: true };
  });
}
