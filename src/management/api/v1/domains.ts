/**
 * @module management/api/v1/domains
 *
 * `GET /api/v1/domains` (monitor): queued mail per recipient domain, summed
 * over its VMTAs. `sort` size|age|domain, `limit`. PowerMTA: `show domains`,
 * `show topdomains`.
 */
import type { FastifyInstance } from 'fastify';
import { domainRows, queueRows, sortQueues, type QueueSort } from '../../read-models.js';
import { PREFIX, type RouteContext } from './common.js';
import type { DomainsResponse } from './types.js';

interface Query {
  sort: QueueSort;
  limit: number;
}

export function registerDomains(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = {
    type: 'object',
    additionalProperties: false,
    properties: {
      sort: { type: 'string', enum: ['size', 'age', 'domain'], default: 'size' },
      limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    },
  } as const;
  app.get<{ Querystring: Query }>(`${PREFIX}/domains`, { schema: { querystring } }, async (req): Promise<DomainsResponse> => {
    const now = ctx.deps.clock?.now() ?? Date.now();
    const rows = sortQueues(domainRows(queueRows(ctx.deps, now), now), req.query.sort);
    return { total: rows.length, domains: rows.slice(0, req.query.limit) };
  });
}
