/**
 * The usual set-up of a delivery test, in one call: Petrel's test DNS
 * server, one SMTP sink on 127.0.0.2 that is the MX of every domain named,
 * and a delivering Petrel whose config is the test's blocks between a
 * standard head (loopback resolver, listener, relaying for 127.0.0.1) and a
 * `<domain *>` tail (the sink's port, no STARTTLS, retry-after 1h).
 */
import type { MtaOptions } from '../../src/mta.js';
import { TestDnsServer } from '../harness/dns-server.js';
import { SmtpSink } from '../harness/smtp-sink.js';
import { freePort, startPetrel, type RunningPetrel } from '../harness/petrel.js';
import { Outcomes } from './helpers.js';

export interface DeliveryRig {
  readonly dns: TestDnsServer;
  readonly sink: SmtpSink;
  readonly petrel: RunningPetrel;
  readonly out: Outcomes;
  stop(): Promise<void>;
}

export async function startDeliveryRig(opts: {
  /** Domains whose MX is the sink. */
  readonly domains: readonly string[];
  /** Config between the head and the `<domain *>` tail: the test's own blocks. */
  readonly config?: string;
  readonly petrel?: Partial<MtaOptions>;
}): Promise<DeliveryRig> {
  const dns = await TestDnsServer.start();
  const port = await freePort('127.0.0.2');
  const sink = await SmtpSink.start({ host: '127.0.0.2', port, hostname: 'mx.rig.example.test' });
  dns.set('mx.rig.example.test', [{ type: 'A', address: '127.0.0.2' }]);
  for (const d of opts.domains) dns.set(d, [{ type: 'MX', preference: 10, exchange: 'mx.rig.example.test' }]);
  const petrel = await startPetrel(
    `
resolver-servers ${dns.address}
smtp-listener 127.0.0.1:{{PORT}}
<source 127.0.0.1>
    always-allow-relaying yes
</source>
${opts.config ?? ''}
<domain *>
    default-smtp-port ${port}
    use-starttls no
    retry-after 1h
</domain>
`,
    { noDelivery: false, queueTickMs: 100, ...opts.petrel },
  );
  return {
    dns,
    sink,
    petrel,
    out: new Outcomes(petrel),
    async stop() {
      await petrel.stop(500);
      await sink.stop();
      await dns.stop();
    },
  };
}
