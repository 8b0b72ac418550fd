/**
 * @module spool/segment-log
 *
 * `SegmentLog`: the append-only, checksummed record log under
 * `<spool>/segments/`, one file per segment (`00000001.seg`, ...).
 *
 * Invariants:
 * - Bytes are only ever appended at `size`, the end of the last good record
 *   of the active segment; `append()` resolves only after `fdatasync` of the
 *   segment succeeded for every byte it wrote (the durability point).
 * - A failed append leaves no record that recovery could take as valid
 *   before the end marker of the segment: the tail is truncated back to
 *   `size`; if even that fails the segment is sealed with a SEAL record
 *   saying where valid data ends, and writing goes on in a new segment.
 * - A segment is sealed (SEAL record, fdatasync) before the next one is
 *   created, so every segment but the last ends with a SEAL record.
 * - Segments are deleted only from the oldest end, and the directory is
 *   fsync'd after each deletion, so a crash never resurrects an old segment
 *   once a newer one is gone.
 *
 * Recovery rules (`replay`):
 * - A bad region with no valid record after it in the last segment is a torn
 *   tail: it can only hold writes that were never acknowledged; it is
 *   dropped (the file is truncated) with a warning.
 * - A bad region followed by a SEAL record whose `end` is that region's start
 *   is the remains of a failed write: skipped with a warning.
 * - Any other bad region is damage: its bytes are copied to
 *   `<spool>/corrupt/seg<N>-<offset>.bin`, an error is logged, and the scan
 *   resumes at the next valid record. Start-up never fails because of it.
 *
 * Exports: `SegmentLog`, `ReplayReport`, `RecordVisitor`.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SpoolError, toSpoolIoError } from './errors.js';
import {
  RecordType,
  checkRecordAt,
  encodeSealRecord,
  findNextRecord,
  type EncodedRecord,
  type RecordAt,
} from './record.js';
import type { SpoolLogger } from './types.js';

/** Called for each valid record; return false to quarantine it as damaged. */
export type RecordVisitor = (rec: RecordAt, segment: number) => boolean;

export interface ReplayReport {
  segments: number;
  records: number;
  bytes: number;
  tornBytes: number;
  corruptRegions: number;
}

const SEG_RE = /^(\d{8})\.seg$/;
const segName = (n: number): string => `${String(n).padStart(8, '0')}.seg`;

export class SegmentLog {
  readonly dir: string;
  readonly corruptDir: string;
  readonly #segmentSize: number;
  readonly #logger: SpoolLogger;
  /** Existing segment numbers, ascending; the last is the active one. */
  #segments: number[] = [];
  #active = 0;
  #fh: FileHandle | undefined;
  /** End of the last good record of the active segment. */
  #size = 0;
  #activeSealed = false;
  #mustRotate = false;
  #closed = false;
  /** Read handles of sealed segments (promises, so concurrent readers share one open). */
  readonly #readers = new Map<number, Promise<FileHandle>>();

  private constructor(dir: string, corruptDir: string, segmentSize: number, logger: SpoolLogger) {
    this.dir = dir;
    this.corruptDir = corruptDir;
    this.#segmentSize = segmentSize;
    this.#logger = logger;
  }

