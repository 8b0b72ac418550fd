/**
 * @module spool/commit-path
 *
 * `CommitPath`: the only way bytes reach the log. It owns the group
 * committer and the old-end maintenance of the log (dropping dead segments,
 * relocating the survivors of nearly-dead ones).
 *
 * Invariants:
 * - `commit(records)` resolves only after the records are durable: one
 *   commit = fsync of `bodies/` (when a record refers to a body file) →
 *   one positional writev of every waiting record → one fdatasync.
 * - Segment deletion runs inside the committer, so it never interleaves with
 *   an append or a rotation; only segments older than every live message's
 *   record are deleted (QueueIndex.segRefs).
 * - At most one relocation runs at a time; after `close()` none starts.
 *
 * Exports: `CommitPath`, `CommitResult`.
 */
import { relocateSegment } from './compactor.js';
import type { FreeSpaceMonitor } from './disk-space.js';
import { toSpoolIoError } from './errors.js';
import { GroupCommitter, type GroupCommitStats } from './group-commit.js';
import type { QueueIndex } from './queue-index.js';
import type { EncodedRecord } from './record.js';
import { syncDir, type SegmentLog } from './segment-log.js';
import type { SpoolLogger } from './types.js';

interface CommitItem {
  readonly records: readonly EncodedRecord[];
  readonly syncBodies: boolean;
  readonly drop?: boolean;
}

export interface CommitResult {
  readonly segment: number;
  readonly offsets: readonly number[];
}

export class CommitPath {
  readonly #log: SegmentLog;
  readonly #index: QueueIndex;
  readonly #space: FreeSpaceMonitor;
  readonly #bodiesDir: string;
  readonly #segmentSize: number;
  readonly #logger: SpoolLogger;
  readonly #committer: GroupCommitter<CommitItem, CommitResult>;
  #closed = false;
  #dropQueued = false;
  #relocating: Promise<void> | undefined;

  constructor(log: SegmentLog, index: QueueIndex, space: FreeSpaceMonitor, bodiesDir: string, segmentSize: number, logger: SpoolLogger) {
    this.#log = log;
    this.#index = index;
    this.#space = space;
    this.#bodiesDir = bodiesDir;
    this.#segmentSize = segmentSize;
    this.#logger = logger;
    this.#committer = new GroupCommitter((items) => this.#flush(items));
  }

  get stats(): GroupCommitStats {
    return { ...this.#committer.stats };
  }

  /** Durably appends the records (sharing the commit with concurrent callers). */
  commit(records: readonly EncodedRecord[], syncBodies = false): Promise<CommitResult> {
    let bytes = 0;
    for (const r of records) bytes += r.length;
    return this.#committer.submit({ records, syncBodies }, bytes);
  }

  /** Call when a message whose record is in `segment` finished. */
  finished(segment: number): void {
    if (segment === this.#log.segments[0]) this.#maintain();
  }

  /** Stops maintenance and waits for every pending commit. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#relocating;
    await this.#committer.whenIdle();
  }

  async #flush(items: readonly CommitItem[]): Promise<CommitResult[]> {
    if (items.some((i) => i.syncBodies)) {
      try {
        await syncDir(this.#bodiesDir);
      } catch (e) {
        throw toSpoolIoError(e, 'spool sync bodies/');
      }
    }
    const records = items.flatMap((i) => i.records);
    let segment = this.#log.activeSegment;
    let offsets: number[] = [];
    if (records.length > 0) {
      try {
        ({ segment, offsets } = await this.#log.append(records));
      } catch (e) {
        void this.#space.refresh();
        throw e;
      }
      this.#space.noteWritten(records.reduce((a, r) => a + r.length, 0));
    }
    if (items.some((i) => i.drop)) {
      this.#dropQueued = false;
      try {
        await this.#log.dropBefore(Math.min(this.#log.activeSegment, ...this.#index.segRefs.keys()));
      } catch (e) {
        this.#logger.warn('spool: could not delete an old segment', { error: String(e) });
      }
    }
    let k = 0;
    return items.map((i) => ({ segment, offsets: i.records.map(() => offsets[k++]!) }));
  }

  /**
   * Reclaims space at the old end of the log: drops the oldest segment when
   * no live message is in it, else relocates its survivors when few are
   * left. Each completed drop or relocation calls this again, so the chain
   * goes on until the oldest segment is the active one or mostly alive.
   */
  #maintain(): void {
    const segs = this.#log.segments;
    if (this.#closed || this.#dropQueued || segs.length < 2) return;
    if (this.#index.segRefs.has(segs[0]!)) {
      this.#maybeRelocate();
      return;
    }
    this.#dropQueued = true;
    this.#committer
      .submit({ records: [], syncBodies: false, drop: true })
      .then(() => setImmediate(() => this.#maintain()))
      .catch(() => undefined);
  }

  /** Copies the last live messages out of a mostly-dead oldest segment. */
  #maybeRelocate(): void {
    const segs = this.#log.segments;
    if (this.#relocating || this.#closed || segs.length < 2) return;
    const oldest = segs[0]!;
    const ref = this.#index.segRefs.get(oldest);
    if (oldest === this.#log.activeSegment || !ref || ref.bytes > this.#segmentSize / 4) return;
    this.#relocating = relocateSegment({ log: this.#log, index: this.#index, submit: (rec) => this.commit([rec]) }, oldest)
      .then(
        () => undefined,
        (e: unknown) => {
          if (!this.#closed) this.#logger.warn('spool: relocation failed; will retry', { segment: oldest, error: String(e) });
        },
      )
      .finally(() => {
        this.#relocating = undefined;
        if (!this.#index.segRefs.has(oldest)) this.#maintain();
      });
  }
}
