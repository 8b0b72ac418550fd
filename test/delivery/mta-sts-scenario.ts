/**
 * One MTA-STS delivery, end to end, for tls.test.ts: the domain
 * `sts.example.test` has two MX hosts — `mx-bad` (preference 10, not in the
 * policy) and `mx-good` (preference 20, in it) — publishes
 * `_mta-sts.sts.example.test` TXT and serves an enforce policy over HTTPS on
 * 127.0.0.1 (certificate for `mta-sts.sts.example.test` issued by the test
 * CA, trusted through `MtaOptions.mtaSts.ca`). `mx-good`'s SMTP certificate
 * is issued by the same CA for its name.
 *
 * Delivery to an enforce-mode MX verifies the certificate against the trust
 * store (Node's, plus NODE_EXTRA_CA_CERTS), not against `mtaSts.ca`; so
 * tls.test.ts runs this once in-process (test CA untrusted: expect a
 * deferral) and once in a child process started with
 * NODE_EXTRA_CA_CERTS=ca.crt (trusted: expect delivery). Run directly, it
 * prints the result as JSON on stdout.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { TLS_DIR, freePort, startPetrel } from '../harness/petrel.js';
import { Outcomes, submit } from './helpers.js';

export interface MtaStsResult {
  readonly outcome: { type: string; reply: string | undefined; attempts: number };
  /** Connections to the MX the policy does not list. */
  readonly badConnections: number;
  /** Connections to the listed MX: TLS facts and commands. */
  readonly goodConnections: Array<{ tls: boolean; commands: string[] }>;
  /** Messages the listed MX accepted, and whether over TLS. */
  readonly goodMessages: Array<{ tls: boolean; recipients: string[] }>;
  /** Policy requests the HTTPS server saw. */
  readonly policyRequests: string[];
}

const CA_CRT = path.join(TLS_DIR, 'ca.crt');
const CA_KEY = path.join(TLS_DIR, 'ca.key');

/** A certificate for `name` issued by the test CA, as one PEM file (certificate, then key). */
export function issue(dir: string, name: string, serial: string): string {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, timeout: 20_000, stdio: 'pipe' });
  fs.writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nsubjectAltName=DNS:${name}\n`);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  run(['x509', '-req', '-in', `${name}.csr`, '-CA', CA_CRT, '-CAkey', CA_KEY, '-set_serial', serial, '-days', '30', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
  const pem = path.join(dir, `${name}.pem`);
  fs.writeFileSync(pem, fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8') + fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'));
  return pem;
}

export async function runMtaStsScenario(): Promise<MtaStsResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-sts-e2e-'));
  const cleanup: Array<() => Promise<void> | void> = [() => fs.rmSync(tmp, { recursive: true, force: true })];
  try {
    const webPem = issue(tmp, 'mta-sts.sts.example.test', '0x5151');
    const goodPem = issue(tmp, 'mx-good.sts.example.test', '0x5152');
    const requests: string[] = [];
    const policy = 'version: STSv1\r\nmode: enforce\r\nmx: mx-good.sts.example.test\r\nmax_age: 86400\r\n';
    const webKey = fs.readFileSync(webPem);
    const web = https.createServer({ key: webKey, cert: webKey }, (req, res) => {
      requests.push(`${req.headers.host ?? ''}${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(policy);
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => {
      web.closeAllConnections();
      return new Promise<void>((r) => web.close(() => r()));
    });
    const webPort = (web.address() as { port: number }).port;

    const dns = await TestDnsServer.start();
    cleanup.push(() => dns.stop());
    const port = await freePort('127.0.0.21');
    const bad = await SmtpSink.start({ host: '127.0.0.20', port, hostname: 'mx-bad.sts.example.test', tls: { cert: path.join(TLS_DIR, 'mail.example.test.pem') } });
    cleanup.push(() => bad.stop());
    const good = await SmtpSink.start({ host: '127.0.0.21', port, hostname: 'mx-good.sts.example.test', tls: { cert: goodPem } });
    cleanup.push(() => good.stop());
    dns.set('sts.example.test', [
      { type: 'MX', preference: 10, exchange: 'mx-bad.sts.example.test' },
      { type: 'MX', preference: 20, exchange: 'mx-good.sts.example.test' },
    ]);
    dns.set('mx-bad.sts.example.test', [{ type: 'A', address: '127.0.0.20' }]);
    dns.set('mx-good.sts.example.test', [{ type: 'A', address: '127.0.0.21' }]);
    dns.set('_mta-sts.sts.example.test', [{ type: 'TXT', data: 'v=STSv1; id=e2e1;' }]);
    dns.set('mta-sts.sts.example.test', [{ type: 'A', address: '127.0.0.1' }]);

    const petrel = await startPetrel(
      `
host-name relay.petrel.test
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
<domain sts.example.test>
    use-mta-sts yes
</domain>
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 30m
    connect-timeout 2s
</domain>
`,
      { noDelivery: false, queueTickMs: 100, mtaSts: { port: webPort, ca: fs.readFileSync(CA_CRT) } },
    );
    cleanup.push(() => petrel.stop(500));
    const out = new Outcomes(petrel);
    const m = await submit(petrel.port, 'sender@petrel.test', ['accept-sts@sts.example.test']);
    const e = await out.outcome(m.rids[0]!);
    return {
      outcome: { type: e.type, reply: e.reply, attempts: e.attempts },
      badConnections: bad.connections.length,
      goodConnections: good.connections.map((c) => ({ tls: c.tls !== undefined, commands: c.commands })),
      goodMessages: good.messages.map((x) => ({ tls: x.tls, recipients: x.recipients.map((r) => r.address) })),
      policyRequests: requests,
    };
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runMtaStsScenario().then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
      process.exit(1);
    },
  );
}
