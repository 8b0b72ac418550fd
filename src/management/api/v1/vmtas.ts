/**
 * @module management/api/v1/vmtas
 *
 * `GET /api/v1/vmtas` (monitor): every configured `<virtual-mta>` (and any
 * VMTA with queued mail, such as `{default}`) with its source addresses
 * (`smtp-source-host`), pools, queued mail and delivery sessions.
 * PowerMTA: `/vmtas`, `show vmtas`.
 */
import type { FastifyInstance } from 'fastify';
import { queueRows, vmtaRows } from '../../read-models.js';
import { PREFIX, type RouteContext } from './common.js';
import type { VmtasResponse } from './types.js';

export function registerVmtas(app: FastifyInstance, ctx: RouteContext): void {
  app.get(`${PREFIX}/vmtas`, async (): Promise<VmtasResponse> => ({ vmtas: vmtaRows(ctx.deps, queueRows(ctx.deps)) }));
}
