/**
 * @module util/log
 *
 * A small structured logger: one JSON object per line, with a level, a time,
 * a message and fields (session id, message id, client IP …). Lines are
 * buffered and written once per turn of the event loop (one write for a
 * burst instead of one per line: a synchronous pipe write per delivery cost
 * more CPU than the delivery), and flushed synchronously at exit.
 *
 * Invariant: callers never pass credentials.
 *
 * Exports: `Logger`, `LogLevel`, `createLogger(stream, level)`, `silentLogger`, `memoryLogger`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Is a level enabled (to skip building fields for nothing)? */
  enabled(level: LogLevel): boolean;
}

export function createLogger(stream: { write(s: string): unknown }, level: LogLevel = 'info', opts: { buffered?: boolean } = {}): Logger {
  const min = ORDER[level];
  const buffered = opts.buffered ?? true;
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  if (buffered) process.once('exit', flush);
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }) + '\n';
    if (!buffered) {
      stream.write(line);
      return;
    }
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (lvl) => ORDER[lvl] >= min,
  };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, enabled: () => false };

/** Collects entries in memory, unbuffered: for tests that assert what was (not) logged. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ write: (s: string) => lines.push(s) }, 'debug', { buffered: false });
  return Object.assign(l, { lines });
}
