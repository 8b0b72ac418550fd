/**
 * @module spool/queue-index
 *
 * `QueueIndex`: the in-memory index of live (unfinished) messages and their
 * recipients, and the per-queue ready heaps. Pure data structure: no I/O, no
 * clock. The spool keeps it equal to what the log says.
 *
 * Memory: ids, times and small integers only, in growable typed arrays
 * (struct of arrays); no per-recipient object, no address string. Addresses
 * and bodies stay on disk and are read back when a batch is leased.
 *
 * Invariants:
 * - A recipient is in exactly one state: QUEUED, IN_FLIGHT, one of the four
 *   final states, or PENDING (a change is being committed; nothing else may
 *   touch it until the commit settles).
 * - Every QUEUED recipient has an entry (due, slot) in its queue's heap;
 *   heap entries that do not match (state ≠ QUEUED, other due or queue) are
 *   stale and skipped when popped.
 * - `mLive[m]` counts the message's recipients not in a final state; a
 *   message whose count reaches 0 leaves the index (its slot is reused).
 * - `queue.count` counts the queue's recipients not in a final state, and
 *   `queue.inFlight` those IN_FLIGHT.
 *
 * Exports: `QueueIndex`, `QueueRec`, `ST`, `STATE_NAMES`, `isFinal`,
 * `fnv1a`.
 */
import { DueHeap } from './due-heap.js';
import { DEFAULT_VMTA, type RecipientState } from './types.js';

/** State codes, as stored in `rState` and in STATE records. */
export const ST = { QUEUED: 0, IN_FLIGHT: 1, DELIVERED: 2, BOUNCED: 3, EXPIRED: 4, DELETED: 5, PENDING: 6 } as const;
export const STATE_NAMES: readonly RecipientState[] = ['queued', 'in-flight', 'delivered', 'bounced', 'expired', 'deleted'];
export const isFinal = (code: number): boolean => code >= ST.DELIVERED && code <= ST.DELETED;

const NONE = 0xffffffff;

/** 32-bit FNV-1a of a string, never 0 (0 means "no value"). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h;
}

export interface QueueRec {
  readonly id: number;
  readonly name: string;
  readonly domain: string;
  readonly vmta: string;
  paused: boolean;
  count: number;
  inFlight: number;
  readonly heap: DueHeap;
}

function grow<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

export interface NewMessage {
  readonly id: number;
  readonly segment: number;
  readonly offset: number;
  readonly recLen: number;
  readonly metaLen: number;
  readonly size: number;
  readonly arrivedAt: number;
  readonly external: boolean;
  readonly jobHash: number;
  readonly envHash: number;
  /** Queue id of each recipient, in envelope order. */
  readonly queues: readonly number[];
}

export class QueueIndex {
  // Messages (slot m).
  mId = new Float64Array(1024);
  mSeg = new Uint32Array(1024);
  mOff = new Uint32Array(1024);
  mRecLen = new Uint32Array(1024);
  mMetaLen = new Uint32Array(1024);
  mSize = new Float64Array(1024);
  mArrived = new Float64Array(1024);
  mRcptStart = new Uint32Array(1024);
  mRcptCount = new Uint32Array(1024);
  mLive = new Uint32Array(1024);
  mJobHash = new Int32Array(1024);
  mEnvHash = new Int32Array(1024);
  /** bit 0: in use; bit 1: external body. */
  mFlags = new Uint8Array(1024);
  #mTop = 0;
  #mFree: number[] = [];
  readonly #byId = new Map<number, number>();

  // Recipients (slot r).
  rMsg = new Uint32Array(1024);
  rQueue = new Uint32Array(1024);
  rState = new Uint8Array(1024);
  rAttempts = new Uint16Array(1024);
  rDue = new Float64Array(1024);
  /** Where the recipient's last reply is: a STATE record or a relocated MSG record. */
  rLastSeg = new Uint32Array(1024).fill(NONE);
  rLastOff = new Uint32Array(1024);
  #rTop = 0;
  readonly #rFree = new Map<number, number[]>();

  readonly queues: QueueRec[] = [];
  readonly #queueByName = new Map<string, QueueRec>();
  /** Live messages whose MSG record is in each segment, and their record bytes. */
  readonly segRefs = new Map<number, { count: number; bytes: number }>();

  get messageCount(): number {
    return this.#byId.size;
  }

