/**
 * @module util/log-file
 *
 * The daemon log file (`log-file PATH`, `log-rotate N`): lines are appended;
 * at midnight (local time) and when told to (SIGHUP, for an external
 * logrotate) the file is rotated: `PATH.1` … `PATH.N` shift up, the oldest
 * is removed, and a new `PATH` is started. `log-rotate 0` keeps no old file.
 *
 * Exports: `LogFile`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class LogFile {
  #fd: number;
  #day: number;

  constructor(
    readonly file: string,
    private readonly keep = 7,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#fd = fs.openSync(file, 'a', 0o640);
    this.#day = new Date().getDate();
  }

  write(s: string): void {
    const day = new Date().getDate();
    if (day !== this.#day) {
      this.#day = day;
      this.rotate();
    }
    try {
      fs.writeSync(this.#fd, s);
    } catch {
      // Disk full or gone: losing log lines must not stop the MTA.
    }
  }

  /** Shifts PATH → PATH.1 → … → PATH.N and reopens PATH. */
  rotate(): void {
    try {
      fs.closeSync(this.#fd);
      if (this.keep <= 0) fs.rmSync(this.file, { force: true });
      else {
        fs.rmSync(`${this.file}.${this.keep}`, { force: true });
        for (let i = this.keep - 1; i >= 1; i--) if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        if (fs.existsSync(this.file)) fs.renameSync(this.file, `${this.file}.1`);
      }
    } catch {
      // Keep logging into a fresh file whatever happened to the old ones.
    }
    this.#fd = fs.openSync(this.file, 'a', 0o640);
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}
