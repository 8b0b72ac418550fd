/**
 * @module spool/paused-store
 *
 * `PausedStore`: the set of paused queues in `<spool>/paused.json`, written
 * atomically (tmp file with flush → rename → fsync of the directory) and
 * one write at a time, so a pause survives a restart or crash once
 * `save()` resolved.
 *
 * Exports: `PausedStore`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { toSpoolIoError } from './errors.js';
import { syncDir } from './segment-log.js';
import type { SpoolLogger } from './types.js';

export class PausedStore {
  readonly #dir: string;
  readonly #file: string;
  #chain: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
    this.#file = path.join(dir, 'paused.json');
  }

  /** Names of paused queues; an unreadable file is logged and means none. */
  async load(logger: SpoolLogger): Promise<string[]> {
    const text = await fsp.readFile(this.#file, 'utf8').catch(() => undefined);
    if (text === undefined) return [];
    try {
      const names = JSON.parse(text) as unknown;
      if (Array.isArray(names) && names.every((n) => typeof n === 'string')) return names as string[];
      throw new Error('not a list of names');
    } catch (e) {
      logger.error('spool: paused.json unreadable; no queue is paused', { error: String(e) });
      return [];
    }
  }

  /** Durably replaces the set; calls are serialized. Rejects with SPOOL_FULL/SPOOL_IO. */
  save(names: readonly string[]): Promise<void> {
    const write = async (): Promise<void> => {
      try {
        await fsp.writeFile(`${this.#file}.tmp`, JSON.stringify(names), { flush: true });
        await fsp.rename(`${this.#file}.tmp`, this.#file);
        await syncDir(this.#dir);
      } catch (e) {
        throw toSpoolIoError(e, 'spool paused.json');
      }
    };
    const p = this.#chain.then(write);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  /** Resolves when no save is running. */
  idle(): Promise<void> {
    return this.#chain;
  }
}
