/**
 * Child process of crash.test.ts: records outcomes as fast as it can from
 * `writers` concurrent loops and prints `A <key>` after each `record()`
 * resolves; prints `READY` once open. It never exits on its own: the test
 * kills it with SIGKILL.
 *
 * Usage: node --import tsx crash-writer.ts DIR KEYBASE WRITERS
 */
import path from 'node:path';
import { Accounting } from '../../src/accounting/index.js';
import type { AcctEvent } from '../../src/accounting/index.js';
import { config, event } from './helpers.js';

export function crashConfig(dir: string): string {
  return `<acct-file ${path.join(dir, 'acct.csv')}>
records d
record-fields d rcpt,jobId,dsnDiag,header_X-Job
</acct-file>
<acct-file ${path.join(dir, 'acct.jsonl')}>
records d
record-fields d rcpt,jobId,dsnDiag,header_X-Job
</acct-file>
`;
}

/** The record for `key`: values with commas and quotes, so a torn or mis-quoted line shows. */
export function crashEvent(key: number): AcctEvent {
  return event('d', `${key}@example.net`, {
    extra: { jobId: String(key) },
    outcome: { action: 'relayed', status: '2.0.0', diagnostic: `smtp;250 2.0.0 ok, queued as "${key}"` },
    headers: (n) => (n.toLowerCase() === 'x-job' ? `job "${key}", batch ${key % 7}` : undefined),
  });
}

export function expectedFields(key: number): Record<string, string> {
  return { type: 'd', rcpt: `${key}@example.net`, jobId: String(key), dsnDiag: `smtp;250 2.0.0 ok, queued as "${key}"`, 'header_X-Job': `job "${key}", batch ${key % 7}` };
}

async function main(): Promise<void> {
  const [dir, keyBaseText, writersText] = process.argv.slice(2);
  const acct = await Accounting.fromConfig(config(crashConfig(dir!)), { fallbackDir: dir!, tickMs: 0 });
  let next = Number(keyBaseText);
  process.stdout.write('READY\n');
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = next++;
      await acct.record([crashEvent(key)]);
      process.stdout.write(`A ${key}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(writersText) }, loop));
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((e: Error) => {
    process.stdout.write(`E ${e.message}\n`);
    process.exit(1);
  });
}
