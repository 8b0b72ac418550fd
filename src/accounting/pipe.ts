/**
 * @module accounting/pipe
 *
 * `<acct-file |command args>`: records streamed, as CSV with the header
 * first, to the stdin of one long-lived `/bin/sh -c command`.
 *
 * Exports: `PipeTuning`, `DEFAULT_PIPE_TUNING`, `PipeSink` (a `Sink`, plus
 * `state`, `starts`, `restart()`, `fallbackPath`).
 *
 * Lifecycle: started at open. When the program exits (or cannot start) it
 * is started again after `retry-interval`; each new process receives the
 * header line first, then the fallback file (below), then the records that
 * waited, then new records.
 *
 * Durability (docs/accounting.md):
 * - while the program runs, `write()` resolves once the lines are written to
 *   the pipe (handed to the kernel): a program that stops reading stalls it;
 * - while it is down, lines wait in memory; they go to the fallback file
 *   (a `DurableFile` beside the spool, CSV with header, fdatasync'ed) when
 *   more than `maxBuffered` lines wait or the first has waited `holdMs`,
 *   and their `write()` resolves then. Nothing is dropped;
 * - when the program ends unexpectedly, the lines written to it in the last
 *   `resendWindowMs` (it may not have read them: a script that fails at
 *   start reads nothing) are written again, to the fallback file;
 * - the next process gets the fallback file replayed, after which the file is
 *   deleted. A crash or a program death during the replay can replay it
 *   again: duplicates are possible. Loss is possible only for lines a
 *   program accepted earlier than `resendWindowMs` before it died without
 *   processing them, which no pipe can tell.
 *
 * Invariants: at most one child per sink; lines reach the program in the
 * order `write()` was called, except that the fallback file (older lines)
 * is replayed before lines that waited in memory.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { DurableFile } from './durable-file.js';
import { AccountingError } from './errors.js';
import type { AcctFileSettings } from './settings.js';
import { fileMode } from './sink.js';
import type { Layout, Sink, SinkDeps } from './sink.js';

export interface PipeTuning {
  /** Longest a line waits in memory for the program before going to the fallback file (ms, real time). */
  readonly holdMs: number;
  /** Most lines waiting in memory before they go to the fallback file. */
  readonly maxBuffered: number;
  /** Overrides `retry-interval` (ms); for tests. */
  readonly retryIntervalMs?: number;
  /** How long `close()` waits for the program to exit after its stdin is closed (ms). */
  readonly exitWaitMs: number;
  /** Lines written this long (ms, real time) or less before the program ended are written again, to the fallback file. */
  readonly resendWindowMs: number;
}

export const DEFAULT_PIPE_TUNING: PipeTuning = { holdMs: 5_000, maxBuffered: 10_000, exitWaitMs: 10_000, resendWindowMs: 2_000 };

interface Sent {
  readonly at: number;
  readonly chunk: string;
}

interface Waiting {
  readonly chunk: string;
  readonly lines: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

type State = 'down' | 'starting' | 'running' | 'closed';

export class PipeSink implements Sink {
  readonly settings: AcctFileSettings;
  readonly layout: Layout;
  readonly #command: string;
  readonly #fallbackPath: string;
  readonly #deps: SinkDeps;
  readonly #tuning: PipeTuning;
  #state: State = 'down';
  #child: ChildProcess | undefined;
  #waiting: Waiting[] = [];
  #waitingLines = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #fallback: DurableFile | undefined;
  /** Fallback-file work (spill, replay) runs one at a time. */
  #fbChain: Promise<unknown> = Promise.resolve();
  #starting: Promise<void> = Promise.resolve();
  /** Lines written to the current program within the resend window. */
  #recent: Sent[] = [];
  /** Restarts so far (for tests and the monitor). */
  starts = 0;

