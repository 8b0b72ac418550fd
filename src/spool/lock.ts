/**
 * @module spool/lock
 *
 * One process, one spool: `acquireSpoolLock(dir)` creates `<dir>/spool.lock`
 * holding our pid, and fails with SPOOL_LOCKED while another live process (or
 * another open spool in this process) holds it. A lock left by a dead
 * process (after `kill -9`) is taken over.
 *
 * Exports: `acquireSpoolLock` → `release()`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SpoolError } from './errors.js';

const openHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireSpoolLock(dir: string): Promise<() => Promise<void>> {
  const abs = path.resolve(dir);
  if (openHere.has(abs)) throw new SpoolError('SPOOL_LOCKED', `spool ${abs} is already open in this process`);
  const file = path.join(abs, 'spool.lock');
  const old = await fsp.readFile(file, 'utf8').catch(() => undefined);
  const pid = old !== undefined ? Number.parseInt(old, 10) : NaN;
  if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
    throw new SpoolError('SPOOL_LOCKED', `spool ${abs} is locked by process ${pid}`);
  }
  await fsp.writeFile(file, `${process.pid}\n`);
  openHere.add(abs);
  return async () => {
    openHere.delete(abs);
    await fsp.unlink(file).catch(() => undefined);
  };
}