  slotOf(id: number): number | undefined {
    return this.#byId.get(id);
  }

  /** Slots of all live messages (unordered). */
  messageSlots(): IterableIterator<number> {
    return this.#byId.values();
  }

  queue(name: string): QueueRec | undefined {
    return this.#queueByName.get(name);
  }

  /** Gets or creates the queue `domain/vmta`. */
  queueFor(domain: string, vmta: string | undefined): QueueRec {
    const v = vmta && vmta.length > 0 ? vmta : DEFAULT_VMTA;
    const name = `${domain}/${v}`;
    let q = this.#queueByName.get(name);
    if (!q) {
      q = { id: this.queues.length, name, domain, vmta: v, paused: false, count: 0, inFlight: 0, heap: new DueHeap(4) };
      this.queues.push(q);
      this.#queueByName.set(name, q);
    }
    return q;
  }

  /** Adds a message with every recipient QUEUED and due at `dueAt`; returns its slot. */
  addMessage(msg: NewMessage): number {
    const m = this.#allocMessage();
    const n = msg.queues.length;
    const r0 = this.#allocRecipients(n);
    this.mId[m] = msg.id;
    this.mSeg[m] = msg.segment;
    this.mOff[m] = msg.offset;
    this.mRecLen[m] = msg.recLen;
    this.mMetaLen[m] = msg.metaLen;
    this.mSize[m] = msg.size;
    this.mArrived[m] = msg.arrivedAt;
    this.mRcptStart[m] = r0;
    this.mRcptCount[m] = n;
    this.mLive[m] = n;
    this.mJobHash[m] = msg.jobHash | 0;
    this.mEnvHash[m] = msg.envHash | 0;
    this.mFlags[m] = 1 | (msg.external ? 2 : 0);
    for (let i = 0; i < n; i++) {
      const r = r0 + i;
      this.rMsg[r] = m;
      this.rQueue[r] = msg.queues[i]!;
      this.rState[r] = ST.QUEUED;
      this.rAttempts[r] = 0;
      this.rDue[r] = msg.arrivedAt;
      this.rLastSeg[r] = NONE;
      this.rLastOff[r] = 0;
    }
    this.#byId.set(msg.id, m);
    this.#ref(msg.segment, msg.recLen);
    return m;
  }

  /** Points a live message at a new copy of its record (after relocation). */
  moveMessage(m: number, segment: number, offset: number, recLen: number, metaLen: number): void {
    this.#unref(this.mSeg[m]!, this.mRecLen[m]!);
    this.mSeg[m] = segment;
    this.mOff[m] = offset;
    this.mRecLen[m] = recLen;
    this.mMetaLen[m] = metaLen;
    this.#ref(segment, recLen);
  }

  /** Removes a message (all recipients final); its slots are reused. */
  removeMessage(m: number): void {
    this.#unref(this.mSeg[m]!, this.mRecLen[m]!);
    this.#byId.delete(this.mId[m]!);
    this.mFlags[m] = 0;
    const n = this.mRcptCount[m]!;
    const r0 = this.mRcptStart[m]!;
    for (let i = 0; i < n; i++) this.rState[r0 + i] = ST.DELETED;
    let list = this.#rFree.get(n);
    if (!list) this.#rFree.set(n, (list = []));
    list.push(r0);
    this.#mFree.push(m);
  }

  /** Queues a recipient (state QUEUED, due `due`) and adds its heap entry. */
  enqueue(r: number, due: number): void {
    this.rState[r] = ST.QUEUED;
    this.rDue[r] = due;
    this.queues[this.rQueue[r]!]!.heap.push(due, r);
  }

