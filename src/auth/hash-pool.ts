/**
 * @module auth/hash-pool
 *
 * Password-hash checks off the event loop. bcrypt, argon2 (WebAssembly) and
 * SHA-crypt compute synchronously: done on the main thread, one AUTH against
 * an argon2id hash (m=64 MiB, t=3: ~300 ms here) would stall every SMTP
 * session, delivery and the API for that long. Here they run on a small pool
 * of worker threads; scrypt already runs on libuv's thread pool and is
 * checked in place.
 *
 * Exports: `verifyPasswordHashOffLoop(password, hash)` (same answers as
 * `verifyPasswordHash`), `closeHashPool()`.
 *
 * Contracts:
 * - Same result as `verifyPasswordHash` for every input; never throws.
 * - Workers start on first use and are unref'd while idle: an idle pool never
 *   keeps the process alive; a worker with a check in flight does.
 * - A worker that dies (for example argon2 memory it cannot get) answers the
 *   check it was computing `unsupported`, as the in-process check does when
 *   the library refuses its input; the checks queued behind it go to a fresh
 *   worker. A worker idle for a minute is retired (argon2 may have grown its
 *   memory to the hash's `m`).
 * - If a worker cannot start at all (no worker threads, a missing script),
 *   its checks and all later ones run in process, as before the pool.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { hashKind, verifyPasswordHash, type HashCheck } from './password-hash.js';

/** Two workers at most: AUTH is rare next to mail, and each argon2 check may hold its `m` of memory. */
const POOL_SIZE = Math.max(1, Math.min(2, os.availableParallelism() - 1));

interface Pending {
  readonly resolve: (r: HashCheck) => void;
  readonly password: string;
  readonly hash: string;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Whether this worker ever answered: one that dies before that cannot start here at all. */
  answered: boolean;
  /** Retires the worker after `IDLE_MS` without checks, giving back argon2's memory. */
  idle?: NodeJS.Timeout;
}

const IDLE_MS = 60_000;

const slots: (Slot | undefined)[] = [];
let nextId = 1;
let next = 0;
let unavailable = false;

/**
 * The worker script next to this module. From `dist/` it is plain `.js`.
 * Under tsx (the tests run the sources) a worker does not inherit tsx's
 * loader hooks on Node 20, so a small bootstrap registers them first.
 */
function spawnWorker(): Worker {
  // No inherited flags: `node --input-type=module -e …` or other main-script flags would make the worker refuse to start.
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./hash-worker.js', import.meta.url), { execArgv: [] });
  const script = new URL('./hash-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); });`, { eval: true });
}

function startSlot(index: number): Slot | undefined {
  let worker: Worker;
  try {
    worker = spawnWorker();
  } catch {
    unavailable = true;
    return undefined;
  }
  worker.unref();
  const slot: Slot = { worker, pending: new Map(), answered: false };
  const failAll = (): void => {
    // Still registered means it died by itself (closeHashPool unregisters before terminating).
    if (slots[index] === slot) {
      slots[index] = undefined;
      if (!slot.answered) unavailable = true;
    }
    if (slot.idle) clearTimeout(slot.idle);
    const pending = [...slot.pending.values()];
    slot.pending.clear();
    pending.forEach((p, i) => {
      // A worker that never started: check in process. One that died on a hash (the first pending one, the one it
      // was computing): that hash is unusable; the checks queued behind it go to a fresh worker.
      if (!slot.answered) void verifyPasswordHash(p.password, p.hash).then(p.resolve);
      else if (i === 0) p.resolve('unsupported');
      else void verifyPasswordHashOffLoop(p.password, p.hash).then(p.resolve);
    });
  };
  worker.on('message', (m: { id: number; result: HashCheck }) => {
    slot.answered = true;
    const p = slot.pending.get(m.id);
    slot.pending.delete(m.id);
    p?.resolve(m.result);
    if (slot.pending.size === 0) {
      worker.unref();
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = setTimeout(() => {
        if (slot.pending.size > 0 || slots[index] !== slot) return;
        slots[index] = undefined;
        void worker.terminate();
      }, IDLE_MS);
      slot.idle.unref();
    }
  });
  worker.on('error', failAll);
  worker.on('exit', failAll);
  slots[index] = slot;
  return slot;
}

/** `verifyPasswordHash`, with the CPU-bound schemes computed on a worker thread. */
export async function verifyPasswordHashOffLoop(password: string, hash: string): Promise<HashCheck> {
  const kind = hashKind(hash);
  if (kind === undefined || kind === 'scrypt' || unavailable) return verifyPasswordHash(password, hash);
  const index = next;
  next = (next + 1) % POOL_SIZE;
  const slot = slots[index] ?? startSlot(index);
  if (!slot) return verifyPasswordHash(password, hash);
  const id = nextId++;
  return new Promise<HashCheck>((resolve) => {
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = undefined;
    slot.pending.set(id, { resolve, password, hash });
    // Referenced while a check is pending, so a check in flight is never abandoned at exit.
    slot.worker.ref();
    slot.worker.postMessage({ id, password, hash });
  });
}

/** Stops the workers (pending checks answer `unsupported`). */
export async function closeHashPool(): Promise<void> {
  const running = slots.splice(0).filter((s): s is Slot => s !== undefined);
  await Promise.all(running.map((s) => s.worker.terminate()));
}
