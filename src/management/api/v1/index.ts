/**
 * @module management/api/v1
 *
 * Registers every v1 endpoint (one file each) under `/api/v1/`. The access
 * level a route needs follows from its method (GET: monitor; POST, DELETE:
 * admin), enforced by the hook in server.ts.
 *
 * Exports: `registerV1`, `JobCache`, `RouteContext`.
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './common.js';
import { registerCountersReset } from './counters-reset.js';
import { registerDomains } from './domains.js';
import { registerEvents } from './events.js';
import { registerJobPause } from './job-pause.js';
import { registerJobs } from './jobs.js';
import { registerMessage } from './message.js';
import { registerMessageDelete } from './message-delete.js';
import { registerMessages } from './messages.js';
import { registerQueue } from './queue.js';
import { registerQueueDelete } from './queue-delete.js';
import { registerQueueMode } from './queue-mode.js';
import { registerQueuePause } from './queue-pause.js';
import { registerQueueResume } from './queue-resume.js';
import { registerQueueSchedule } from './queue-schedule.js';
import { registerQueues } from './queues.js';
import { registerReload } from './reload.js';
import { registerStatus } from './status.js';
import { registerStream } from './stream.js';
import { registerTraffic } from './traffic.js';
import { registerVmtas } from './vmtas.js';
import { registerSuppression } from './suppression.js';

export { JobCache, type RouteContext } from './common.js';

const ROUTES: ReadonlyArray<(app: FastifyInstance, ctx: RouteContext) => void> = [
  registerStatus,
  registerQueues,
  registerQueue,
  registerDomains,
  registerVmtas,
  registerJobs,
  registerMessages,
  registerMessage,
  registerEvents,
  registerTraffic,
  registerStream,
  registerQueuePause,
  registerQueueResume,
  registerQueueSchedule,
  registerQueueMode,
  registerQueueDelete,
  registerMessageDelete,
  registerJobPause,
  registerReload,
  registerCountersReset,
  registerSuppression,
];

export function registerV1(app: FastifyInstance, ctx: RouteContext): void {
  for (const r of ROUTES) r(app, ctx);
}
