/**
 * @module cli/commands/verb
 *
 * The shape of one management verb in the CLI grammar table (STYLE habit
 * 21): the words that name it (`['show', 'queues']`), its arguments and
 * options, the `pmta` command it replaces, and `run`, which talks to the API
 * and returns an exit code. cli/commands/register.ts turns the table into
 * commander commands and adds `--url`, `--token`, `--config` and `--json`
 * to every verb.
 *
 * Exports: `Verb`, `VerbIo`, `VerbOptions`, `EXIT`.
 */
import type { ApiClient } from '../api-client.js';

/** Exit codes: 0 ok; 1 the server refused or did not find it; 2 usage; 69 server unreachable (EX_UNAVAILABLE). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 69 } as const;

export interface VerbIo {
  out(s: string): void;
  err(s: string): void;
  readonly json: boolean;
}

export type VerbOptions = Record<string, string | boolean | undefined>;

export interface Verb {
  readonly words: readonly string[];
  /** Commander argument syntax, e.g. `<queue>`. */
  readonly args?: readonly string[];
  /** Commander option flags and description (and default). */
  readonly options?: ReadonlyArray<readonly [flags: string, description: string, defaultValue?: string]>;
  readonly description: string;
  /** The PowerMTA command this replaces (for help and docs/management.md). */
  readonly pmta: string;
  run(api: ApiClient, args: readonly string[], opts: VerbOptions, io: VerbIo): Promise<number>;
}
