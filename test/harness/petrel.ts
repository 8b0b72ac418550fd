/**
 * Starts Petrel for a test: a config written into a fresh temporary
 * directory (its spool inside it), the MTA run in-process on loopback, and
 * a `stop()` that closes everything and removes the directory.
 *
 * `{{PORT}}`, `{{PORT2}}` … in the config text are replaced by free ports;
 * `{{DIR}}` by the temporary directory; `{{TLS}}` by the fixtures' TLS dir.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mta, type MtaOptions } from '../../src/mta.js';
import { memoryLogger } from '../../src/util/log.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TLS_DIR = path.join(ROOT, 'test', 'fixtures', 'tls');

/** A TCP port nobody listens on right now (bound to port 0, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningPetrel {
  readonly mta: Mta;
  readonly dir: string;
  readonly ports: number[];
  readonly port: number;
  readonly logLines: string[];
  stop(graceMs?: number): Promise<void>;
}

export async function startPetrel(configText: string, opts: Partial<MtaOptions> & { files?: Record<string, string> } = {}): Promise<RunningPetrel> {
  // A port found free may be taken by another test file before Petrel binds it: then try new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(configText, opts);
    } catch (e) {
      if (attempt < 4 && /EADDRINUSE/.test(String((e as Error)?.message))) continue;
      throw e;
    }
  }
}

async function startOnce(configText: string, opts: Partial<MtaOptions> & { files?: Record<string, string> }): Promise<RunningPetrel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-test-'));
  const ports: number[] = [];
  let text = configText.replace(/\{\{DIR\}\}/g, dir).replace(/\{\{TLS\}\}/g, TLS_DIR);
  for (let i = 1; /\{\{PORT\d?\}\}/.test(text); i++) {
    const p = await freePort();
    ports.push(p);
    text = text.replace(i === 1 ? /\{\{PORT1?\}\}/g : new RegExp(`\\{\\{PORT${i}\\}\\}`, 'g'), String(p));
  }
  if (!/^\s*spool\s/m.test(text) && !/<spool\s/.test(text)) text += `\nspool ${path.join(dir, 'spool')}\n`;
  for (const [name, content] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, name), content);
  if (opts.noDelivery === false && !/^\s*resolver-servers\s+(127\.|\[?::1)/m.test(text)) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error('a test that delivers must set resolver-servers to a loopback DNS server (no query may leave this machine)');
  }
  const file = path.join(dir, 'petrel.conf');
  fs.writeFileSync(file, text);
  const log = memoryLogger();
  let mta: Mta;
  try {
    // Delivery is off unless a test asks for it (and then its config must point resolver-servers at a loopback DNS):
    // no test may send a DNS query or a connection off this machine.
    mta = await Mta.start({ configFile: file, log, noDelivery: true, ...opts });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    mta,
    dir,
    ports,
    port: ports[0] ?? 0,
    logLines: log.lines,
    async stop(graceMs = 2000) {
      await mta.stop(graceMs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
