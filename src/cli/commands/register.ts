/**
 * @module cli/commands/register
 *
 * Turns the CLI grammar table (`VERBS`: show.ts + control.ts) into commander
 * commands under an existing program, adding to every verb:
 *
 *   --url URL        the management API (default http://127.0.0.1:<http-mgmt-port>)
 *   --token TOKEN    bearer token (default $PETREL_API_TOKEN)
 *   -c, --config F   configuration file, read only to find http-mgmt-port
 *   --json           print the API's JSON
 *
 * Errors print one line (`petrel: CODE: message`, or the error JSON with
 * `--json`) and set the exit code: 1 refused or not found, 2 usage, 69
 * server unreachable.
 *
 * Exports: `VERBS`, `registerManagementCommands`.
 */
import { Command } from 'commander';
import { ApiClient, ApiClientError, resolveEndpoint } from '../api-client.js';
import { CONTROL_VERBS } from './control.js';
import { SUPPRESSION_VERBS } from './suppression.js';
import { SHOW_VERBS, UsageError } from './show.js';
import { clean } from './table.js';
import { EXIT, type Verb, type VerbOptions } from './verb.js';

export const VERBS: readonly Verb[] = [...SHOW_VERBS, ...CONTROL_VERBS, ...SUPPRESSION_VERBS];

const PARENTS: Readonly<Record<string, string>> = {
  show: 'show information (settings offline; status, queues, domains, vmtas, jobs, messages from the server)',
  pause: 'pause a queue or a job',
  resume: 'resume a queue or a job',
  set: 'change a queue (mode)',
  reset: 'reset counters',
};

function child(parent: Command, name: string): Command {
  const found = parent.commands.find((c) => c.name() === name);
  return found ?? parent.command(name).description(PARENTS[name] ?? name);
}

/**
 * Adds every management verb. `show` may already exist (with `show
 * settings`); the other parents (`pause`, `resume`, `set`, `reset`) are
 * created as needed.
 */
export function registerManagementCommands(
  program: Command,
  defaultConfig: string,
  out: (s: string) => void = (s) => process.stdout.write(s),
  errOut: (s: string) => void = (s) => process.stderr.write(s),
): void {
  for (const verb of VERBS) {
    let parent = program;
    for (const w of verb.words.slice(0, -1)) parent = child(parent, w);
    const cmd = parent.command(verb.words[verb.words.length - 1]!);
    for (const a of verb.args ?? []) cmd.argument(a);
    cmd.description(`${verb.description}  [${verb.pmta}]`);
    for (const [flags, desc, def] of verb.options ?? []) {
      if (def !== undefined) cmd.option(flags, desc, def);
      else cmd.option(flags, desc);
    }
    cmd
      .option('--url <url>', 'management API base URL (default: http://127.0.0.1:<http-mgmt-port of --config>)')
      .option('--token <token>', 'API token for admin access (default: $PETREL_API_TOKEN)')
      .option('-c, --config <file>', 'configuration file, read to find http-mgmt-port', defaultConfig)
      .option('--json', 'machine-readable output');
    cmd.action(async (...params: unknown[]) => {
      const args = params.slice(0, (verb.args ?? []).length).map(String);
      const c = params[params.length - 1] as Command;
      const opts = c.opts<VerbOptions & { url?: string; token?: string; config?: string; json?: boolean }>();
      const json = opts.json === true;
      const fail = (code: number, errCode: string, message: string, body?: unknown): void => {
        if (json) out(JSON.stringify(body ?? { error: { code: errCode, message } }, null, 2) + '\n');
        else errOut(`petrel: ${clean(errCode)}: ${clean(message)}\n`);
        process.exitCode = code;
      };
      let api: ApiClient;
      try {
        const token = opts.token ?? process.env['PETREL_API_TOKEN'];
        api = new ApiClient(resolveEndpoint({ ...(opts.url ? { url: opts.url } : {}), ...(opts.config ? { config: opts.config } : {}) }), token || undefined);
      } catch (e) {
        fail(EXIT.USAGE, 'USAGE', (e as Error).message);
        return;
      }
      try {
        process.exitCode = await verb.run(api, args, opts, { out, err: errOut, json });
      } catch (e) {
        if (e instanceof UsageError) fail(EXIT.USAGE, 'USAGE', e.message);
        else if (e instanceof ApiClientError) {
          fail(e.code === 'UNREACHABLE' ? EXIT.UNREACHABLE : EXIT.FAILED, e.code, e.message, e.toJson());
          if (!json && e.diagnostics) for (const d of e.diagnostics) errOut(`${clean(d.file)}:${d.line}:${d.column}: ${d.severity}: ${clean(d.message)}\n`);
        } else throw e;
      }
    });
  }
}
