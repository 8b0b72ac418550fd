/**
 * @module auth/hash-worker
 *
 * The worker-thread side of `hash-pool.ts`: answers `{ id, password, hash }`
 * with `{ id, result }` from `verifyPasswordHash`. One request at a time per
 * worker (the hashes are CPU-bound; queueing is the pool's business).
 */
import { parentPort } from 'node:worker_threads';
import { verifyPasswordHash } from './password-hash.js';

interface Request {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}

parentPort?.on('message', (req: Request) => {
  void verifyPasswordHash(req.password, req.hash).then((result) => parentPort?.postMessage({ id: req.id, result }));
});
