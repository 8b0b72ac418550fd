/**
 * @module util/log-file
 *
 * The daemon log file (`log-file PATH`, `log-rotate N`), written through a
 * buffered pino destination. At local midnight and when told to (SIGHUP,
 * for an external logrotate) the file is rotated: `PATH.1` … `PATH.N` shift
 * up, the oldest is removed, and the destination reopens a new `PATH`.
 * `log-rotate 0` keeps no old file.
 *
 * Exports: `LogFile`.
 */
import * as fs from 'node:fs';
import { fileDestination } from './log.js';

export class LogFile {
  readonly destination: ReturnType<typeof fileDestination>;
  #day = new Date().getDate();
  #timer: NodeJS.Timeout;

  constructor(
    readonly file: string,
    private readonly keep = 7,
  ) {
    this.destination = fileDestination(file);
    this.#timer = setInterval(() => {
      const day = new Date().getDate();
      if (day !== this.#day) {
        this.#day = day;
        this.rotate();
      }
    }, 60_000);
    this.#timer.unref();
  }

  /** Shifts PATH → PATH.1 → … → PATH.N and reopens PATH. */
  rotate(): void {
    try {
      this.destination.flushSync();
    } catch {
      // A destination not ready yet has nothing to flush.
    }
    try {
      if (this.keep <= 0) fs.rmSync(this.file, { force: true });
      else {
        fs.rmSync(`${this.file}.${this.keep}`, { force: true });
        for (let i = this.keep - 1; i >= 1; i--) if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        if (fs.existsSync(this.file)) fs.renameSync(this.file, `${this.file}.1`);
      }
    } catch {
      // Keep logging into a fresh file whatever happened to the old ones.
    }
    this.destination.reopen();
  }
}