  constructor(settings: AcctFileSettings, command: string, layout: Layout, fallbackPath: string, deps: SinkDeps, tuning: Partial<PipeTuning> = {}) {
    this.settings = settings;
    this.layout = layout;
    this.#command = command;
    this.#fallbackPath = fallbackPath;
    this.#deps = deps;
    this.#tuning = { ...DEFAULT_PIPE_TUNING, ...tuning };
    this.#start();
  }

  get fallbackPath(): string {
    return this.#fallbackPath;
  }

  /** `down` (waiting for retry-interval), `starting`, `running` or `closed`. */
  get state(): State {
    return this.#state;
  }

  /** Starts the program now if it is down, without waiting for retry-interval (management, tests). */
  restart(): void {
    if (this.#state !== 'down') return;
    clearTimeout(this.#restartTimer);
    this.#start();
  }

  write(lines: readonly string[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new AccountingError('ACCT_CLOSED', `pipe ${this.#command}: closed`));
    const chunk = lines.join('');
    if (chunk.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiting = { chunk, lines: lines.length, resolve, reject };
      if (this.#state === 'running') this.#send(w);
      else this.#wait(w);
    });
  }

  tick(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'starting') await this.#starting;
    this.#state = 'closed';
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#holdTimer);
    // EOF to the program; writes still in flight finish (or fail and go to the fallback file).
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), this.#tuning.exitWaitMs);
      await exited;
      clearTimeout(timer);
    }
    // Lines that never reached a program go to the fallback file.
    if (this.#waiting.length > 0) await this.#spill();
    await this.#fbChain;
    await this.#fallback?.close();
    this.#fallback = undefined;
  }

  // ---- the child -------------------------------------------------------------

  #start(): void {
    if (this.#state === 'closed') return;
    this.#state = 'starting';
    this.starts++;
    const log = this.#deps.log;
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', this.#command], { stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      log.error('accounting: cannot start pipe program', { command: this.#command, error: (e as Error).message });
      this.#down();
      return;
    }
    this.#child = child;
    const recent: Sent[] = [];
    this.#recent = recent;
    child.stdin!.on('error', () => undefined); // EPIPE surfaces through the write callbacks and 'exit'.
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => log.warn('accounting: pipe program stderr', { command: this.#command, text: d.trimEnd() }));
    let ended = false;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (ended) return;
      ended = true;
      if (this.#child === child) this.#child = undefined;
      if (this.#state === 'closed') return;
      // What the program may not have read goes to the fallback file (a duplicate is possible, a loss is not).
      const now = performance.now();
      const again = recent.filter((s) => now - s.at <= this.#tuning.resendWindowMs);
      recent.length = 0;
      if (again.length > 0) void this.#fallbackAppend(again.map((s) => ({ chunk: s.chunk, lines: 0, resolve: () => undefined, reject: () => undefined })));
      log.warn('accounting: pipe program ended; restarting after retry-interval', {
        command: this.#command,
        code,
        signal,
        ...(error ? { error: error.message } : {}),
      });
      this.#down();
    };
    child.on('error', (e) => onEnd(null, null, e));
    child.on('exit', (code, signal) => onEnd(code, signal));
    this.#starting = new Promise<void>((resolve) => {
      child.once('spawn', () => {
        void this.#feedNewChild(child).finally(resolve);
      });
      child.once('error', () => resolve());
    });
  }

  /** Header, then the fallback file, then what waited; then the child takes new lines directly. */
  async #feedNewChild(child: ChildProcess): Promise<void> {
    try {
      if (this.layout.header !== undefined) await this.#rawWrite(child, this.layout.header);
      await this.#replayFallback(child);
    } catch {
      return; // the child died; 'exit' handles the rest
    }
    if (this.#child !== child || this.#state !== 'starting') return;
    this.#state = 'running';
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingLines = 0;
    for (const w of waiting) this.#send(w);
  }

  #down(): void {
    if (this.#state === 'closed') return;
    this.#state = 'down';
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => this.#start(), this.#tuning.retryIntervalMs ?? this.settings.retryInterval);
    if (this.#waiting.length > 0) this.#armHold();
  }

  #rawWrite(child: ChildProcess, text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = child.stdin;
      if (!stdin || stdin.destroyed || !stdin.writable) {
        reject(new Error('pipe closed'));
        return;
      }
      stdin.write(text, (err) => (err ? reject(err) : resolve()));
    });
  }

