/**
 * @module cli/main
 *
 * The `petrel` command (commander 14). Verbs follow `pmta` where PowerMTA
 * has one, so operators' fingers and scripts carry over:
 *
 *   petrel start [--config FILE]            run the MTA in the foreground
 *   petrel check-config [--config FILE]     validate; exit 0 with a summary, 1 with every error
 *   petrel show settings [--domain D] [--vmta V] [--source IP] [--user U]
 *                                           effective value of every directive and where it came from
 *   petrel --version, petrel help
 *
 * `--json` on check-config and show settings. Exit codes: 0 ok, 1 the
 * configuration (or the request) is wrong, 2 usage error. No stack traces:
 * an unexpected failure prints one line and exits 70 (EX_SOFTWARE).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { hasErrors, loadConfig, type LoadResult } from '../config/loader.js';
import { ConfigResolver } from '../config/resolve.js';
import { effectiveSettings, fromText, resolvedToJson, summarize } from '../config/summary.js';
import { diagnosticToJson, formatDiagnostic } from './diagnostics.js';
import { runStart } from './start.js';
import { registerInject } from './commands/inject.js';
import { registerManagementCommands } from './commands/register.js';
import { registerProbeCommand } from './commands/probe.js';

export const DEFAULT_CONFIG_PATH = '/etc/petrel/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'package.json'), 'utf8')) as { version: string };

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s), errOut: (s: string) => void = (s) => process.stderr.write(s)): Command {
  const program = new Command();
  program
    .name('petrel')
    .description('Petrel mail transfer agent: reads PowerMTA configuration files')
    .version(pkg.version, '-V, --version', 'print the version')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError()
    .configureOutput({ writeOut: out, writeErr: errOut });

  program
    .command('start')
    .description('run the MTA in the foreground')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--no-delivery', 'receive and queue mail, but do not deliver it (like pmtad --dontSend)')
    .action(async (opts: { config: string; delivery: boolean }) => {
      const code = await runStart(opts.config, out, errOut, { delivery: opts.delivery });
      process.exitCode = code;
    });

  program
    .command('check-config')
    .description('validate a configuration file (PowerMTA syntax) and report every problem')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--json', 'machine-readable output')
    .action((opts: { config: string; json?: boolean }) => {
      const res = loadConfig(opts.config);
      process.exitCode = hasErrors(res.diagnostics) ? 1 : 0;
      if (opts.json) {
        out(JSON.stringify(checkJson(res), null, 2) + '\n');
        return;
      }
      printDiagnostics(res, errOut);
      if (res.config) {
        const s = summarize(res.config);
        const warnings = res.diagnostics.filter((d) => d.severity === 'warning').length;
        out(
          [
            `${opts.config}: configuration OK (${s.files.length} file${s.files.length === 1 ? '' : 's'})`,
            `  listeners:   ${s.listeners.join(', ') || '(none)'}`,
            `  sources:     ${s.sources.join(', ') || '(none)'}`,
            `  smtp-users:  ${s.smtpUsers.join(', ') || '(none)'}`,
            `  vmtas:       ${s.vmtas.join(', ') || '(none)'}`,
            `  pools:       ${Object.entries(s.pools).map(([p, m]) => `${p} (${m.join(', ')})`).join('; ') || '(none)'}`,
            `  domains:     ${s.domains.join(', ') || '(none)'}`,
            `  warnings:    ${warnings}`,
            '',
          ].join('\n'),
        );
      } else {
        const n = res.diagnostics.filter((d) => d.severity === 'error').length;
        errOut(`${opts.config}: ${n} error${n === 1 ? '' : 's'}; configuration refused\n`);
      }
    });

  const show = program.command('show').description('show information (settings now; queues and status with the server)');
  show
    .command('settings')
    .description('effective value of every directive for a queue or source, and where it came from')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG_PATH)
    .option('--domain <domain>', 'recipient domain of the queue')
    .option('--vmta <name>', 'virtual MTA of the queue')
    .option('--pool <name>', 'virtual-mta-pool the mail came through')
    .option('--source <ip>', 'client IP of an inbound session')
    .option('--user <name>', 'authenticated smtp-user (applies its source)')
    .option('--listener-source <name>', "a listener's source=NAME")
    .option('--json', 'machine-readable output')
    .action((opts: { config: string; domain?: string; vmta?: string; pool?: string; source?: string; user?: string; listenerSource?: string; json?: boolean }) => {
      const res = loadConfig(opts.config);
      if (!res.config) {
        printDiagnostics(res, errOut);
        errOut(`${opts.config}: configuration refused; fix the errors above first\n`);
        process.exitCode = 1;
        return;
      }
      const cfg = res.config;
      if (opts.vmta && opts.vmta !== '{default}' && !cfg.vmtas.has(opts.vmta)) {
        errOut(`no <virtual-mta ${opts.vmta}> in ${opts.config}; known: ${[...cfg.vmtas.keys()].join(', ') || '(none)'}\n`);
        process.exitCode = 1;
        return;
      }
      const named: string[] = [];
      if (opts.listenerSource) named.push(opts.listenerSource);
      if (opts.user) {
        const u = cfg.smtpUsers.get(opts.user);
        if (!u) {
          errOut(`no <smtp-user ${opts.user}> in ${opts.config}\n`);
          process.exitCode = 1;
          return;
        }
        for (const s of u.settings.get('source') ?? []) named.push(String(s.value));
      }
      const resolver = new ConfigResolver(cfg);
      const sections = effectiveSettings(resolver, {
        ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
        ...(opts.vmta !== undefined ? { vmta: opts.vmta } : {}),
        ...(opts.pool !== undefined ? { pool: opts.pool } : {}),
        ...(opts.source !== undefined ? { source: opts.source } : {}),
        named,
      });
      if (opts.json) {
        out(JSON.stringify({ sections: sections.map((s) => ({ title: s.title, settings: s.settings.map(resolvedToJson) })) }, null, 2) + '\n');
        return;
      }
      for (const sec of sections) {
        out(`# ${sec.title}\n`);
        const width = Math.max(...sec.settings.map((r) => r.name.length));
        for (const r of sec.settings) {
          const value = r.raw === undefined ? '(none)' : r.raw;
          const flag = r.spec.status === 'recognised' ? '  [not yet acted on]' : '';
          out(`${r.name.padEnd(width)}  ${value}  (${fromText(r)})${flag}\n`);
        }
        out('\n');
      }
    });

  registerManagementCommands(program, DEFAULT_CONFIG_PATH, out, errOut);

  registerInject(program, DEFAULT_CONFIG_PATH, out, errOut);
  registerProbeCommand(program, out, errOut);
  return program;
}

function checkJson(res: LoadResult): Record<string, unknown> {
  return {
    ok: !hasErrors(res.diagnostics),
    files: res.files,
    errors: res.diagnostics.filter((d) => d.severity === 'error').map(diagnosticToJson),
    warnings: res.diagnostics.filter((d) => d.severity === 'warning').map(diagnosticToJson),
    ...(res.config ? { summary: summarize(res.config) } : {}),
  };
}

function printDiagnostics(res: LoadResult, errOut: (s: string) => void): void {
  for (const d of res.diagnostics) errOut(formatDiagnostic(d) + '\n');
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exitCode = 0;
      else process.exitCode = 2;
      return;
    }
    process.stderr.write(`petrel: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 70;
  }
}

const invoked = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) void main(process.argv);
