/**
 * @module spool/record
 *
 * The on-disk record format of the segment log (see docs/spool.md).
 *
 *   offset 0  u32 BE  magic 0x50545231 ("PTR1")
 *          4  u8      type (1 MSG, 2 STATE, 3 SEAL)
 *          5  u8×3    zero
 *          8  u32 LE  payload length
 *         12  u32 LE  CRC-32 of bytes 0..11 followed by the payload
 *         16  payload
 *
 * The length plus the CRC are the record's end marker: a record is whole if
 * and only if its CRC matches, so a torn write is always detectable.
 *
 * MSG payload:   u32 LE metaLen, u32 LE CRC-32(meta), meta (JSON), body bytes
 *                (the meta CRC lets the envelope be read without the body).
 * STATE payload: JSON `{ "c": [[msgId, index, state, attempts, due, reply?], …] }`.
 * SEAL payload:  f64 LE — the offset where valid data of the segment ends.
 *
 * Exports: `RecordType`, `HEADER_SIZE`, `MSG_PREFIX`, `SEAL_RECORD_SIZE`,
 * `encodeRecord`, `encodeMessageRecord`, `encodeSealRecord`, `checkRecordAt`,
 * `findNextRecord`, `crc32`, `EncodedRecord`, `MessageMeta`, `StateChange`,
 * `decodeMessagePayload`, `decodeMetaOnly`.
 */
import { crc32 as zcrc32 } from 'node:zlib';
import type { StoredEnvelope } from './types.js';

export const MAGIC = 0x50545231;
const MAGIC_BYTES = Buffer.from([0x50, 0x54, 0x52, 0x31]);
export const HEADER_SIZE = 16;
/** Bytes between the record start and the meta JSON of a MSG record. */
export const MSG_PREFIX = HEADER_SIZE + 8;
export const SEAL_RECORD_SIZE = HEADER_SIZE + 8;
/** Upper bound on one record, to reject absurd lengths while scanning. */
export const MAX_RECORD = 1 << 30;

export const RecordType = { MSG: 1, STATE: 2, SEAL: 3 } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function crc32(data: Uint8Array, initial = 0): number {
  return zcrc32(data, initial);
}

/** A record ready for `writev`: chunk 0 is the header. */
export interface EncodedRecord {
  readonly chunks: readonly Uint8Array[];
  readonly length: number;
}

/** Snapshot of one recipient's state: [state code, attempts, due ms, last reply | null]. */
export type RecipientSnapshot = [number, number, number, string | null];

export interface MessageMeta {
  /** Numeric message id. */
  readonly id: number;
  readonly env: StoredEnvelope;
  /** Body length in bytes. */
  readonly size: number;
  /** Present when the body lives in `bodies/<id>` instead of the record: its CRC-32. */
  readonly ext?: number;
  /** Present on relocated (compacted) copies: every recipient's state. */
  readonly st?: RecipientSnapshot[];
}

/** One recipient's new state: [msgId, index, state code, attempts, due ms, reply?]. */
export type StateChange = [number, number, number, number, number, string?];

export function encodeRecord(type: RecordType, payload: readonly Uint8Array[]): EncodedRecord {
  let len = 0;
  for (const p of payload) len += p.length;
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(MAGIC, 0);
  header[4] = type;
  header[5] = 0;
  header[6] = 0;
  header[7] = 0;
  header.writeUInt32LE(len, 8);
  let c = crc32(header.subarray(0, 12));
  for (const p of payload) c = crc32(p, c);
  header.writeUInt32LE(c, 12);
  return { chunks: [header, ...payload], length: HEADER_SIZE + len };
}

export function encodeMessageRecord(meta: MessageMeta, body: readonly Uint8Array[]): EncodedRecord {
  const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8');
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32LE(metaBuf.length, 0);
  prefix.writeUInt32LE(crc32(metaBuf), 4);
  return encodeRecord(RecordType.MSG, [prefix, metaBuf, ...body]);
}

export function encodeStateRecord(changes: readonly StateChange[]): EncodedRecord {
  return encodeRecord(RecordType.STATE, [Buffer.from(JSON.stringify({ c: changes }), 'utf8')]);
}

export function encodeSealRecord(end: number): EncodedRecord {
  const p = Buffer.allocUnsafe(8);
  p.writeDoubleLE(end, 0);
  return encodeRecord(RecordType.SEAL, [p]);
}

export interface RecordAt {
  readonly type: RecordType;
  readonly offset: number;
  /** Whole record length, header included. */
  readonly length: number;
  readonly payload: Buffer;
}

/** The whole, checksum-valid record at `off` in `buf`, or undefined. */
export function checkRecordAt(buf: Buffer, off: number): RecordAt | undefined {
  if (off + HEADER_SIZE > buf.length) return undefined;
  if (buf.readUInt32BE(off) !== MAGIC) return undefined;
  const type = buf[off + 4]!;
  if (type !== RecordType.MSG && type !== RecordType.STATE && type !== RecordType.SEAL) return undefined;
  if (buf[off + 5] !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0) return undefined;
  const len = buf.readUInt32LE(off + 8);
  if (len > MAX_RECORD || off + HEADER_SIZE + len > buf.length) return undefined;
  const payload = buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len);
  const c = crc32(payload, crc32(buf.subarray(off, off + 12)));
  if (c !== buf.readUInt32LE(off + 12)) return undefined;
  return { type: type as RecordType, offset: off, length: HEADER_SIZE + len, payload };
}

/** The next valid record strictly after `from`, found by searching for the magic. */
export function findNextRecord(buf: Buffer, from: number): RecordAt | undefined {
  let p = from + 1;
  for (;;) {
    const i = buf.indexOf(MAGIC_BYTES, p);
    if (i < 0) return undefined;
    const r = checkRecordAt(buf, i);
    if (r) return r;
    p = i + 1;
  }
}

/** Splits a MSG payload; throws on a meta checksum mismatch. */
export function decodeMessagePayload(payload: Buffer): { meta: MessageMeta; body: Buffer } {
  const metaLen = payload.readUInt32LE(0);
  const metaBuf = payload.subarray(8, 8 + metaLen);
  if (metaBuf.length !== metaLen || crc32(metaBuf) !== payload.readUInt32LE(4)) {
    throw new Error('message meta checksum mismatch');
  }
  return { meta: JSON.parse(metaBuf.toString('utf8')) as MessageMeta, body: payload.subarray(8 + metaLen) };
}

/**
 * Decodes the meta of a MSG record from a buffer that starts at the record and
 * holds at least `MSG_PREFIX + metaLen` bytes; throws if it is damaged.
 */
export function decodeMetaOnly(buf: Buffer): MessageMeta {
  if (buf.length < MSG_PREFIX || buf.readUInt32BE(0) !== MAGIC || buf[4] !== RecordType.MSG) {
    throw new Error('not a message record');
  }
  const metaLen = buf.readUInt32LE(HEADER_SIZE);
  const metaBuf = buf.subarray(MSG_PREFIX, MSG_PREFIX + metaLen);
  if (metaBuf.length !== metaLen || crc32(metaBuf) !== buf.readUInt32LE(HEADER_SIZE + 4)) {
    throw new Error('message meta checksum mismatch');
  }
  return JSON.parse(metaBuf.toString('utf8')) as MessageMeta;
}
