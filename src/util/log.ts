/**
 * @module util/log
 *
 * A small structured logger: one JSON object per line, with a level, a time,
 * a message and fields (session id, message id, client IP …). Until the
 * management issue brings pino and log files, this is what the server and
 * spool write to. Invariant: callers never pass credentials; `redact()`
 * exists for the few places that handle them (AUTH lines).
 *
 * Exports: `Logger`, `createLogger(stream, level)`, `silentLogger`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(stream: { write(s: string): unknown }, level: LogLevel = 'info'): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    stream.write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields }) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Collects entries in memory: for tests that assert what was (not) logged. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ write: (s: string) => lines.push(s) }, 'debug');
  return Object.assign(l, { lines });
}
