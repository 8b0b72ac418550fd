/**
 * @module spool/inspect
 *
 * Read-side helpers over the index and the log: envelope and reply look-ups,
 * per-queue counts for `show queues`, message listing and search, body
 * reads. They never change state.
 *
 * Costs: `queueStats` and the searches scan the index (O(live recipients) /
 * O(live messages) over typed arrays, a few ms per million); look-ups by job
 * or envelope id compare 32-bit hashes first and read only the candidates'
 * envelopes from disk.
 *
 * Exports: `readMeta`, `readReplies`, `leasedMessages`, `queueStats`,
 * `messageInfo`, `findByHash`, `listMessageIds`, `readBody`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SpoolError } from './errors.js';
import { formatMessageId, recipientId } from './ids.js';
import { NO_LOCATION, ST, STATE_NAMES, isFinal, type QueueIndex } from './queue-index.js';
import {
  HEADER_SIZE,
  MSG_PREFIX,
  RecordType,
  checkRecordAt,
  crc32,
  decodeMessagePayload,
  decodeMetaOnly,
  type MessageMeta,
  type StateChange,
} from './record.js';
import type { SegmentLog } from './segment-log.js';
import type { LeasedMessage, MessageInfo, QueueStats, RecipientInfo, RecipientState } from './types.js';

/** Reads and checks the envelope part of a live message's record. */
export async function readMeta(log: SegmentLog, index: QueueIndex, m: number): Promise<MessageMeta> {
  const buf = await log.read(index.mSeg[m]!, index.mOff[m]!, MSG_PREFIX + index.mMetaLen[m]!);
  try {
    return decodeMetaOnly(buf);
  } catch (e) {
    throw new SpoolError('CORRUPT_RECORD', `message ${formatMessageId(index.mId[m]!)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Groups leased recipient slots by message (in lease order) and reads each
 * message's envelope, in parallel. A message whose envelope cannot be read
 * is handed to `unreadable` and left out.
 */
export async function leasedMessages(
  log: SegmentLog,
  index: QueueIndex,
  slots: readonly number[],
  unreadable: (id: string, slots: readonly number[], error: unknown) => void,
  cached?: (numericId: number) => MessageMeta | undefined,
): Promise<LeasedMessage[]> {
  const byMsg = new Map<number, number[]>();
  for (const r of slots) {
    const m = index.rMsg[r]!;
    const list = byMsg.get(m);
    if (list) list.push(r);
    else byMsg.set(m, [r]);
  }
  const read = await Promise.all(
    [...byMsg].map(async ([m, rs]) => {
      const id = formatMessageId(index.mId[m]!);
      try {
        return { m, rs, id, meta: cached?.(index.mId[m]!) ?? (await readMeta(log, index, m)) };
      } catch (e) {
        unreadable(id, rs, e);
        return undefined;
      }
    }),
  );
  const out: LeasedMessage[] = [];
  for (const x of read) {
    if (!x) continue;
    const { m, rs, id, meta } = x;
    const r0 = index.mRcptStart[m]!;
    const recipients = rs.map((r) => recipientInfo(index, id, meta, r - r0, r, 'in-flight', undefined, undefined));
    out.push({ messageId: id, envelope: meta.env, size: index.mSize[m]!, recipients });
  }
  return out;
}

/** Last replies of the given recipient slots (undefined where none), reading each record once. */
export async function readReplies(log: SegmentLog, index: QueueIndex, slots: readonly number[]): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(slots.length).fill(undefined);
  const byLoc = new Map<string, number[]>();
  slots.forEach((r, i) => {
    if (index.rLastSeg[r] === NO_LOCATION) return;
    const key = `${index.rLastSeg[r]}:${index.rLastOff[r]}`;
    const list = byLoc.get(key);
    if (list) list.push(i);
    else byLoc.set(key, [i]);
  });
  for (const [key, idxs] of byLoc) {
    const [seg, off] = key.split(':').map(Number) as [number, number];
    try {
      const head = await log.read(seg, off, HEADER_SIZE);
      const len = head.readUInt32LE(8);
      const rec = checkRecordAt(Buffer.concat([head, await log.read(seg, off + HEADER_SIZE, len)]), 0);
      if (!rec) continue;
      if (rec.type === RecordType.STATE) {
        const { c } = JSON.parse(rec.payload.toString('utf8')) as { c: StateChange[] };
        for (const i of idxs) {
          const r = slots[i]!;
          const m = index.rMsg[r]!;
          const idx = r - index.mRcptStart[m]!;
          const hit = c.find((ch) => ch[0] === index.mId[m] && ch[1] === idx);
          out[i] = hit?.[5];
        }
      } else if (rec.type === RecordType.MSG) {
        const { meta } = decodeMessagePayload(rec.payload);
        for (const i of idxs) {
          const r = slots[i]!;
          out[i] = meta.st?.[r - index.mRcptStart[index.rMsg[r]!]!]?.[3] ?? undefined;
        }
      }
    } catch {
      // A reply we cannot read is shown as unknown; it is not worth failing a look-up.
    }
  }
  return out;
}

export function queueStats(index: QueueIndex, only?: string): QueueStats[] {
  const acc = new Map<number, { recipients: number; inFlight: number; messages: number; bytes: number; oldest: number | undefined }>();
  const want = only === undefined ? undefined : index.queue(only)?.id;
  if (only !== undefined && want === undefined) return [];
  const seen: number[] = [];
  for (const m of index.messageSlots()) {
    const r0 = index.mRcptStart[m]!;
    const n = index.mRcptCount[m]!;
    seen.length = 0;
    for (let r = r0; r < r0 + n; r++) {
      const st = index.rState[r]!;
      if (st !== ST.QUEUED && st !== ST.IN_FLIGHT && st !== ST.PENDING) continue;
      const q = index.rQueue[r]!;
      if (want !== undefined && q !== want) continue;
      let a = acc.get(q);
      if (!a) acc.set(q, (a = { recipients: 0, inFlight: 0, messages: 0, bytes: 0, oldest: undefined }));
      a.recipients++;
      if (st === ST.IN_FLIGHT) a.inFlight++;
      if (!seen.includes(q)) {
        seen.push(q);
        a.messages++;
        a.bytes += index.mSize[m]!;
        const t = index.mArrived[m]!;
        if (a.oldest === undefined || t < a.oldest) a.oldest = t;
      }
    }
  }
  const out: QueueStats[] = [];
  for (const q of index.queues) {
    if (want !== undefined && q.id !== want) continue;
    const a = acc.get(q.id);
    if (!a && !q.paused && want === undefined) continue;
    out.push({
      queue: q.name,
      domain: q.domain,
      vmta: q.vmta,
      paused: q.paused,
      recipients: a?.recipients ?? 0,
      inFlight: a?.inFlight ?? 0,
      messages: a?.messages ?? 0,
      bytes: a?.bytes ?? 0,
      oldest: a?.oldest,
    });
  }
  return out.sort((x, y) => (x.queue < y.queue ? -1 : x.queue > y.queue ? 1 : 0));
}

export async function messageInfo(log: SegmentLog, index: QueueIndex, m: number): Promise<MessageInfo> {
  const meta = await readMeta(log, index, m);
  const id = formatMessageId(index.mId[m]!);
  const r0 = index.mRcptStart[m]!;
  const slots = meta.env.recipients.map((_, i) => r0 + i);
  const replies = await readReplies(log, index, slots);
  const recipients = meta.env.recipients.map((_, i) => {
    const r = r0 + i;
    const code = index.rState[r]!;
    const state: RecipientState = code === ST.PENDING ? 'in-flight' : STATE_NAMES[code]!;
    return recipientInfo(index, id, meta, i, r, state, code === ST.QUEUED ? index.rDue[r] : undefined, replies[i]);
  });
  return { id, envelope: meta.env, size: index.mSize[m]!, recipients };
}

/** One recipient as the API and CLI show it: slot `r`, the message's `i`-th recipient. */
function recipientInfo(
  index: QueueIndex,
  id: string,
  meta: MessageMeta,
  i: number,
  r: number,
  state: RecipientState,
  nextAttemptAt: number | undefined,
  lastReply: string | undefined,
): RecipientInfo {
  const rc = meta.env.recipients[i]!;
  return {
    id: recipientId(id, i),
    index: i,
    address: rc.address,
    ...(rc.notify ? { notify: rc.notify } : {}),
    ...(rc.orcpt !== undefined ? { orcpt: rc.orcpt } : {}),
    queue: index.queues[index.rQueue[r]!]!.name,
    state,
    attempts: index.rAttempts[r]!,
    nextAttemptAt,
    lastReply,
  };
}

/** Live message slots whose hash in `hashes` equals `fnv1a(value)` and whose envelope confirms it. */
export async function findByHash(
  log: SegmentLog,
  index: QueueIndex,
  hashes: Int32Array,
  hash: number,
  confirm: (meta: MessageMeta) => boolean,
): Promise<string[]> {
  const h = hash | 0;
  const out: string[] = [];
  for (const m of index.messageSlots()) {
    if (hashes[m] !== h) continue;
    try {
      if (confirm(await readMeta(log, index, m))) out.push(formatMessageId(index.mId[m]!));
    } catch {
      // Damaged envelope: cannot confirm, so not listed.
    }
  }
  return out.sort();
}

export function listMessageIds(index: QueueIndex, opts: { queue?: string; after?: string; limit?: number }): string[] {
  const q = opts.queue === undefined ? undefined : index.queue(opts.queue)?.id;
  if (opts.queue !== undefined && q === undefined) return [];
  const ids: number[] = [];
  for (const m of index.messageSlots()) {
    if (q !== undefined) {
      const r0 = index.mRcptStart[m]!;
      let hit = false;
      for (let r = r0; r < r0 + index.mRcptCount[m]! && !hit; r++) {
        hit = index.rQueue[r] === q && !isFinal(index.rState[r]!);
      }
      if (!hit) continue;
    }
    ids.push(index.mId[m]!);
  }
  ids.sort((a, b) => a - b);
  let out = ids.map(formatMessageId);
  if (opts.after !== undefined) out = out.filter((id) => id > opts.after!);
  return opts.limit !== undefined ? out.slice(0, opts.limit) : out;
}

/** Reads a live message's body, checking its checksum. */
export async function readBody(log: SegmentLog, index: QueueIndex, m: number, bodiesDir: string): Promise<Buffer> {
  const id = formatMessageId(index.mId[m]!);
  const buf = await log.read(index.mSeg[m]!, index.mOff[m]!, index.mRecLen[m]!);
  const rec = checkRecordAt(buf, 0);
  if (!rec || rec.type !== RecordType.MSG) throw new SpoolError('CORRUPT_RECORD', `message ${id}: record checksum mismatch`);
  const { meta, body } = decodeMessagePayload(rec.payload);
  if (meta.ext === undefined) return body;
  let data: Buffer;
  try {
    data = await fsp.readFile(path.join(bodiesDir, id));
  } catch (e) {
    throw new SpoolError('SPOOL_IO', `message ${id}: body file unreadable`, { cause: e });
  }
  if (data.length !== meta.size || crc32(data) !== meta.ext) {
    throw new SpoolError('CORRUPT_RECORD', `message ${id}: body file checksum mismatch`);
  }
  return data;
}
