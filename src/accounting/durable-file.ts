/**
 * @module accounting/durable-file
 *
 * `DurableFile`: an append-only text file of whole lines with group commit,
 * torn-tail repair and rotation. The CSV and JSON-lines outputs, the pipe's
 * fallback file and the webhook's journal are all one of these.
 *
 * Exports: `DurableFileOptions`, `DurableFile` (`open`, `append`, `tick`,
 * `resetIfSize`, `close`, `path`, `size`), `rotatedName(path, startedAt, n)`.
 *
 * Invariants:
 * - `append(chunk)` resolves only after the chunk (whole lines) is written
 *   and, with `sync`, fdatasync'ed; chunks that arrive during a flush share
 *   the next flush (one write, one fdatasync).
 * - The file never holds a partial line that was acknowledged: a failed
 *   write is cut back (ftruncate) to the last acknowledged size, and a torn
 *   tail found at open (a crash mid-write) is moved to `PATH.torn` and cut off.
 * - A file's first line is its header (when there is one); a file whose
 *   header differs from the configured one is rotated away at open, so one
 *   file never mixes two column layouts.
 * - Flushes, rotations and close run one at a time, in order.
 * - Time comes from the injected `Clock` only.
 *
 * Rotation: at each multiple of `moveInterval` (local time) and before a
 * flush that would take the file past `maxSize`, the file is closed and
 * renamed to `STEM-YYYY-MM-DD-HHMM[-N].EXT` (the time the file was started)
 * in `moveTo` (or its own directory); rotated files whose time is older than
 * `deleteAfter` are deleted.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { GroupCommitter } from '../spool/group-commit.js';
import { AccountingError } from './errors.js';
import { fileStamp, nextBoundary, parseFileStamp } from './times.js';

export interface DurableFileOptions {
  readonly path: string;
  /** First line of every file (with its trailing newline), or undefined for none. */
  readonly header?: string;
  readonly mode: number;
  readonly sync: boolean;
  readonly moveTo?: string;
  readonly moveInterval?: number;
  readonly maxSize?: number;
  readonly deleteAfter?: number;
  readonly clock: Clock;
  readonly log: Logger;
}

