/**
 * @module spool/recovery
 *
 * `recoverIndex`: rebuilds the in-memory index from the segment log at start.
 *
 * Rules:
 * - Records are applied in log order. A MSG record adds the message with all
 *   recipients queued (due at arrival), or — for a relocated copy — replaces
 *   the earlier copy's location and states with its snapshot. A STATE record
 *   sets the states it lists; changes for unknown messages (finished, their
 *   segment already deleted) are ignored.
 * - In-flight is never written to the log, so whatever was in flight at the
 *   crash comes back queued (delivery is at-least-once).
 * - A record that passes its checksum but cannot be decoded is quarantined
 *   by the log like any damaged record (see spool/segment-log).
 * - A live message whose external body file is missing or has the wrong
 *   size is logged as an error, its record copied to `corrupt/`, and it is
 *   left out of the queues; body files no live message references, and
 *   everything in `tmp/`, are removed (they belong to unacknowledged writes).
 *
 * Exports: `recoverIndex`, `RecoveryReport`, `domainOf`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatMessageId, type MessageIdGenerator } from './ids.js';
import { fnv1a, isFinal, ST, type QueueIndex } from './queue-index.js';
import { RecordType, decodeMessagePayload, type StateChange } from './record.js';
import type { SegmentLog } from './segment-log.js';
import type { SpoolLogger } from './types.js';

export interface RecoveryReport {
  readonly messages: number;
  readonly recipients: number;
  readonly segments: number;
  readonly records: number;
  readonly bytesRead: number;
  readonly tornBytes: number;
  readonly corruptRegions: number;
  readonly missingBodies: number;
  readonly ms: number;
}

/** Lower-cased domain of an address (the whole address if it has no `@`). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(at + 1) : address).toLowerCase();
}

export async function recoverIndex(
  log: SegmentLog,
  index: QueueIndex,
  ids: MessageIdGenerator,
  dirs: { bodies: string; tmp: string; corrupt: string },
  logger: SpoolLogger,
  nowMs: () => number,
): Promise<RecoveryReport> {
  const t0 = performance.now();
  const report = await log.replay((rec, seg) => {
    try {
      if (rec.type === RecordType.MSG) applyMessage(index, ids, rec.payload, seg, rec.offset, rec.length);
      else if (rec.type === RecordType.STATE) applyStates(index, rec.payload, seg, rec.offset);
      return true;
    } catch (e) {
      logger.error('spool: undecodable record', { segment: seg, offset: rec.offset, error: String(e) });
      return false;
    }
  });

  // External bodies: every live one must be there; the rest are leftovers.
  const files = new Set(await fsp.readdir(dirs.bodies).catch(() => [] as string[]));
  let missingBodies = 0;
  for (const m of [...index.messageSlots()]) {
    if ((index.mFlags[m]! & 2) === 0) continue;
    const id = formatMessageId(index.mId[m]!);
    const st = files.delete(id) ? await fsp.stat(path.join(dirs.bodies, id)).catch(() => undefined) : undefined;
    if (st && st.size === index.mSize[m]) continue;
    missingBodies++;
    logger.error('spool: body file of a queued message is missing or truncated; message moved to corrupt/', { id });
    try {
      const rec = await log.read(index.mSeg[m]!, index.mOff[m]!, index.mRecLen[m]!);
      await fsp.writeFile(path.join(dirs.corrupt, `${id}.msg`), rec);
    } catch (e) {
      logger.error('spool: could not copy record to corrupt/', { id, error: String(e) });
    }
    index.removeMessage(m);
  }
  for (const f of files) await fsp.unlink(path.join(dirs.bodies, f)).catch(() => undefined);
  for (const f of await fsp.readdir(dirs.tmp).catch(() => [] as string[])) {
    await fsp.unlink(path.join(dirs.tmp, f)).catch(() => undefined);
  }

  // Derive heaps and counters from the recovered states.
  const now = nowMs();
  let recipients = 0;
  for (const m of index.messageSlots()) {
    const r0 = index.mRcptStart[m]!;
    const n = index.mRcptCount[m]!;
    for (let r = r0; r < r0 + n; r++) {
      const st = index.rState[r]!;
      if (isFinal(st)) continue;
      recipients++;
      const q = index.queues[index.rQueue[r]!]!;
      q.count++;
      // In flight (never persisted) or pending cannot occur here, but if
      // they did, the recipient is simply queued again.
      index.enqueue(r, st === ST.QUEUED ? index.rDue[r]! : now);
    }
  }
  const minLive = Math.min(log.activeSegment, ...index.segRefs.keys());
  await log.dropBefore(minLive);
  return {
    messages: index.messageCount,
    recipients,
    segments: report.segments,
    records: report.records,
    bytesRead: report.bytes,
    tornBytes: report.tornBytes,
    corruptRegions: report.corruptRegions,
    missingBodies,
    ms: performance.now() - t0,
  };
}

function applyMessage(index: QueueIndex, ids: MessageIdGenerator, payload: Buffer, seg: number, off: number, len: number): void {
  const { meta } = decodeMessagePayload(payload);
  const env = meta.env;
  if (typeof meta.id !== 'number' || !Array.isArray(env?.recipients)) throw new Error('malformed message meta');
  const metaLen = payload.readUInt32LE(0);
  ids.observe(meta.id);
  let m = index.slotOf(meta.id);
  if (m === undefined) {
    const queues = env.recipients.map((r) => index.queueFor(r.queue ?? domainOf(r.address), env.vmta).id);
    const envid = env.envelopeId ?? env.mailParams?.envid;
    m = index.addMessage({
      id: meta.id,
      segment: seg,
      offset: off,
      recLen: len,
      metaLen,
      size: meta.size,
      arrivedAt: env.arrivedAt,
      external: meta.ext !== undefined,
      jobHash: env.jobId !== undefined ? fnv1a(env.jobId) : 0,
      envHash: envid !== undefined ? fnv1a(envid) : 0,
      queues,
    });
  } else {
    index.moveMessage(m, seg, off, len, metaLen);
  }
  if (meta.st) {
    const r0 = index.mRcptStart[m]!;
    let live = 0;
    meta.st.forEach(([state, attempts, due, reply], i) => {
      const r = r0 + i;
      index.rState[r] = state;
      index.rAttempts[r] = attempts;
      index.rDue[r] = due;
      if (reply !== null) {
        index.rLastSeg[r] = seg;
        index.rLastOff[r] = off;
      }
      if (!isFinal(state)) live++;
    });
    index.mLive[m] = live;
    if (live === 0) index.removeMessage(m);
  }
}

function applyStates(index: QueueIndex, payload: Buffer, seg: number, off: number): void {
  const { c } = JSON.parse(payload.toString('utf8')) as { c: StateChange[] };
  for (const [id, idx, state, attempts, due, reply] of c) {
    const m = index.slotOf(id);
    if (m === undefined || idx < 0 || idx >= index.mRcptCount[m]!) continue;
    const r = index.mRcptStart[m]! + idx;
    const prev = index.rState[r]!;
    if (isFinal(prev)) continue;
    index.rState[r] = state;
    index.rAttempts[r] = attempts;
    index.rDue[r] = due;
    if (typeof reply === 'string') {
      index.rLastSeg[r] = seg;
      index.rLastOff[r] = off;
    }
    if (isFinal(state) && --index.mLive[m]! === 0) index.removeMessage(m);
  }
}
