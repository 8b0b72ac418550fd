/**
 * @module management/api/v1/jobs
 *
 * `GET /api/v1/jobs` (monitor): live mail grouped by job id (`X-Job`). The
 * spool indexes job ids only by hash, so this reads envelopes: at most
 * `scan` live messages (default 5000, at most 50000) per request, each
 * envelope read once and its job id remembered. `truncated` says the scan
 * stopped early. PowerMTA: `/jobs`, `show jobs`.
 */
import type { FastifyInstance } from 'fastify';
import { PREFIX, type RouteContext } from './common.js';
import type { JobRow, JobsResponse } from './types.js';

interface Query {
  scan: number;
  limit: number;
}

export function registerJobs(app: FastifyInstance, ctx: RouteContext): void {
  const querystring = {
    type: 'object',
    additionalProperties: false,
    properties: {
      scan: { type: 'integer', minimum: 1, maximum: 50000, default: 5000 },
      limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    },
  } as const;
  app.get<{ Querystring: Query }>(`${PREFIX}/jobs`, { schema: { querystring } }, async (req): Promise<JobsResponse> => {
    const spool = ctx.deps.spool;
    const ids = spool.listMessages({ limit: req.query.scan + 1 });
    const truncated = ids.length > req.query.scan;
    const scan = ids.slice(0, req.query.scan);
    const jobs = new Map<string, { messages: number; recipients: number; oldest: number | null }>();
    for (const id of scan) {
      let job = ctx.jobs.get(id);
      let info;
      if (job === undefined) {
        info = await spool.getMessage(id);
        if (!info) continue;
        job = info.envelope.jobId ?? null;
        ctx.jobs.set(id, job);
      }
      if (job === null) continue;
      info ??= await spool.getMessage(id);
      if (!info) continue;
      let j = jobs.get(job);
      if (!j) jobs.set(job, (j = { messages: 0, recipients: 0, oldest: null }));
      j.messages++;
      j.recipients += info.recipients.filter((r) => r.state === 'queued' || r.state === 'in-flight').length;
      if (j.oldest === null || info.envelope.arrivedAt < j.oldest) j.oldest = info.envelope.arrivedAt;
    }
    const rows: JobRow[] = [...jobs]
      .map(([jobId, j]) => ({ jobId, messages: j.messages, recipients: j.recipients, oldestAt: j.oldest }))
      .sort((a, b) => b.recipients - a.recipients || a.jobId.localeCompare(b.jobId))
      .slice(0, req.query.limit);
    return { jobs: rows, scanned: scan.length, truncated };
  });
}