/** `dir/acct.csv` started at T (N-th of that minute) → `acct-YYYY-MM-DD-HHMM[-N].csv`. */
export function rotatedName(file: string, startedAt: number, n = 0): string {
  const ext = path.extname(file);
  const stem = path.basename(file, ext);
  return `${stem}-${fileStamp(startedAt)}${n > 0 ? `-${n}` : ''}${ext}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is then as durable as they make it.
  } finally {
    await h?.close();
  }
}

async function writeAll(fd: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fd.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

export class DurableFile {
  readonly #o: DurableFileOptions;
  #fd: FileHandle | undefined;
  #size = 0;
  #startedAt = 0;
  #nextRotation = Infinity;
  #lastCleanup = -Infinity;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #committer: GroupCommitter<string, void>;

  private constructor(o: DurableFileOptions) {
    this.#o = o;
    this.#committer = new GroupCommitter<string, void>((items) => this.#exclusive(() => this.#flush(items)), { maxBytes: 8 * 1024 * 1024 });
  }

  static async open(o: DurableFileOptions): Promise<DurableFile> {
    const f = new DurableFile(o);
    await f.#exclusive(() => f.#openCurrent());
    return f;
  }

  get path(): string {
    return this.#o.path;
  }

  /** Bytes in the current file (header included). */
  get size(): number {
    return this.#size;
  }

  /** Appends whole lines; resolves once durable (see the module contract). */
  append(chunk: string): Promise<void> {
    if (this.#closed) return Promise.reject(new AccountingError('ACCT_CLOSED', `${this.#o.path}: closed`));
    if (chunk.length === 0) return Promise.resolve();
    return this.#committer.submit(chunk, Buffer.byteLength(chunk));
  }

  /** Time-based rotation and clean-up when due; call it periodically. */
  tick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#exclusive(async () => {
      if (!this.#fd) return;
      if (this.#o.clock.now() >= this.#nextRotation) await this.#rotate();
      else await this.#cleanup(false);
    });
  }

  /**
   * Empties the file (back to its header) if it still holds exactly
   * `expected` bytes, after `before()` has run; in order with flushes, so no
   * acknowledged append is ever cut. Resolves true when it emptied the file.
   */
  resetIfSize(expected: number, before: () => Promise<void>): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#exclusive(async () => {
      const fd = this.#fd;
      if (!fd || this.#size !== expected) return false;
      await before();
      const headerBytes = Buffer.byteLength(this.#o.header ?? '');
      await fd.truncate(headerBytes);
      await fd.datasync();
      this.#size = headerBytes;
      return true;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#committer.whenIdle();
    await this.#exclusive(async () => {
      const fd = this.#fd;
      this.#fd = undefined;
      if (fd) {
        if (this.#o.sync) await fd.datasync().catch(() => undefined);
        await fd.close();
      }
    });
  }

  /** Runs `fn` after everything queued before it (flushes, rotations, close). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #openCurrent(): Promise<void> {
    const o = this.#o;
    await fsp.mkdir(path.dirname(o.path), { recursive: true });
    const now = o.clock.now();
    if (await exists(o.path)) {
      const st = await fsp.stat(o.path);
      const fileTime = Math.min(now, st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs);
      await this.#repairTail();
      const size = (await fsp.stat(o.path)).size;
      const stale = o.moveInterval !== undefined && nextBoundary(fileTime, o.moveInterval) <= now;
      const foreignHeader = o.header !== undefined && size > 0 && (await this.#firstLine()) !== o.header;
      if (foreignHeader || (stale && size > (o.header?.length ?? 0))) {
        if (foreignHeader) o.log.warn('accounting: file has another column layout; rotated away', { path: o.path });
        await this.#moveAway(fileTime);
      } else if (size > 0) {
        this.#fd = await fsp.open(o.path, 'a');
        this.#size = size;
        this.#startedAt = fileTime;
        this.#nextRotation = o.moveInterval !== undefined ? nextBoundary(now, o.moveInterval) : Infinity;
        await this.#cleanup(true);
        return;
      }
    }
    await this.#create(now);
    await this.#cleanup(true);
  }

  /** Creates a fresh file with its header, durably. */
  async #create(now: number): Promise<void> {
    const o = this.#o;
    const fd = await fsp.open(o.path, 'a', o.mode);
    await fd.chmod(o.mode);
    const st = await fd.stat();
    let size = st.size;
    if (size === 0 && o.header) {
      await writeAll(fd, Buffer.from(o.header));
      size = Buffer.byteLength(o.header);
    }
    await fd.datasync();
    await syncDir(path.dirname(o.path));
    this.#fd = fd;
    this.#size = size;
    this.#startedAt = now;
    this.#nextRotation = o.moveInterval !== undefined ? nextBoundary(now, o.moveInterval) : Infinity;
  }

  async #firstLine(): Promise<string> {
    const fd = await fsp.open(this.#o.path, 'r');
    try {
      const want = Buffer.byteLength(this.#o.header ?? '') + 1;
      const buf = Buffer.alloc(Math.max(want, 256));
      const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      const nl = text.indexOf('\n');
      return nl >= 0 ? text.slice(0, nl + 1) : text;
    } finally {
      await fd.close();
    }
  }

  /** A crash mid-write can leave a last line without its newline: keep it aside in PATH.torn and cut it off. */
  async #repairTail(): Promise<void> {
    const o = this.#o;
    const fd = await fsp.open(o.path, 'r+');
    try {
      const size = (await fd.stat()).size;
      if (size === 0) return;
      const one = Buffer.alloc(1);
      await fd.read(one, 0, 1, size - 1);
      if (one[0] === 0x0a) return;
      // Find the last newline, reading backwards in blocks.
      let keep = 0;
      const block = Buffer.alloc(64 * 1024);
      for (let end = size; end > 0 && keep === 0; ) {
        const start = Math.max(0, end - block.length);
        const { bytesRead } = await fd.read(block, 0, end - start, start);
        const at = block.subarray(0, bytesRead).lastIndexOf(0x0a);
        if (at >= 0) keep = start + at + 1;
        end = start;
      }
      const torn = Buffer.alloc(size - keep);
      await fd.read(torn, 0, torn.length, keep);
      await fsp.appendFile(`${o.path}.torn`, Buffer.concat([torn, Buffer.from('\n')]), { mode: o.mode });
      await fd.truncate(keep);
      await fd.datasync();
      o.log.warn('accounting: torn last line (unacknowledged) moved aside', { path: o.path, torn: `${o.path}.torn`, bytes: torn.length });
    } finally {
      await fd.close();
    }
  }

  async #flush(items: readonly string[]): Promise<void[]> {
    const o = this.#o;
    const buf = Buffer.from(items.join(''));
    const headerBytes = Buffer.byteLength(o.header ?? '');
    try {
      // A rotation that failed earlier left no file open: start again.
      if (!this.#fd) await this.#openCurrent();
      if (o.clock.now() >= this.#nextRotation) await this.#rotate();
      else if (o.maxSize !== undefined && this.#size > headerBytes && this.#size + buf.length > o.maxSize) await this.#rotate();
    } catch (e) {
      throw new AccountingError('ACCT_IO', `${o.path}: ${(e as Error).message}`, { cause: e });
    }
    const fd = this.#fd!;
    try {
      await writeAll(fd, buf);
      if (o.sync) await fd.datasync();
    } catch (e) {
      // Cut back to the last acknowledged size so no partial line survives.
      await fd.truncate(this.#size).catch(() => undefined);
      throw new AccountingError('ACCT_IO', `${o.path}: ${(e as Error).message}`, { cause: e });
    }
    this.#size += buf.length;
    return items.map(() => undefined);
  }

  async #rotate(): Promise<void> {
    const o = this.#o;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd) {
      await fd.datasync().catch(() => undefined);
      await fd.close();
    }
    await this.#moveAway(this.#startedAt);
    await this.#create(o.clock.now());
    await this.#cleanup(true);
  }

  /** Renames the current file to its rotated name (in moveTo or beside it). */
  async #moveAway(startedAt: number): Promise<void> {
    const o = this.#o;
    const dir = o.moveTo ?? path.dirname(o.path);
    await fsp.mkdir(dir, { recursive: true });
    let target = '';
    for (let n = 0; ; n++) {
      target = path.join(dir, rotatedName(o.path, startedAt, n));
      if (!(await exists(target))) break;
    }
    try {
      await fsp.rename(o.path, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await fsp.copyFile(o.path, target);
      const h = await fsp.open(target, 'r');
      await h.sync();
      await h.close();
      await fsp.unlink(o.path);
    }
    await syncDir(dir);
    if (dir !== path.dirname(o.path)) await syncDir(path.dirname(o.path));
  }

  /** Deletes rotated files older than deleteAfter (by the time in their name); at most once a minute unless forced. */
  async #cleanup(force: boolean): Promise<void> {
    const o = this.#o;
    if (o.deleteAfter === undefined) return;
    const now = o.clock.now();
    if (!force && now - this.#lastCleanup < 60_000) return;
    this.#lastCleanup = now;
    const dir = o.moveTo ?? path.dirname(o.path);
    const ext = path.extname(o.path);
    const re = new RegExp(`^${escapeRe(path.basename(o.path, ext))}-(\\d{4}-\\d{2}-\\d{2}-\\d{4})(?:-\\d+)?${escapeRe(ext)}$`);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = re.exec(name);
      const t = m ? parseFileStamp(m[1]!) : undefined;
      if (t === undefined || now - t <= o.deleteAfter) continue;
      await fsp.unlink(path.join(dir, name)).catch((e: Error) => o.log.warn('accounting: cannot delete old file', { path: name, error: e.message }));
    }
  }
}