  #send(w: Waiting): void {
    const child = this.#child;
    if (!child) {
      this.#wait(w);
      return;
    }
    const recent = this.#recent;
    this.#rawWrite(child, w.chunk).then(() => {
      this.#remember(recent, w.chunk);
      w.resolve();
    }, () => {
      // Not known to have reached the program: keep it for the next one (a duplicate is possible).
      if (this.#state === 'closed') void this.#spillOne(w);
      else this.#wait(w);
    });
  }

  #remember(recent: Sent[], chunk: string): void {
    if (this.#tuning.resendWindowMs <= 0) return;
    const now = performance.now();
    recent.push({ at: now, chunk });
    let drop = 0;
    while (drop < recent.length && now - recent[drop]!.at > this.#tuning.resendWindowMs) drop++;
    if (drop > 0) recent.splice(0, drop);
  }

  // ---- waiting lines and the fallback file ------------------------------------

  #wait(w: Waiting): void {
    this.#waiting.push(w);
    this.#waitingLines += w.lines;
    if (this.#waitingLines > this.#tuning.maxBuffered) void this.#spill();
    else this.#armHold();
  }

  #armHold(): void {
    if (this.#holdTimer !== undefined || this.#state === 'starting') return;
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      if (this.#state !== 'running') void this.#spill();
    }, this.#tuning.holdMs);
  }

  #spill(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#waitingLines = 0;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (batch.length === 0) return Promise.resolve();
    return this.#fallbackAppend(batch);
  }

  #spillOne(w: Waiting): Promise<void> {
    return this.#fallbackAppend([w]);
  }

  #fallbackAppend(batch: readonly Waiting[]): Promise<void> {
    const run = this.#fbChain.then(async () => {
      try {
        if (!this.#fallback) {
          this.#fallback = await DurableFile.open({
            path: this.#fallbackPath,
            ...(this.layout.header !== undefined ? { header: this.layout.header } : {}),
            mode: fileMode(this.settings),
            sync: true,
            clock: this.#deps.clock,
            log: this.#deps.log,
          });
          this.#deps.log.warn('accounting: pipe program unavailable; records go to the fallback file', { command: this.#command, path: this.#fallbackPath });
        }
        await this.#fallback.append(batch.map((w) => w.chunk).join(''));
        if (this.#state === 'closed') {
          // A write that failed after close(): do not keep the file open.
          await this.#fallback.close();
          this.#fallback = undefined;
        }
        for (const w of batch) w.resolve();
      } catch (e) {
        const err = new AccountingError('ACCT_IO', `pipe fallback ${this.#fallbackPath}: ${(e as Error).message}`, { cause: e });
        for (const w of batch) w.reject(err);
      }
    });
    this.#fbChain = run;
    return run;
  }

  /** Sends the fallback file's records (not its header) to a new child, then deletes the file. */
  #replayFallback(child: ChildProcess): Promise<void> {
    const run = this.#fbChain.then(async () => {
      await this.#fallback?.close();
      this.#fallback = undefined;
      let text: string;
      try {
        text = await fsp.readFile(this.#fallbackPath, 'utf8');
      } catch {
        return; // no fallback file
      }
      const header = this.layout.header;
      const body = header !== undefined && text.startsWith(header) ? text.slice(header.length) : text;
      if (body.length > 0) {
        await this.#rawWrite(child, body);
        this.#remember(this.#recent, body);
      }
      await fsp.unlink(this.#fallbackPath);
      if (body.length > 0) this.#deps.log.info('accounting: fallback file replayed to the pipe program', { command: this.#command, bytes: body.length });
    });
    this.#fbChain = run.catch(() => undefined);
    return run;
  }
}
