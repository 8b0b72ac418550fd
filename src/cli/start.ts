/**
 * @module cli/start
 *
 * `petrel start`: load and validate the configuration (refusing to start on
 * any error), then run what exists of the MTA in the foreground until
 * SIGTERM or SIGINT. It grows with each subsystem: today it validates the
 * configuration, prints what it will serve, and holds the process.
 */
import { hasErrors, loadConfig } from '../config/loader.js';
import { summarize } from '../config/summary.js';
import { formatDiagnostic } from './diagnostics.js';

export async function runStart(configFile: string, out: (s: string) => void, errOut: (s: string) => void): Promise<number> {
  const res = loadConfig(configFile);
  for (const d of res.diagnostics) errOut(formatDiagnostic(d) + '\n');
  if (!res.config || hasErrors(res.diagnostics)) {
    errOut(`petrel: not starting: ${configFile} has errors\n`);
    return 1;
  }
  const s = summarize(res.config);
  out(`petrel: configuration ${configFile} loaded (${s.files.length} file(s)); listeners: ${s.listeners.join(', ') || '(none)'}\n`);
  out(`petrel: running (pid ${process.pid}); stop with SIGTERM or Ctrl-C\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      out(`petrel: ${sig} received, stopping\n`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Keep the event loop alive while nothing else holds it.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    process.once('beforeExit', () => clearInterval(keepAlive));
    const done = (): void => clearInterval(keepAlive);
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  return 0;
}
