/**
 * @module management/errors
 *
 * API errors (STYLE habit 15): a closed list of codes (`ApiErrorCode` in
 * api/v1/types.ts), each with its HTTP status, thrown as `ApiError` by
 * routes and rendered by one error handler as `{ error: { code, message } }`.
 * Nothing ever sends a stack trace: unexpected failures are logged and
 * answered `500 INTERNAL` with a fixed message.
 *
 * Exports: `ApiError`, `ERROR_STATUS`, `installErrorHandling`, `fromSpoolError`.
 */
import type { FastifyInstance } from 'fastify';
import { isSpoolError } from '../spool/errors.js';
import type { Logger } from '../util/log.js';
import type { ApiErrorBody, ApiErrorCode, DiagnosticJson } from './api/v1/types.js';

export const ERROR_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONFIG_REFUSED: 422,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
};

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly diagnostics?: readonly DiagnosticJson[],
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.diagnostics ? { diagnostics: this.diagnostics } : {}) } };
  }
}

/** Maps the spool's errors to API errors (unknown message → 404, closed spool → 503). */
export function fromSpoolError(e: unknown): ApiError | undefined {
  if (!isSpoolError(e)) return undefined;
  switch (e.code) {
    case 'NOT_FOUND':
      return new ApiError('NOT_FOUND', e.message);
    case 'SPOOL_CLOSED':
      return new ApiError('UNAVAILABLE', 'the spool is closed (shutting down)');
    case 'BAD_STATE':
      return new ApiError('BAD_REQUEST', e.message);
    default:
      return undefined;
  }
}

const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
};

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err, req, reply) => {
    let api: ApiError;
    const e = err as Error & { code?: string; statusCode?: number; validation?: unknown; validationContext?: string };
    if (err instanceof ApiError) api = err;
    else if (e.validation) api = new ApiError('BAD_REQUEST', `invalid ${e.validationContext ?? 'request'}: ${e.message.replace(/^(querystring|params|body|headers)\s*/, '')}`);
    else if (e.code && FASTIFY_CODES[e.code]) api = new ApiError(FASTIFY_CODES[e.code]!, e.message);
    else if (fromSpoolError(err)) api = fromSpoolError(err)!;
    else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) api = new ApiError('BAD_REQUEST', e.message);
    else {
      log.error('management: request failed', { method: req.method, route: req.routeOptions?.url ?? '', error: String(e?.message ?? e) });
      api = new ApiError('INTERNAL', 'internal error; see the server log');
    }
    void reply.code(api.status).type('application/json; charset=utf-8').send(api.body());
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).type('application/json; charset=utf-8').send(new ApiError('NOT_FOUND', 'no such resource').body());
  });
}
