/**
 * @module management/server
 *
 * `startManagement(deps, opts)`: the HTTP management server (fastify 5) —
 * the versioned JSON API under `/api/v1/` (one file per endpoint in
 * api/v1/), the live web monitor at `/`, Prometheus metrics at `/metrics`.
 *
 * Request lifecycle:
 *   1. onRequest: access (access.ts) — peer address → `http-access` level,
 *      or a bearer token → admin; `none` → 403; a GET needs monitor, any
 *      other method admin; Host and Origin checks for browser requests.
 *   2. routing: unknown path → 404 JSON. No route serves files: there is
 *      no static handler, so `..`, `%2e%2e`, encoded slashes and absolute
 *      paths can only ever reach the 404 handler (PowerMTA's monitor had a
 *      path-traversal hole; there is nothing here for one to reach).
 *   3. validation: JSON schemas on params, query and body → 400 with the
 *      reason; bodies over 64 KB → 413.
 *   4. handler; its `ApiError`s and any unexpected error become
 *      `{ error: { code, message } }` (errors.ts) — never a stack trace.
 *   5. onSend: security headers (nosniff, no framing, no caching, CSP).
 *
 * Exports: `startManagement`, `RunningManagement`, `buildManagementApp`,
 * `managementOptionsFromConfig`.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { lastSetting, type PetrelConfig } from '../config/model.js';
import { silentLogger } from '../util/log.js';
import { LEVEL_RANK, accessFromConfig, bearerOf, bindHostFor, checkToken, hostAllowed, levelFor, sameOrigin } from './access.js';
import { registerV1, JobCache, type RouteContext } from './api/v1/index.js';
import { SECURITY_HEADERS } from './api/v1/headers.js';
import type { AccessLevel, AccessRule, ManagementDeps, ManagementOptions } from './deps.js';
import { ApiError, installErrorHandling } from './errors.js';
import { createMetrics } from './metrics.js';
import { pageCsp, renderPage } from './monitor/page.js';
import { snapshotOf } from './read-models.js';
import { StreamHub } from './stream-hub.js';

export const DEFAULT_MGMT_PORT = 8080;
const BODY_LIMIT = 64 * 1024;

export interface RunningManagement {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/**
 * Where and to whom the management server listens, from a configuration:
 * `http-mgmt-port` (8080 when unset), `http-access` lines (loopback admin
 * when there are none), and the bind address those imply (loopback unless a
 * rule opens a non-loopback network).
 */
export function managementOptionsFromConfig(config: PetrelConfig, token?: string): ManagementOptions & { readonly portExplicit: boolean } {
  const port = lastSetting<number>(config.global, 'http-mgmt-port')?.value;
  const access = accessFromConfig(config);
  return {
    host: bindHostFor(access),
    port: typeof port === 'number' ? port : DEFAULT_MGMT_PORT,
    portExplicit: typeof port === 'number',
    access,
    ...(token ? { token } : {}),
  };
}

function accessHook(rules: readonly AccessRule[], opts: ManagementOptions) {
  return async (req: FastifyRequest): Promise<void> => {
    const bearer = bearerOf(req.headers.authorization);
    let level: AccessLevel;
    let byToken = false;
    if (typeof bearer === 'string') {
      if (!opts.token || !checkToken(bearer, opts.token)) throw new ApiError('UNAUTHORIZED', 'bad or unknown API token');
      level = 'admin';
      byToken = true;
    } else {
      level = levelFor(rules, req.socket.remoteAddress);
    }
    if (level === 'none') throw new ApiError('FORBIDDEN', 'this address has no access (http-access)');
    if (!byToken && !hostAllowed(req.headers.host, opts.allowedHosts)) throw new ApiError('FORBIDDEN', 'Host header not accepted; use the IP address or add the name to the allowed hosts');
    const safe = req.method === 'GET' || req.method === 'HEAD';
    const need: AccessLevel = req.routeOptions.config?.level ?? (safe ? 'monitor' : 'admin');
    if (LEVEL_RANK[level] < LEVEL_RANK[need]) throw new ApiError('FORBIDDEN', `${need} access needed (this address has ${level})`);
    if (!safe && !byToken && !sameOrigin(req.headers.origin, req.headers.host)) throw new ApiError('FORBIDDEN', 'cross-origin request refused');
    req.petrelLevel = level;
  };
}

/** The fastify app with every route, not listening (tests may `inject()` into it). */
export function buildManagementApp(deps: ManagementDeps, opts: ManagementOptions): { app: FastifyInstance; hub: StreamHub } {
  const log = deps.log ?? silentLogger;
  const app = Fastify({
    ...(opts.tls ? { https: { key: opts.tls, cert: opts.tls, minVersion: 'TLSv1.2' as const } } : {}),
    logger: false,
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 512 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.decorateRequest('petrelLevel', 'none');
  installErrorHandling(app, log);
  app.addHook('onRequest', accessHook(opts.access, opts));
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(k)) reply.header(k, v);
    return payload;
  });
  const hub = new StreamHub(deps, opts.maxStreams ?? 32);
  const ctx: RouteContext = { deps, opts, hub, jobs: new JobCache() };
  registerV1(app, ctx);

  let pageSeq = 0;
  app.get('/', async (req, reply) => {
    const nonce = randomBytes(16).toString('base64');
    const level = req.petrelLevel === 'admin' ? 'admin' : 'monitor';
    const html = renderPage(snapshotOf(deps, level, ++pageSeq), nonce);
    return reply.header('content-security-policy', pageCsp(nonce)).type('text/html; charset=utf-8').send(html);
  });

  const metrics = createMetrics(deps);
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });
  return { app, hub };
}

export async function startManagement(deps: ManagementDeps, opts: ManagementOptions): Promise<RunningManagement> {
  const { app, hub } = buildManagementApp(deps, opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (e) {
    hub.close();
    await app.close().catch(() => undefined);
    throw e;
  }
  const addr = app.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port: addr.port,
    host: addr.address,
    close(): Promise<void> {
      closing ??= (async () => {
        hub.close();
        await app.close();
      })();
      return closing;
    },
  };
}
