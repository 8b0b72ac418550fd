/**
 * @module management/api/v1/reload
 *
 * `POST /api/v1/reload` (admin): re-reads the configuration. It is applied
 * as a whole or not at all: refused → 422 CONFIG_REFUSED with every error
 * (`file:line:column`); accepted → 200 with its warnings. PowerMTA:
 * `pmta reload`.
 */
import type { FastifyInstance } from 'fastify';
import type { Diagnostic } from '../../../config/types.js';
import { ApiError } from '../../errors.js';
import { PREFIX, type RouteContext } from './common.js';
import type { DiagnosticJson, ReloadResponse } from './types.js';

const diag = (d: Diagnostic): DiagnosticJson => ({ severity: d.severity, file: d.pos.file, line: d.pos.line, column: d.pos.column, message: d.message });

export function registerReload(app: FastifyInstance, ctx: RouteContext): void {
  app.post(`${PREFIX}/reload`, async (): Promise<ReloadResponse> => {
    const res = await ctx.deps.reload();
    const errors = res.errors.filter((d) => d.severity === 'error');
    if (!res.ok || errors.length > 0) {
      throw new ApiError('CONFIG_REFUSED', `configuration refused (${errors.length} error${errors.length === 1 ? '' : 's'}); the running configuration is unchanged`, errors.map(diag));
    }
    return { ok: true, warnings: res.errors.filter((d) => d.severity === 'warning').map(diag) };
  });
}
