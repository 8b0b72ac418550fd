/**
 * @module cli/commands/inject
 *
 * `petrel inject FILE --from ADDR --to ADDR[,ADDR…] [--server HOST:PORT]`:
 * submits a message file to a running Petrel over SMTP (for tests and
 * scripts, like PowerMTA's pickup or `pmta inject`). The server defaults to
 * the first `smtp-listener` of the configuration; FILE `-` reads standard
 * input. Lines are sent as CRLF; the reply to the end of data (with the
 * queue id) is printed. Exit 0 when the message was accepted, 1 when it was
 * refused (the reply says why), 69 when the server cannot be reached.
 *
 * Exports: `registerInject`.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/loader.js';
import { values } from '../../config/model.js';
import type { Listener } from '../../config/types.js';
import { SmtpClient, isSmtpClientError } from '../../delivery/smtp-client.js';

function defaultServer(configFile: string): { host: string; port: number } | undefined {
  const res = loadConfig(configFile);
  const l = res.config ? values<Listener>(res.config.global, 'smtp-listener')[0] : undefined;
  if (!l) return undefined;
  const host = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
  return { host, port: l.port };
}

function parseServer(text: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text.trim());
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

export function registerInject(program: Command, defaultConfig: string, out: (s: string) => void, errOut: (s: string) => void): void {
  program
    .command('inject')
    .description('submit a message file to a running Petrel over SMTP (tests and scripts)')
    .argument('<file>', 'RFC 5322 message file, or - for standard input')
    .requiredOption('--from <address>', 'envelope sender (MAIL FROM); "" for the null sender')
    .requiredOption('--to <addresses>', 'envelope recipients, comma-separated')
    .option('--server <host:port>', 'SMTP server (default: the first smtp-listener of the configuration)')
    .option('-c, --config <file>', 'configuration file, to find the listener', defaultConfig)
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { from: string; to: string; server?: string; config: string; json?: boolean }) => {
      const server = opts.server ? parseServer(opts.server) : defaultServer(opts.config);
      if (!server) {
        errOut(`petrel inject: ${opts.server ? `bad --server '${opts.server}' (expected HOST:PORT)` : `no smtp-listener in ${opts.config}; give --server HOST:PORT`}\n`);
        process.exitCode = 2;
        return;
      }
      let body: Buffer;
      try {
        body = file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
      } catch (e) {
        errOut(`petrel inject: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
        process.exitCode = 2;
        return;
      }
      const text = body.toString('latin1').replace(/\r?\n/g, '\r\n');
      const rcpts = opts.to.split(',').map((s) => s.trim()).filter(Boolean);
      let client: SmtpClient;
      try {
        client = await SmtpClient.connect({
          host: server.host,
          port: server.port,
          heloName: 'petrel-inject',
          timeouts: { connect: 10_000, greeting: 30_000, command: 60_000, dataSend: 60_000, dataTermination: 120_000 },
          tls: { mode: 'none', verify: 'none' },
        });
      } catch (e) {
        errOut(`petrel inject: cannot reach ${server.host}:${server.port}: ${isSmtpClientError(e) ? e.reply.text : String(e)}\n`);
        process.exitCode = 69;
        return;
      }
      const res = await client.send({ from: opts.from, recipients: rcpts.map((address, i) => ({ id: String(i), address })), body: Buffer.from(text, 'latin1') });
      await client.quit();
      const accepted = res.outcomes.filter((o) => o.kind === 'delivered').length;
      const reply = res.dataReply ?? res.outcomes.find((o) => o.kind !== 'delivered')?.reply;
      if (opts.json) {
        out(JSON.stringify({ accepted, recipients: res.outcomes.map((o) => ({ address: rcpts[Number(o.recipientId)], kind: o.kind === 'delivered' ? 'accepted' : 'refused', reply: `${o.reply.code} ${o.reply.enhanced ?? ''} ${o.reply.text}`.replace(/\s+/g, ' ').trim() })), reply: reply ? `${reply.code} ${reply.text}` : undefined }, null, 2) + '\n');
      } else {
        for (const o of res.outcomes) if (o.kind !== 'delivered') errOut(`refused ${rcpts[Number(o.recipientId)]}: ${o.reply.code} ${o.reply.enhanced ?? ''} ${o.reply.text}\n`);
        if (reply) out(`${reply.code} ${reply.enhanced ? reply.enhanced + ' ' : ''}${reply.text}\n`);
      }
      process.exitCode = accepted > 0 ? 0 : 1;
    });
}
