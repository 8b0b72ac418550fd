/**
 * Helpers for the management tests: a real Petrel in-process (test/harness
 * startPetrel) with the management server started next to it on loopback,
 * deps built from `petrel.mta`; raw HTTP requests that can choose the
 * client's source address (`localAddress: '127.0.0.2'`) and send a path
 * exactly as written (no `..` normalisation, unlike fetch).
 */
import * as http from 'node:http';
import { startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { SmtpTestClient } from '../harness/smtp-client.js';
import { createManagementFeeds, type AccessRule, type ManagementDeps, type QueueControl } from '../../src/management/deps.js';
import { startManagement, type RunningManagement } from '../../src/management/server.js';
import type { Cidr } from '../../src/config/types.js';
import type { Diagnostic } from '../../src/config/types.js';

export const BASE_CONFIG = [
  'smtp-listener 127.0.0.1:{{PORT}}',
  '<source 127.0.0.1>',
  '  always-allow-relaying yes',
  '  process-x-job yes',
  '</source>',
  '<virtual-mta mta1>',
  '  smtp-source-host 127.0.0.1 mta1.example.test',
  '</virtual-mta>',
  '<virtual-mta-pool pool1>',
  '  virtual-mta mta1',
  '</virtual-mta-pool>',
  '<domain *>',
  '  smtp-hosts [127.0.0.1]:9',
  '  auth-password s3cret-value',
  '</domain>',
  '',
].join('\n');

export function cidr(address: string, prefix = 32): Cidr {
  return { family: address.includes(':') ? 6 : 4, address, prefix, text: `${address}/${prefix}` };
}

export const ACCESS: AccessRule[] = [
  { cidr: cidr('127.0.0.1'), level: 'admin' },
  { cidr: cidr('127.0.0.2'), level: 'monitor' },
  { cidr: cidr('127.0.0.3'), level: 'none' },
];

export interface Setup {
  readonly petrel: RunningPetrel;
  readonly mgmt: RunningManagement;
  readonly deps: ManagementDeps;
  readonly base: string;
  stop(): Promise<void>;
}

export async function setup(
  opts: {
    config?: string;
    token?: string;
    access?: AccessRule[];
    queues?: QueueControl;
    reload?: () => Promise<{ ok: boolean; errors: readonly Diagnostic[] }>;
  } = {},
): Promise<Setup> {
  const petrel = await startPetrel(opts.config ?? BASE_CONFIG);
  const mta = petrel.mta;
  const feeds = createManagementFeeds(mta.spool);
  const deps: ManagementDeps = {
    spool: mta.spool,
    config: () => mta.config,
    resolver: () => mta.ctx.resolver,
    ...(opts.queues ? { queues: opts.queues } : {}),
    connections: () => ({ in: mta.server.connections, out: 0 }),
    startedAt: Date.now(),
    version: '0.1.0-test',
    hostname: 'petrel.test',
    reload: opts.reload ?? (async () => ({ ok: true, errors: [] })),
    events: feeds.events,
    history: feeds.history,
  };
  let mgmt: RunningManagement;
  try {
    mgmt = await startManagement(deps, { host: '127.0.0.1', port: 0, access: opts.access ?? ACCESS, ...(opts.token ? { token: opts.token } : {}) });
  } catch (e) {
    await petrel.stop();
    throw e;
  }
  return {
    petrel,
    mgmt,
    deps,
    base: `http://127.0.0.1:${mgmt.port}`,
    async stop() {
      await mgmt.close();
      feeds.detach();
      await petrel.stop();
    },
  };
}

export interface Res {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json<T = any>(): T;
}

/** One HTTP request over a real socket; `from` picks the client address. */
export function request(
  port: number,
  method: string,
  path: string,
  o: { from?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, ...(o.from ? { localAddress: o.from } : {}), headers: { ...(o.headers ?? {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Sends one message through real SMTP; returns the spool's message id (from the 250 reply, `queued as ID`). */
export async function sendMail(port: number, rcpts: string[], opts: { from?: string; headers?: string[] } = {}): Promise<string> {
  const c = await SmtpTestClient.connect(port);
  try {
    const expect = async (code: number): Promise<string> => {
      const r = await c.read();
      if (!r || r.code !== code) throw new Error(`expected ${code}, got ${r ? `${r.code} ${r.lines.join(' ')}` : 'close'}`);
      return r.lines.join(' ');
    };
    await expect(220);
    c.write('EHLO client.test\r\n');
    await expect(250);
    c.write(`MAIL FROM:<${opts.from ?? 'sender@client.test'}>\r\n`);
    await expect(250);
    for (const r of rcpts) {
      c.write(`RCPT TO:<${r}>\r\n`);
      await expect(250);
    }
    c.write('DATA\r\n');
    await expect(354);
    c.write([...(opts.headers ?? []), 'Subject: test', '', 'hello', '.', ''].join('\r\n'));
    const done = await expect(250);
    const id = /queued as (\S+)/.exec(done)?.[1];
    if (!id) throw new Error(`no message id in: ${done}`);
    return id;
  } finally {
    c.write('QUIT\r\n');
    await c.read().catch(() => undefined);
    c.socket.destroy();
  }
}

/** Puts a message straight into the spool (for names SMTP would refuse, such as a hostile domain). */
export async function spoolMessage(
  spool: import('../../src/spool/spool.js').Spool,
  rcpts: string[],
  env: { vmta?: string; jobId?: string } = {},
): Promise<string> {
  const w = spool.createMessage({ mailFrom: 'sender@client.test', recipients: rcpts.map((address) => ({ address })), ...env });
  w.write(Buffer.from('Subject: x\r\n\r\nbody\r\n'));
  return w.commit();
}