  /**
   * Pops up to `max` QUEUED recipients due at or before `now` from the queue,
   * marks them IN_FLIGHT and returns their slots (oldest due first).
   */
  lease(q: QueueRec, max: number, now: number): number[] {
    const out: number[] = [];
    const heap = q.heap;
    while (out.length < max && heap.size > 0 && heap.peekDue() <= now) {
      const r = heap.peekSlot();
      const due = heap.peekDue();
      heap.pop();
      if (this.rState[r] !== ST.QUEUED || this.rDue[r] !== due || this.rQueue[r] !== q.id || !this.#live(r)) continue;
      this.rState[r] = ST.IN_FLIGHT;
      q.inFlight++;
      out.push(r);
    }
    return out;
  }

  /** Earliest due time of a QUEUED recipient in the queue (drops stale tops). */
  nextDue(q: QueueRec): number | undefined {
    const heap = q.heap;
    while (heap.size > 0) {
      const r = heap.peekSlot();
      const due = heap.peekDue();
      if (this.rState[r] === ST.QUEUED && this.rDue[r] === due && this.rQueue[r] === q.id && this.#live(r)) return due;
      heap.pop();
    }
    return undefined;
  }

  #live(r: number): boolean {
    const m = this.rMsg[r]!;
    return (this.mFlags[m]! & 1) === 1 && r - this.mRcptStart[m]! < this.mRcptCount[m]!;
  }

  /** Slots of the queue's QUEUED recipients (valid heap entries). */
  queuedIn(q: QueueRec): number[] {
    const out: number[] = [];
    q.heap.forEach((due, r) => {
      if (this.rState[r] === ST.QUEUED && this.rDue[r] === due && this.rQueue[r] === q.id && this.#live(r)) out.push(r);
    });
    return out;
  }

  /** Drops stale heap entries when they outnumber live ones. */
  tidy(q: QueueRec): void {
    if (q.heap.size > 64 && q.heap.size > 2 * (q.count - q.inFlight) + 16) {
      q.heap.compact((due, r) => this.rState[r] === ST.QUEUED && this.rDue[r] === due && this.rQueue[r] === q.id && this.#live(r));
    }
  }

  /** Bytes held by the index's arrays and heaps (excluding the id Map). */
  get arrayBytes(): number {
    let b = 0;
    for (const a of [
      this.mId, this.mSeg, this.mOff, this.mRecLen, this.mMetaLen, this.mSize, this.mArrived, this.mRcptStart,
      this.mRcptCount, this.mLive, this.mJobHash, this.mEnvHash, this.mFlags,
      this.rMsg, this.rQueue, this.rState, this.rAttempts, this.rDue, this.rLastSeg, this.rLastOff,
    ]) b += a.byteLength;
    for (const q of this.queues) b += q.heap.bytes;
    return b;
  }

  #ref(seg: number, bytes: number): void {
    const e = this.segRefs.get(seg);
    if (e) {
      e.count++;
      e.bytes += bytes;
    } else this.segRefs.set(seg, { count: 1, bytes });
  }

  #unref(seg: number, bytes: number): void {
    const e = this.segRefs.get(seg);
    if (!e) return;
    e.count--;
    e.bytes -= bytes;
    if (e.count <= 0) this.segRefs.delete(seg);
  }

  #allocMessage(): number {
    const free = this.#mFree.pop();
    if (free !== undefined) return free;
    const m = this.#mTop++;
    if (m >= this.mId.length) {
      const cap = this.mId.length * 2;
      this.mId = grow(this.mId, cap);
      this.mSeg = grow(this.mSeg, cap);
      this.mOff = grow(this.mOff, cap);
      this.mRecLen = grow(this.mRecLen, cap);
      this.mMetaLen = grow(this.mMetaLen, cap);
      this.mSize = grow(this.mSize, cap);
      this.mArrived = grow(this.mArrived, cap);
      this.mRcptStart = grow(this.mRcptStart, cap);
      this.mRcptCount = grow(this.mRcptCount, cap);
      this.mLive = grow(this.mLive, cap);
      this.mJobHash = grow(this.mJobHash, cap);
      this.mEnvHash = grow(this.mEnvHash, cap);
      this.mFlags = grow(this.mFlags, cap);
    }
    return m;
  }

  #allocRecipients(n: number): number {
    const list = this.#rFree.get(n);
    const free = list?.pop();
    if (free !== undefined) return free;
    const r0 = this.#rTop;
    this.#rTop += n;
    if (this.#rTop > this.rMsg.length) {
      let cap = this.rMsg.length * 2;
      while (cap < this.#rTop) cap *= 2;
      this.rMsg = grow(this.rMsg, cap);
      this.rQueue = grow(this.rQueue, cap);
      this.rState = grow(this.rState, cap);
      this.rAttempts = grow(this.rAttempts, cap);
      this.rDue = grow(this.rDue, cap);
      const ls = new Uint32Array(cap).fill(NONE);
      ls.set(this.rLastSeg);
      this.rLastSeg = ls;
      this.rLastOff = grow(this.rLastOff, cap);
    }
    return r0;
  }
}

export { NONE as NO_LOCATION };
