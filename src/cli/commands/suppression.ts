/**
 * @module cli/commands/suppression
 *
 * `petrel suppression list [--contains TEXT]`, `petrel suppression show ADDR`,
 * `petrel suppression add ADDR [--reason TEXT]`, `petrel suppression remove ADDR`:
 * the suppression list over the HTTP API (Petrel's extension; no pmta equivalent).
 *
 * Exports: `SUPPRESSION_VERBS`.
 */
import type { SuppressionEntry } from '../../policy/suppression.js';
import { clean } from './table.js';
import { EXIT, type Verb, type VerbIo } from './verb.js';

function print(io: VerbIo, data: unknown, text: string): number {
  io.out(io.json ? JSON.stringify(data, null, 2) + '\n' : clean(text) + '\n');
  return EXIT.OK;
}

function line(e: SuppressionEntry): string {
  return `${e.address}  ${e.source}  ${new Date(e.at).toISOString()}  ${e.reason}`;
}

export const SUPPRESSION_VERBS: readonly Verb[] = [
  {
    words: ['suppression', 'list'],
    options: [['--contains <text>', 'only addresses containing this text']],
    description: 'list the suppressed addresses (hard bounces, complaints, added by hand)',
    pmta: '(none: Petrel extension)',
    run: async (api, _a, o, io) => {
      const r = await api.get<{ total: number; entries: SuppressionEntry[] }>('suppression', { contains: o['contains'] as string | undefined, limit: 1000 });
      return print(io, r, [`${r.total} suppressed address${r.total === 1 ? '' : 'es'}`, ...r.entries.map(line)].join('\n'));
    },
  },
  {
    words: ['suppression', 'show'],
    args: ['<address>'],
    description: 'show why an address is suppressed',
    pmta: '(none: Petrel extension)',
    run: async (api, a, _o, io) => {
      const r = await api.get<SuppressionEntry>(`suppression/${encodeURIComponent(a[0]!)}`);
      return print(io, r, line(r));
    },
  },
  {
    words: ['suppression', 'add'],
    args: ['<address>'],
    options: [['--reason <text>', 'why (kept with the entry)']],
    description: 'stop mail to an address (refused at RCPT where use-suppression-list yes)',
    pmta: '(none: Petrel extension)',
    run: async (api, a, o, io) => {
      const r = await api.post<{ ok: boolean; entry: SuppressionEntry }>('suppression', { address: a[0], ...(o['reason'] ? { reason: o['reason'] } : {}) });
      return print(io, r, `suppressed: ${line(r.entry)}`);
    },
  },
  {
    words: ['suppression', 'remove'],
    args: ['<address>'],
    description: 'allow mail to an address again',
    pmta: '(none: Petrel extension)',
    run: async (api, a, _o, io) => {
      const r = await api.delete<{ ok: boolean }>(`suppression/${encodeURIComponent(a[0]!)}`);
      return print(io, r, `removed: ${a[0]}`);
    },
  },
];
