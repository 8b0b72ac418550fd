/**
 * @module spool/writer
 *
 * `MessageWriter`: one message being received. The SMTP layer streams the
 * DATA/BDAT body into it and then commits or aborts:
 *
 *   const w = spool.createMessage(envelope);   // may throw SPOOL_FULL, TOO_MANY_RECIPIENTS
 *   w.write(chunk); ...                        // may throw MESSAGE_TOO_LARGE
 *   const id = await w.commit();               // durable when it resolves → 250
 *   // or: await w.abort();
 *
 * Contracts:
 * - `write()` keeps a reference to the chunk: do not modify it afterwards.
 * - The first `write()` that takes the body past `maxMessageSize` throws
 *   MESSAGE_TOO_LARGE and discards everything; later writes are ignored and
 *   `commit()` rejects with the same error (the server keeps reading to the
 *   end of DATA, then replies 552).
 * - Bodies up to `inlineBodyLimit` stay in memory until commit and go into
 *   the log record; past it the body is streamed to `tmp/<id>`, which at
 *   commit is fsync'd and renamed to `bodies/<id>` before the log record
 *   that references it is written (the group commit fsyncs `bodies/`).
 *   `drain()` waits for those background writes (use it for back-pressure).
 * - Whatever `commit()` rejects with, nothing of the message remains: no
 *   log record, no body file.
 *
 * Exports: `MessageWriter`, `WriterHost`, `PreparedMessage`.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SpoolError, toSpoolIoError } from './errors.js';
import { crc32 } from './record.js';
import type { StoredEnvelope } from './types.js';

/** What the writer hands to the spool at commit. */
export interface PreparedMessage {
  readonly id: number;
  readonly idText: string;
  readonly envelope: StoredEnvelope;
  readonly size: number;
  /** Inline body chunks (empty when external). */
  readonly body: readonly Uint8Array[];
  /** CRC-32 of the body when it was renamed into `bodies/<idText>`. */
  readonly externalCrc: number | undefined;
}

export interface WriterHost {
  readonly maxMessageSize: number;
  readonly inlineBodyLimit: number;
  readonly tmpDir: string;
  readonly bodiesDir: string;
  /** Durably stores the message; rejects with a SpoolError, storing nothing. */
  commitPrepared(msg: PreparedMessage): Promise<void>;
}

interface Spill {
  readonly file: string;
  readonly fh: FileHandle;
  io: Promise<void>;
  error: unknown;
  pos: number;
}

export class MessageWriter {
  readonly id: string;
  readonly envelope: StoredEnvelope;
  readonly #num: number;
  readonly #host: WriterHost;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #crc = 0;
  #state: 'open' | 'committing' | 'closed' = 'open';
  #error: SpoolError | undefined;
  #spill: Promise<Spill> | undefined;

  constructor(host: WriterHost, num: number, idText: string, envelope: StoredEnvelope) {
    this.#host = host;
    this.#num = num;
    this.id = idText;
    this.envelope = envelope;
  }

  /** Body bytes received so far. */
  get size(): number {
    return this.#size;
  }

  write(chunk: Uint8Array): void {
    if (this.#error) return;
    if (this.#state !== 'open') throw new SpoolError('WRITER_CLOSED', `message ${this.id} is already ${this.#state}`);
    const max = this.#host.maxMessageSize;
    if (max > 0 && this.#size + chunk.length > max) {
      this.#error = new SpoolError('MESSAGE_TOO_LARGE', `message ${this.id} exceeds ${max} bytes`);
      this.#chunks = [];
      void this.#discardSpill();
      throw this.#error;
    }
    this.#size += chunk.length;
    if (this.#spill) {
      this.#crc = crc32(chunk, this.#crc);
      void this.#spill.then((s) => this.#append(s, chunk));
      return;
    }
    this.#chunks.push(chunk);
    if (this.#size > this.#host.inlineBodyLimit) this.#startSpill();
  }

  /** Resolves when background body writes are done (rejects on their error). */
  async drain(): Promise<void> {
    if (this.#error) throw this.#error;
    if (!this.#spill) return;
    const s = await this.#spill;
    await s.io;
    if (s.error) throw toSpoolIoError(s.error, 'spool body write');
  }

  /** Stores the message durably and returns its id; see the module contracts. */
  async commit(): Promise<string> {
    if (this.#error) throw this.#error;
    if (this.#state !== 'open') throw new SpoolError('WRITER_CLOSED', `message ${this.id} is already ${this.#state}`);
    this.#state = 'committing';
    let bodyFile: string | undefined;
    try {
      let externalCrc: number | undefined;
      if (this.#spill) {
        const s = await this.#spill;
        await s.io;
        if (s.error) throw s.error;
        await s.fh.sync();
        await s.fh.close();
        bodyFile = path.join(this.#host.bodiesDir, this.id);
        await fsp.rename(s.file, bodyFile);
        externalCrc = this.#crc;
      }
      await this.#host.commitPrepared({
        id: this.#num,
        idText: this.id,
        envelope: this.envelope,
        size: this.#size,
        body: this.#spill ? [] : this.#chunks,
        externalCrc,
      });
      return this.id;
    } catch (e) {
      const err = toSpoolIoError(e, `spool commit ${this.id}`);
      this.#error = err;
      await this.#discardSpill();
      if (bodyFile) await fsp.unlink(bodyFile).catch(() => undefined);
      throw err;
    } finally {
      this.#state = 'closed';
      this.#chunks = [];
    }
  }

  /** Drops the message; nothing of it remains. Idempotent. */
  async abort(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'committing') throw new SpoolError('WRITER_CLOSED', `message ${this.id} is being committed`);
    this.#state = 'closed';
    this.#chunks = [];
    this.#error ??= new SpoolError('WRITER_CLOSED', `message ${this.id} was aborted`);
    await this.#discardSpill();
  }

  #startSpill(): void {
    const file = path.join(this.#host.tmpDir, this.id);
    const chunks = this.#chunks;
    this.#chunks = [];
    for (const c of chunks) this.#crc = crc32(c, this.#crc);
    this.#spill = fsp.open(file, 'w').then(
      (fh) => {
        const s: Spill = { file, fh, io: Promise.resolve(), error: undefined, pos: 0 };
        for (const c of chunks) this.#append(s, c);
        return s;
      },
      (e: unknown) => ({ file, fh: undefined as unknown as FileHandle, io: Promise.resolve(), error: e, pos: 0 }),
    );
  }

  #append(s: Spill, chunk: Uint8Array): void {
    if (s.error) return;
    const at = s.pos;
    s.pos += chunk.length;
    s.io = s.io.then(async () => {
      if (s.error) return;
      try {
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await s.fh.write(chunk, done, chunk.length - done, at + done);
          if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'ENOSPC' });
          done += bytesWritten;
        }
      } catch (e) {
        s.error = e;
      }
    });
  }

  async #discardSpill(): Promise<void> {
    const p = this.#spill;
    if (!p) return;
    this.#spill = undefined;
    const s = await p;
    await s.io;
    if (s.fh) await s.fh.close().catch(() => undefined);
    await fsp.unlink(s.file).catch(() => undefined);
  }
}
