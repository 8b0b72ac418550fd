/**
 * @module util/log
 *
 * Structured logs (pino): one JSON object per line with a level, an ISO time,
 * a message and fields (session id, message id, client IP …), written
 * asynchronously in buffered chunks (pino's SonicBoom destination), flushed
 * at exit. Invariant: callers never pass credentials.
 *
 * Exports: `Logger`, `LogLevel`, `createLogger(destination, level)`,
 * `fileDestination(path)`, `silentLogger`, `memoryLogger`.
 */
import { pino, type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Is a level enabled (to skip building fields for nothing)? */
  enabled(level: LogLevel): boolean;
}

/** A buffered destination: a file descriptor (2 = standard error) or a path (created, appended to). `reopen()` after a rename rotates it. */
export function fileDestination(dest: number | string): DestinationStream & { reopen(): void; flushSync(): void } {
  return pino.destination({ dest, sync: false, minLength: 4096, mkdir: typeof dest === 'string', append: true }) as DestinationStream & { reopen(): void; flushSync(): void };
}

/** A logger over any destination with a `write(line)` method. */
export function createLogger(destination: { write(s: string): unknown }, level: LogLevel = 'info'): Logger {
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as DestinationStream,
  );
  const flush = destination as { flushSync?: () => void };
  if (typeof flush.flushSync === 'function') {
    process.once('exit', () => {
      try {
        flush.flushSync!();
      } catch {
        // Nothing more can be done at exit.
      }
    });
  }
  const wrap =
    (lvl: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void =>
      fields ? p[lvl](fields, msg) : p[lvl](msg);
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error'), enabled: (lvl) => p.isLevelEnabled(lvl) };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, enabled: () => false };

/** Collects entries in memory (one JSON line each): for tests that assert what was (not) logged. */
export function memoryLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ write: (s: string) => lines.push(s) }, 'debug');
  return Object.assign(l, { lines });
}
