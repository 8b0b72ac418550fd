/**
 * @module management/api/v1/common
 *
 * What the v1 route files share: the `RouteContext` they are registered
 * with, JSON-schema fragments for validation, the access level a route
 * needs (`routeLevel`), and queue lookup with PowerMTA's wildcards
 * (`*` for every domain or VMTA, a `virtual-mta-pool` name for its members).
 *
 * Exports: `RouteContext`, `PREFIX`, `QUEUE_PARAMS`, `queueParamsSchema`,
 * `findQueue`, `matchQueues`, `adminOnly`, `QueueParams`, `JobCache`.
 */
import type { QueueStats } from '../../../spool/types.js';
import type { ManagementDeps, ManagementOptions } from '../../deps.js';
import { ApiError } from '../../errors.js';
import type { StreamHub } from '../../stream-hub.js';

export const PREFIX = '/api/v1';

/** Remembers each live message's job id (envelopes never change), bounded. */
export class JobCache {
  readonly #map = new Map<string, string | null>();
  constructor(readonly limit = 200_000) {}
  get(id: string): string | null | undefined {
    return this.#map.get(id);
  }
  set(id: string, job: string | null): void {
    if (this.#map.size >= this.limit) this.#map.clear();
    this.#map.set(id, job);
  }
  delete(id: string): void {
    this.#map.delete(id);
  }
}

export interface RouteContext {
  readonly deps: ManagementDeps;
  readonly opts: ManagementOptions;
  readonly hub: StreamHub;
  readonly jobs: JobCache;
}

/** Route option `config` that raises the level a GET needs (never used to lower it). */
export const adminOnly = { level: 'admin' as const };

/** A queue's domain or VMTA in a path: no slash, no control characters. */
const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^/\\u0000-\\u001f\\u007f]+$' } as const;

export interface QueueParams {
  domain: string;
  vmta: string;
}

export const queueParamsSchema = {
  type: 'object',
  required: ['domain', 'vmta'],
  additionalProperties: false,
  properties: { domain: NAME, vmta: NAME },
} as const;

export const QUEUE_PARAMS = { params: queueParamsSchema } as const;

/** One existing queue, or 404. */
export function findQueue(deps: ManagementDeps, p: QueueParams): QueueStats {
  const name = `${p.domain.toLowerCase()}/${p.vmta}`;
  const s = deps.spool.queueStats(name)[0];
  if (!s || !deps.spool.queueNames().includes(name)) {
    throw new ApiError('NOT_FOUND', `no queue ${name}`);
  }
  return s;
}

/**
 * Queues named by `domain/vmta` with wildcards: `*` as either part, or a
 * pool name as the VMTA part. At least one match, else 404.
 */
export function matchQueues(deps: ManagementDeps, p: QueueParams): string[] {
  const domain = p.domain.toLowerCase();
  if (domain !== '*' && p.vmta !== '*' && !deps.config().pools.has(p.vmta)) return [findQueue(deps, p).queue];
  const pool = deps.config().pools.get(p.vmta);
  const names = deps.spool.queueNames().filter((q) => {
    const slash = q.lastIndexOf('/');
    const d = q.slice(0, slash);
    const v = q.slice(slash + 1);
    const vmtaOk = p.vmta === '*' || (pool ? pool.members.includes(v) : v === p.vmta);
    return (domain === '*' || d === domain) && vmtaOk;
  });
  if (names.length === 0) throw new ApiError('NOT_FOUND', `no queue matches ${domain}/${p.vmta}`);
  return names;
}

export const pagingProps = {
  limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
  offset: { type: 'integer', minimum: 0, maximum: 100000000, default: 0 },
} as const;

declare module 'fastify' {
  interface FastifyRequest {
    /** The access level this request was granted (set by the access hook). */
    petrelLevel: import('../../deps.js').AccessLevel;
  }
  interface FastifyContextConfig {
    /** The level a route needs when more than its method implies. */
    level?: import('../../deps.js').AccessLevel;
  }
}
