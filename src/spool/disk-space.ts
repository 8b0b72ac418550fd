/**
 * @module spool/disk-space
 *
 * `FreeSpaceMonitor`: knows, without a system call on the hot path, whether
 * the spool's filesystem still has `minFreeBytes` free.
 *
 * It re-reads `statfs` every `intervalMs` (real time, unref'd timer) and on
 * demand after a write failed, and between readings subtracts the bytes the
 * spool has written since, so a burst cannot overshoot the reserve by much.
 * Writing resumes by itself: once a reading shows space again, `isLow()`
 * turns false.
 *
 * Exports: `FreeSpaceMonitor`.
 */
import { promises as fsp } from 'node:fs';

export class FreeSpaceMonitor {
  readonly #dir: string;
  readonly #minFree: number;
  #free = Number.POSITIVE_INFINITY;
  #writtenSince = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(dir: string, minFreeBytes: number, intervalMs: number) {
    this.#dir = dir;
    this.#minFree = minFreeBytes;
    if (minFreeBytes > 0 && intervalMs > 0) {
      this.#timer = setInterval(() => void this.refresh(), intervalMs);
      this.#timer.unref();
    }
  }

  /** Free bytes as last read, less what was written since. */
  get estimate(): number {
    return this.#free - this.#writtenSince;
  }

  get minFreeBytes(): number {
    return this.#minFree;
  }

  /** True when fewer than `minFreeBytes` (plus `extra`) are believed free. */
  isLow(extra = 0): boolean {
    return this.#minFree > 0 && this.estimate - extra < this.#minFree;
  }

  noteWritten(bytes: number): void {
    this.#writtenSince += bytes;
  }

  /** Re-reads the filesystem's free space (coalesces concurrent calls). */
  refresh(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    this.#inFlight = (async () => {
      try {
        const st = await fsp.statfs(this.#dir);
        this.#free = Number(st.bavail) * Number(st.bsize);
        this.#writtenSince = 0;
      } catch {
        // Keep the last reading; a failing statfs is no reason to stop mail.
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
