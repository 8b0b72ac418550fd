/**
 * @module delivery/local
 *
 * The queue types that do not speak SMTP (`<domain> type discard|file|pipe`,
 * as PowerMTA defines them):
 *   - `discard`: every recipient is reported delivered; nothing is sent;
 *   - `file`: each message is written to `file-destination` (a directory),
 *     one file per message with `X-Sender:` / `X-Receiver:` lines first
 *     (PowerMTA's pickup format, so the file can be picked up again),
 *     written to a temporary name, fsync'd, then renamed;
 *   - `pipe`: `command` runs through `/bin/sh -c` once per recipient with the
 *     message on its standard input; `$from` and `$to` in the command are
 *     replaced by the shell-quoted addresses (and exported as FROM / TO).
 *     Exit 0 → delivered; 75 (EX_TEMPFAIL) or a signal → deferred; anything
 *     else → bounced with the command's stderr as the diagnostic.
 *
 * Exports: `LocalSession`, `shellQuote`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { DeliverySession } from '../queue/manager.js';
import type { QueueSettings } from '../queue/settings.js';
import type { Spool } from '../spool/spool.js';
import type { LeasedMessage } from '../spool/types.js';
import type { RecipientOutcome, RemoteReply } from './types.js';

const PIPE_TIMEOUT_MS = 5 * 60_000;

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function local(code: number, enhanced: string, text: string, phase: RemoteReply['phase'] = 'data'): RemoteReply {
  return { code, enhanced, text, phase, local: true };
}

export class LocalSession implements DeliverySession {
  readonly usable = true;

  constructor(
    private readonly spool: Spool,
    private readonly s: QueueSettings,
  ) {}

  async deliver(messages: readonly LeasedMessage[]): Promise<RecipientOutcome[]> {
    const out: RecipientOutcome[] = [];
    for (const m of messages) {
      switch (this.s.type) {
        case 'discard':
          for (const r of m.recipients) out.push({ recipientId: r.id, kind: 'delivered', scope: 'recipient', reply: local(250, '2.0.0', 'discarded (type discard)') });
          break;
        case 'file':
          out.push(...(await this.#file(m)));
          break;
        case 'pipe':
          for (const r of m.recipients) out.push(await this.#pipe(m, r.id, r.address));
          break;
        default:
          for (const r of m.recipients) out.push({ recipientId: r.id, kind: 'deferred', scope: 'queue', reply: local(451, '4.3.5', `queue type ${this.s.type} is not supported`, 'policy') });
      }
    }
    return out;
  }

  async close(): Promise<void> {}

  async #file(m: LeasedMessage): Promise<RecipientOutcome[]> {
    const dir = this.s.fileDestination;
    const fail = (text: string): RecipientOutcome[] =>
      m.recipients.map((r) => ({ recipientId: r.id, kind: 'deferred' as const, scope: 'queue' as const, reply: local(451, '4.3.0', text) }));
    if (!dir) return fail('type file needs file-destination');
    try {
      const body = await this.spool.readBody(m.messageId);
      const head = `X-Sender: ${m.envelope.mailFrom}\r\n${m.recipients.map((r) => `X-Receiver: ${r.address}\r\n`).join('')}`;
      await fsp.mkdir(dir, { recursive: true });
      const final = path.join(dir, `${m.messageId}.eml`);
      const tmp = path.join(dir, `.${m.messageId}.${randomBytes(4).toString('hex')}.tmp`);
      const fh = await fsp.open(tmp, 'w', 0o640);
      try {
        await fh.writeFile(Buffer.concat([Buffer.from(head, 'latin1'), body]));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, final);
      return m.recipients.map((r) => ({ recipientId: r.id, kind: 'delivered' as const, scope: 'recipient' as const, reply: local(250, '2.0.0', `written to ${final}`) }));
    } catch (e) {
      return fail(`cannot write to ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }

  async #pipe(m: LeasedMessage, recipientId: string, to: string): Promise<RecipientOutcome> {
    const command = this.s.command;
    if (!command) return { recipientId, kind: 'deferred', scope: 'queue', reply: local(451, '4.3.0', 'type pipe needs command') };
    const body = await this.spool.readBody(m.messageId);
    const cmd = command.replace(/\$from\b/g, shellQuote(m.envelope.mailFrom)).replace(/\$to\b/g, shellQuote(to));
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, FROM: m.envelope.mailFrom, TO: to } });
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), PIPE_TIMEOUT_MS);
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 2000) err += d.toString('utf8');
      });
      child.stdin.on('error', () => undefined);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ recipientId, kind: 'deferred', scope: 'queue', reply: local(451, '4.3.0', `cannot run command: ${e.message}`) });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const diag = err.trim().replace(/\s+/g, ' ').slice(0, 300);
        if (code === 0) resolve({ recipientId, kind: 'delivered', scope: 'recipient', reply: local(250, '2.0.0', 'delivered to command') });
        else if (code === 75 || signal) resolve({ recipientId, kind: 'deferred', scope: 'recipient', reply: local(451, '4.3.0', `command ${signal ? `killed by ${signal}` : 'exit 75'}${diag ? ': ' + diag : ''}`) });
        else resolve({ recipientId, kind: 'bounced', scope: 'recipient', reply: local(554, '5.3.0', `command exit ${code}${diag ? ': ' + diag : ''}`) });
      });
      child.stdin.end(body);
    });
  }
}
