/**
 * @module test/spool/crash-writer
 *
 * Child process for the crash test: opens the spool given on the command
 * line, prints `READY`, then commits messages from many concurrent writers
 * and delivers/defers them, forever, until it is killed with SIGKILL.
 * Every acknowledgement is printed with a synchronous write to stdout only
 * after the spool's promise resolved:
 *
 *   A <messageId> <key>      commit() resolved (the message is durable)
 *   D <recipientId>          a 'delivered' outcome is durable
 *   F <recipientId>          a 'deferred' outcome is durable
 *   P <recipientId>          printed BEFORE a 'delivered' outcome is submitted
 *                            (a kill between commit and the D line can leave a
 *                            message finished with only its P lines printed)
 *
 * The message with key k has `1 + k % 3` recipients and the body
 * `bodyFor(k, sizeForKey(k))`, so the checker can regenerate it.
 *
 * Usage: crash-writer.ts <dir> <keyBase> <writers>
 */
import { writeSync } from 'node:fs';
import { Spool } from '../../src/spool/index.js';
import { bodyFor } from './helpers.js';

export function sizeForKey(k: number): number {
  return k % 10 === 0 ? 40_000 : 200 + ((k * 7919) % 3000);
}
export function recipientsForKey(k: number): number {
  return 1 + (k % 3);
}
export const CRASH_SPOOL_OPTIONS = { segmentSize: 256 * 1024, inlineBodyLimit: 16 * 1024, minFreeBytes: 0 } as const;

const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};

async function main(): Promise<void> {
  const [dir, keyBaseText, writersText] = process.argv.slice(2);
  const spool = await Spool.open({ path: dir!, ...CRASH_SPOOL_OPTIONS, logger: { warn: () => {}, error: (m) => say(`E ${m}`) } });
  say('READY');
  let next = Number(keyBaseText);
  const writers = Number(writersText);

  const writer = async (): Promise<void> => {
    for (;;) {
      const k = next++;
      const w = spool.createMessage({
        mailFrom: 'crash@test.example',
        recipients: Array.from({ length: recipientsForKey(k) }, (_, i) => ({ address: `r${i}@d${k % 5}.example` })),
        jobId: String(k),
      });
      const body = bodyFor(k, sizeForKey(k));
      for (let off = 0; off < body.length; off += 4096) w.write(body.subarray(off, off + 4096));
      const id = await w.commit();
      say(`A ${id} ${k}`);
    }
  };

  const deliverer = async (): Promise<void> => {
    for (;;) {
      let did = 0;
      for (const q of spool.readyQueues()) {
        const batch = await spool.takeBatch(q, 50);
        const outcomes = batch.flatMap((m) =>
          m.recipients.map((r) =>
            Number(m.envelope.jobId) % 4 === 0 && r.attempts === 0
              ? { recipientId: r.id, kind: 'deferred' as const, nextAttemptAt: Date.now(), reply: '451 later' }
              : { recipientId: r.id, kind: 'delivered' as const, reply: '250 ok' },
          ),
        );
        if (outcomes.length === 0) continue;
        say(outcomes.filter((o) => o.kind === 'delivered').map((o) => `P ${o.recipientId}`).join('\n'));
        await spool.recordOutcomes(outcomes);
        did += outcomes.length;
        for (const o of outcomes) say(`${o.kind === 'delivered' ? 'D' : 'F'} ${o.recipientId}`);
      }
      if (did === 0) await new Promise((r) => setTimeout(r, 2));
    }
  };

  await Promise.all([...Array.from({ length: writers }, writer), deliverer()]);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    say(`X ${String(e)}`);
    process.exit(1);
  });
}
