/**
 * @module spool/compactor
 *
 * `relocateSegment`: copies the live messages of an old segment to the head
 * of the log so the old segment can be deleted. Without it one long-deferred
 * message would pin every segment written after it.
 *
 * Each copy is a MSG record with a snapshot (`st`) of every recipient's
 * state, attempts, due time and last reply, committed through the group
 * commit like any write. Recovery takes the latest copy in log order and
 * applies later STATE records on top, so the copy is correct as long as it
 * reflects every change committed before it — which holds because it is
 * built synchronously, right before submission, from the in-memory state,
 * and is skipped for messages with a change still being committed
 * (PENDING). In-flight recipients are copied as queued: in flight is never
 * persisted.
 *
 * The spool calls this when the oldest sealed segment holds at most a
 * quarter of a segment of live records, bounding write amplification.
 *
 * Exports: `relocateSegment`, `RelocationHost`.
 */
import { formatMessageId } from './ids.js';
import { readReplies } from './inspect.js';
import { ST, type QueueIndex } from './queue-index.js';
import { RecordType, checkRecordAt, decodeMessagePayload, encodeMessageRecord, type EncodedRecord, type RecipientSnapshot } from './record.js';
import type { SegmentLog } from './segment-log.js';

export interface RelocationHost {
  readonly log: SegmentLog;
  readonly index: QueueIndex;
  /** Commits one record durably; resolves to where it went. */
  submit(rec: EncodedRecord): Promise<{ segment: number; offsets: readonly number[] }>;
}

/** Relocates the live messages whose record is in `segment`; returns how many moved. */
export async function relocateSegment(host: RelocationHost, segment: number): Promise<number> {
  const { index, log } = host;
  const slots: number[] = [];
  for (const m of index.messageSlots()) if (index.mSeg[m] === segment) slots.push(m);
  let moved = 0;
  for (const m of slots) {
    const id = index.mId[m]!;
    const off = index.mOff[m]!;
    if (index.slotOf(id) !== m || index.mSeg[m] !== segment) continue;
    const buf = await log.read(segment, off, index.mRecLen[m]!);
    const rec = checkRecordAt(buf, 0);
    if (!rec || rec.type !== RecordType.MSG) throw new Error(`message ${formatMessageId(id)}: record damaged, not relocated`);
    const { meta, body } = decodeMessagePayload(rec.payload);
    const r0 = index.mRcptStart[m]!;
    const n = index.mRcptCount[m]!;
    const slotsR = Array.from({ length: n }, (_, i) => r0 + i);
    const replies = await readReplies(log, index, slotsR);
    // From here on, synchronous until submit: the snapshot must be current.
    if (index.slotOf(id) !== m || index.mSeg[m] !== segment || index.mOff[m] !== off) continue;
    let pending = false;
    const st: RecipientSnapshot[] = slotsR.map((r, i) => {
      let code = index.rState[r]!;
      if (code === ST.PENDING) pending = true;
      if (code === ST.IN_FLIGHT) code = ST.QUEUED;
      return [code, index.rAttempts[r]!, index.rDue[r]!, replies[i] ?? null];
    });
    if (pending) continue;
    const copy = encodeMessageRecord({ id: meta.id, env: meta.env, size: meta.size, ...(meta.ext !== undefined ? { ext: meta.ext } : {}), st }, meta.ext !== undefined ? [] : [body]);
    const res = await host.submit(copy);
    if (index.slotOf(id) !== m) continue; // finished meanwhile; the copy is harmless
    index.moveMessage(m, res.segment, res.offsets[0]!, copy.length, copy.chunks[2]!.length);
    slotsR.forEach((r, i) => {
      if (replies[i] !== undefined) {
        index.rLastSeg[r] = res.segment;
        index.rLastOff[r] = res.offsets[0]!;
      }
    });
    moved++;
  }
  return moved;
}
