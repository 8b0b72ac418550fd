/**
 * @module cli/start
 *
 * `petrel start`: load and validate the configuration (refusing to start on
 * any error), open and recover the spool, open every listener, and run in
 * the foreground. SIGTERM / SIGINT stop it gracefully: listeners close,
 * transactions in progress finish, the spool is flushed and closed.
 * Logs are JSON lines on standard error, or in `log-file` (rotated daily and
 * on SIGHUP, keeping `log-rotate` old files).
 */
import * as path from 'node:path';
import { loadConfig } from '../config/loader.js';
import { lastSetting } from '../config/model.js';
import { ConfigRefused, Mta } from '../mta.js';
import { LogFile } from '../util/log-file.js';
import { createLogger, fileDestination } from '../util/log.js';
import { formatDiagnostic } from './diagnostics.js';

export async function runStart(configFile: string, out: (s: string) => void, errOut: (s: string) => void, opts: { delivery?: boolean } = {}): Promise<number> {
  // log-file PATH (relative to the working directory) with log-rotate N; standard error otherwise.
  const pre = loadConfig(configFile);
  const logPath = pre.config ? lastSetting<string>(pre.config.global, 'log-file')?.value : undefined;
  const logFile = logPath ? new LogFile(path.resolve(logPath), lastSetting<number>(pre.config!.global, 'log-rotate')?.value ?? 7) : undefined;
  const log = createLogger(logFile?.destination ?? fileDestination(2), process.env['PETREL_LOG_LEVEL'] === 'debug' ? 'debug' : 'info');
  let mta: Mta;
  try {
    mta = await Mta.start({ configFile, log, noDelivery: opts.delivery === false });
  } catch (e) {
    if (e instanceof ConfigRefused) {
      for (const d of e.diagnostics) errOut(formatDiagnostic(d) + '\n');
      errOut(`petrel: not starting: ${configFile} has errors\n`);
      return 1;
    }
    errOut(`petrel: not starting: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
  // Handlers first: a supervisor may signal as soon as it reads the 'running' line.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.on('SIGHUP', () => {
    logFile?.rotate();
    void mta.reload().then((r) => {
      for (const d of r.diagnostics) errOut(formatDiagnostic(d) + '\n');
      out(r.ok ? `petrel: configuration reloaded\n` : `petrel: reload refused: ${configFile} has errors; the running configuration stays\n`);
    });
  });
  for (const d of mta.warnings) errOut(formatDiagnostic(d) + '\n');
  const listeners = mta.listeners.map((l) => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}${l.info.implicitTls ? ' (implicit TLS)' : ''}`);
  out(`petrel: configuration ${configFile} loaded; spool ${mta.spool.path} (${mta.spool.stats().messages} message(s) recovered)\n`);
  out(`petrel: listening on ${listeners.join(', ') || '(no listener)'}\n`);
  out(`petrel: running (pid ${process.pid}); stop with SIGTERM or Ctrl-C\n`);
  const sig = await stopSignal;
  out(`petrel: ${sig} received, stopping\n`);
  await mta.stop(30_000);
  out('petrel: stopped\n');
  return 0;
}