  static async open(dir: string, corruptDir: string, segmentSize: number, logger: SpoolLogger): Promise<SegmentLog> {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.mkdir(corruptDir, { recursive: true });
    const log = new SegmentLog(dir, corruptDir, segmentSize, logger);
    const names = await fsp.readdir(dir);
    log.#segments = names
      .map((n) => SEG_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    return log;
  }

  get activeSegment(): number {
    return this.#active;
  }

  /** Segment numbers present, oldest first. */
  get segments(): readonly number[] {
    return this.#segments;
  }

  /** Bytes of valid data in the active segment. */
  get activeSize(): number {
    return this.#size;
  }

  /**
   * Reads every segment in order and calls `visit` for each valid record,
   * applying the recovery rules above; then opens the last segment for
   * appending (creating segment 1 in an empty spool).
   */
  async replay(visit: RecordVisitor): Promise<ReplayReport> {
    const report: ReplayReport = { segments: this.#segments.length, records: 0, bytes: 0, tornBytes: 0, corruptRegions: 0 };
    for (let i = 0; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      const isLast = i === this.#segments.length - 1;
      const file = path.join(this.dir, segName(seg));
      const buf = await fsp.readFile(file);
      report.bytes += buf.length;
      let off = 0;
      let validEnd = 0;
      let sealed = false;
      while (off < buf.length) {
        const rec = checkRecordAt(buf, off);
        if (rec) {
          if (rec.type === RecordType.SEAL) {
            sealed = true;
            validEnd = off;
            break;
          }
          report.records++;
          if (!visit(rec, seg)) {
            report.corruptRegions++;
            await this.#quarantine(seg, rec.offset, buf.subarray(rec.offset, rec.offset + rec.length), 'record rejected by the index');
          }
          off += rec.length;
          validEnd = off;
          continue;
        }
        // A bad region starts here: find where good data resumes.
        const next = findNextRecord(buf, off);
        if (next === undefined) {
          if (isLast) {
            report.tornBytes += buf.length - off;
            this.#logger.warn('spool: torn tail dropped (unacknowledged write)', { segment: seg, offset: off, bytes: buf.length - off });
            await fsp.truncate(file, off);
          } else {
            report.corruptRegions++;
            await this.#quarantine(seg, off, buf.subarray(off), 'damaged tail of a sealed segment');
          }
          validEnd = off;
          break;
        }
        if (next.type === RecordType.SEAL && next.payload.readDoubleLE(0) === off) {
          this.#logger.warn('spool: skipped remains of a failed write', { segment: seg, offset: off, bytes: next.offset - off });
        } else {
          report.corruptRegions++;
          await this.#quarantine(seg, off, buf.subarray(off, next.offset), 'damaged record');
        }
        off = next.offset;
      }
      if (!isLast && !sealed) {
        this.#logger.warn('spool: segment without seal before a newer segment', { segment: seg });
      }
      if (isLast) {
        this.#active = seg;
        this.#size = validEnd;
        this.#activeSealed = sealed;
      }
    }
    if (this.#segments.length === 0) {
      await this.#createSegment(1);
    } else {
      this.#fh = await fsp.open(path.join(this.dir, segName(this.#active)), 'r+');
      if (this.#activeSealed) this.#mustRotate = true;
    }
    return report;
  }

  async #quarantine(seg: number, off: number, bytes: Buffer, why: string): Promise<void> {
    const name = `seg${String(seg).padStart(8, '0')}-${off}.bin`;
    this.#logger.error(`spool: ${why}; moved to corrupt/`, { segment: seg, offset: off, bytes: bytes.length, file: name });
    try {
      await fsp.writeFile(path.join(this.corruptDir, name), bytes);
    } catch (e) {
      this.#logger.error('spool: could not write to corrupt/', { file: name, error: String(e) });
    }
  }

  /**
   * Appends the records durably, all into one segment (rolling over first if
   * they would overflow it), with one write and one fdatasync. Resolves to
   * the segment and each record's offset. Rejects with SPOOL_FULL / SPOOL_IO.
   * Callers must not run two appends at once (the GroupCommitter ensures it).
   */
  async append(records: readonly EncodedRecord[]): Promise<{ segment: number; offsets: number[] }> {
    let total = 0;
    for (const r of records) total += r.length;
    if (this.#mustRotate || (this.#size > 0 && this.#size + total > this.#segmentSize)) {
      await this.#rotate();
    }
    const fh = this.#fh!;
    const start = this.#size;
    const chunks: Uint8Array[] = [];
    const offsets: number[] = [];
    let pos = start;
    for (const r of records) {
      offsets.push(pos);
      pos += r.length;
      for (const c of r.chunks) chunks.push(c);
    }
    try {
      await writeAll(fh, chunks, start, total);
      await fh.datasync();
    } catch (e) {
      await this.#undo(start);
      throw toSpoolIoError(e, 'spool append');
    }
    this.#size = start + total;
    return { segment: this.#active, offsets };
  }

  /** Cuts a failed write back off; if that fails, seal and move on later. */
  async #undo(start: number): Promise<void> {
    try {
      await this.#fh!.truncate(start);
      await this.#fh!.datasync();
    } catch (e) {
      this.#logger.error('spool: could not truncate a failed write; the segment will be sealed', { segment: this.#active, error: String(e) });
      this.#mustRotate = true;
    }
  }

  async #rotate(): Promise<void> {
    const fh = this.#fh!;
    if (!this.#activeSealed) {
      const st = await fh.stat().catch(() => undefined);
      const at = Math.max(this.#size, st?.size ?? this.#size);
      const seal = encodeSealRecord(this.#size);
      try {
        await writeAll(fh, seal.chunks, at, seal.length);
        await fh.datasync();
      } catch (e) {
        this.#mustRotate = true;
        throw toSpoolIoError(e, 'spool seal');
      }
      this.#activeSealed = true;
    }
    const sealedSeg = this.#active;
    try {
      await this.#createSegment(sealedSeg + 1);
    } catch (e) {
      this.#mustRotate = true;
      throw toSpoolIoError(e, 'spool new segment');
    }
    this.#mustRotate = false;
    // The sealed segment stays readable through its old handle.
    this.#readers.set(sealedSeg, Promise.resolve(fh));
  }

  async #createSegment(n: number): Promise<void> {
    const fh = await fsp.open(path.join(this.dir, segName(n)), 'w+');
    try {
      await syncDir(this.dir);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    if (!this.#segments.includes(n)) this.#segments.push(n);
    this.#fh = fh;
    this.#active = n;
    this.#size = 0;
    this.#activeSealed = false;
  }

  /** Reads `length` bytes at `offset` of `segment`. Rejects with SPOOL_IO. */
  async read(segment: number, offset: number, length: number): Promise<Buffer> {
    if (this.#closed) throw new SpoolError('SPOOL_CLOSED', 'spool log is closed');
    const buf = Buffer.allocUnsafe(length);
    try {
      const fh = segment === this.#active && this.#fh ? this.#fh : await this.#reader(segment);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got !== length) throw new Error(`short read: ${got} of ${length} bytes`);
    } catch (e) {
      throw toSpoolIoError(e, `spool read seg ${segment}@${offset}`);
    }
    return buf;
  }

  #reader(segment: number): Promise<FileHandle> {
    let fh = this.#readers.get(segment);
    if (!fh) {
      fh = fsp.open(path.join(this.dir, segName(segment)), 'r');
      this.#readers.set(segment, fh);
      fh.catch(() => this.#readers.delete(segment));
    }
    return fh;
  }

  /**
   * Deletes sealed segments older than `segment` (never the active one),
   * oldest first, syncing the directory after each. Returns how many.
   */
  async dropBefore(segment: number): Promise<number> {
    let dropped = 0;
    while (this.#segments.length > 1 && this.#segments[0]! < segment && this.#segments[0]! !== this.#active) {
      const seg = this.#segments[0]!;
      const r = this.#readers.get(seg);
      if (r) {
        this.#readers.delete(seg);
        await r.then((fh) => fh.close()).catch(() => undefined);
      }
      await fsp.unlink(path.join(this.dir, segName(seg)));
      await syncDir(this.dir);
      this.#segments.shift();
      dropped++;
    }
    return dropped;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#readers.values()) await r.then((fh) => fh.close()).catch(() => undefined);
    this.#readers.clear();
    await this.#fh?.close().catch(() => undefined);
    this.#fh = undefined;
  }
}

/** Writes every chunk at `position`; a short write is retried so a real errno surfaces. */
async function writeAll(fh: FileHandle, chunks: readonly Uint8Array[], position: number, total: number): Promise<void> {
  let written = 0;
  let list = chunks as Uint8Array[];
  while (written < total) {
    const { bytesWritten } = await fh.writev(list, position + written);
    if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'ENOSPC' });
    written += bytesWritten;
    if (written < total) list = skipBytes(list, bytesWritten);
  }
}

function skipBytes(list: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const c of list) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}

/** fsync a directory so a create, rename or unlink in it is durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
