/**
 * @module delivery/smtp-session
 *
 * One delivery session of a queue over SMTP (STYLE habit 18: destination →
 * host → connection, with retry and DNS as layers around the client):
 *
 *   1. route: `smtp-hosts`/`route` when configured, else the MX of the
 *      queue's domain (null MX → bounce 556 5.1.10; NXDOMAIN → bounce
 *      550 5.1.2, category bad-domain; SERVFAIL/timeout → defer, phase dns);
 *   2. TLS policy per host: `use-starttls` / `require-starttls`; MTA-STS
 *      (`use-mta-sts`, RFC 8461: enforce → only policy MX hosts, TLS verified
 *      by CA); DANE (`use-dane`, RFC 7672: authenticated TLSA → TLS mandatory,
 *      certificate checked against TLSA; lookup failure → defer);
 *   3. connect from the VMTA's `smtp-source-host` (rotating over several),
 *      trying hosts in preference order, at most `mx-connection-attempts`
 *      addresses; a connection failure, a 4xx greeting, or a 421 when
 *      `smtp-421-means-mx-unavailable` moves on to the next host;
 *   4. per message: DKIM signing, then one SMTP transaction per
 *      `max-rcpt-per-transaction` recipients; the connection is reused for
 *      the next message with RSET, up to `max-msg-per-connection`.
 *
 * Invariant: every recipient handed to `deliver()` gets exactly one outcome,
 * and a recipient is reported delivered only when the remote server
 * acknowledged the data with 2xx.
 *
 * Exports: `SmtpDeliverySession`, `SmtpSessionDeps`.
 */
import type * as tls from 'node:tls';
import type { ConfigResolver } from '../config/resolve.js';
import type { SourceHost } from '../config/types.js';
import type { DeliverySession } from '../queue/manager.js';
import { vmtaSourceHosts, type QueueSettings } from '../queue/settings.js';
import type { Spool } from '../spool/spool.js';
import type { LeasedMessage } from '../spool/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { daneCheck, daneState } from './dane.js';
import type { DkimSigner } from './dkim.js';
import type { MtaStsPolicies } from './mta-sts.js';
import type { MxResolver, ResolvedMxHost } from './resolver.js';
import { SmtpClient, failureOutcomes, isSmtpClientError, type ClientOptions, type ClientTlsOptions } from './smtp-client.js';
import type { RecipientOutcome, RemoteReply, TlsVerify } from './types.js';

export interface SmtpSessionDeps {
  readonly spool: Spool;
  readonly resolver: ConfigResolver;
  readonly mx: MxResolver;
  readonly dkim?: DkimSigner;
  readonly mtaSts?: MtaStsPolicies;
  readonly clock: Clock;
  readonly log: Logger;
  /** The next source host of a VMTA (rotation shared by every session). */
  readonly pickSource: (vmta: string | undefined, hosts: readonly SourceHost[]) => SourceHost | undefined;
  /** Default EHLO name when the VMTA names none (`host-name`). */
  readonly hostname: string;
}

function localReply(code: number, enhanced: string, text: string, phase: RemoteReply['phase']): RemoteReply {
  return { code, enhanced, text, phase, local: true };
}

function allOutcomes(messages: readonly LeasedMessage[], kind: RecipientOutcome['kind'], scope: RecipientOutcome['scope'], reply: RemoteReply): RecipientOutcome[] {
  return messages.flatMap((m) => m.recipients.map((r) => ({ recipientId: r.id, kind, scope, reply })));
}

/**
 * How many error replies the server gave in one transaction: each refused
 * RCPT is one; a refused MAIL, DATA or final dot is one for all its
 * recipients. Replies made up locally (timeouts, our own policy) are not the
 * server's and do not count.
 */
function errorReplies(outcomes: readonly RecipientOutcome[]): number {
  let rcpt = 0;
  let other = false;
  for (const o of outcomes) {
    if (o.kind === 'delivered' || o.reply.local || o.reply.code < 400) continue;
    if (o.reply.phase === 'rcpt') rcpt++;
    else other = true;
  }
  return rcpt + (other ? 1 : 0);
}

export class SmtpDeliverySession implements DeliverySession {
  #client: SmtpClient | undefined;
  #hosts: ResolvedMxHost[] | undefined;
  #hostIndex = 0;
  #messages = 0;
  /** Error replies on the current connection (`max-errors-per-connection`). */
  #errors = 0;
  #dead = false;

  constructor(
    private readonly d: SmtpSessionDeps,
    private readonly queue: string,
    private readonly s: QueueSettings,
  ) {}

  get usable(): boolean {
    return !this.#dead && (this.#client === undefined || this.#client.usable);
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.quit();
  }

  async deliver(messages: readonly LeasedMessage[]): Promise<RecipientOutcome[]> {
    const out: RecipientOutcome[] = [];
    // A rollup queue (queue-to) holds mail for other domains: it can only be routed by its smtp-hosts.
    const foreign = messages.some((m) => m.recipients.some((r) => !r.address.toLowerCase().endsWith(`@${this.s.domain}`)));
    if (foreign && !this.s.routes) {
      const reply = localReply(451, '4.3.5', `queue ${this.queue} holds mail for other domains (queue-to) but has no smtp-hosts to route it`, 'policy');
      this.#dead = true;
      return allOutcomes(messages, 'deferred', 'queue', reply);
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (this.#client && (this.#messages >= this.s.maxMsgPerConnection || this.#errors >= this.s.maxErrorsPerConnection)) {
        // max-msg-per-connection: this connection has carried its share; max-errors-per-connection: the
        // server has refused enough on it. Either way the next message opens a new one.
        const done = this.#client;
        this.#client = undefined;
        await done.quit();
      }
      const client = await this.#connected();
      if ('fail' in client) {
        // The rest of the batch shares the fate of a failed connection attempt.
        out.push(...allOutcomes(messages.slice(i), client.fail.kind, client.fail.scope, client.fail.reply));
        this.#dead = true;
        break;
      }
      out.push(...(await this.#sendMessage(client.client, m)));
      this.#messages++;
      if (!client.client.usable) this.#client = undefined;
    }
    return out;
  }

  async #sendMessage(client: SmtpClient, m: LeasedMessage): Promise<RecipientOutcome[]> {
    let body: Buffer;
    try {
      body = await this.d.spool.readBody(m.messageId);
    } catch (e) {
      return m.recipients.map((r) => ({ recipientId: r.id, kind: 'deferred' as const, scope: 'message' as const, reply: localReply(451, '4.3.0', `cannot read the message from the spool: ${String((e as Error)?.message ?? e)}`, 'data') }));
    }
    if (this.d.dkim) {
      try {
        const signed = await this.d.dkim.sign(body, { ...(this.s.vmta ? { vmta: this.s.vmta } : {}), domain: this.s.domain, mailFrom: m.envelope.mailFrom });
        body = signed.signed;
      } catch (e) {
        this.d.log.warn('DKIM signing failed; sending unsigned', { queue: this.queue, id: m.messageId, error: String((e as Error)?.message ?? e) });
      }
    }
    const out: RecipientOutcome[] = [];
    const per = this.s.maxRcptPerTransaction;
    for (let i = 0; i < m.recipients.length; i += per) {
      const group = m.recipients.slice(i, i + per);
      if (!client.usable) {
        const again = await this.#connected();
        if ('fail' in again) {
          out.push(...group.map((r) => ({ recipientId: r.id, kind: again.fail.kind, scope: again.fail.scope, reply: again.fail.reply })));
          continue;
        }
        client = again.client;
      } else if (client.transactions > 0) {
        await client.reset();
      }
      const p = m.envelope.mailParams;
      const res = await client.send({
        from: m.envelope.mailFrom,
        params: {
          size: body.length,
          ...(p?.body === '8BITMIME' ? { body: '8BITMIME' as const } : {}),
          ...(p?.smtputf8 ? { smtputf8: true } : {}),
          ...(p?.ret ? { ret: p.ret } : {}),
          ...(p?.envid ? { envid: p.envid } : {}),
        },
        recipients: group.map((r) => ({ id: r.id, address: r.address, ...(r.notify ? { notify: r.notify } : {}), ...(r.orcpt ? { orcpt: r.orcpt } : {}) })),
        body,
      });
      out.push(...res.outcomes.map((o) => ({ ...o, delivery: { ...o.delivery, size: body.length } })));
      this.#errors += errorReplies(res.outcomes);
    }
    return out;
  }

  async #connected(): Promise<{ client: SmtpClient } | { fail: { kind: 'bounced' | 'deferred'; scope: RecipientOutcome['scope']; reply: RemoteReply } }> {
    if (this.#client?.usable) return { client: this.#client };
    this.#client = undefined;
    if (!this.#hosts) {
      const routed = await this.#route();
      if ('fail' in routed) return routed;
      this.#hosts = routed.hosts;
    }
    let attempts = 0;
    let last: RemoteReply | undefined;
    while (this.#hostIndex < this.#hosts.length && attempts < this.s.mxConnectionAttempts) {
      const host = this.#hosts[this.#hostIndex]!;
      const tlsOpts = await this.#tlsFor(host);
      if ('fail' in tlsOpts) {
        last = tlsOpts.fail;
        this.#hostIndex++;
        continue;
      }
      for (const address of host.addresses) {
        if (attempts >= this.s.mxConnectionAttempts) break;
        attempts++;
        const source = this.d.pickSource(this.s.vmta, vmtaSourceHosts(this.d.resolver, this.s.vmta));
        if (source && source.family !== (address.includes(':') ? 6 : 4)) continue;
        const opts: ClientOptions = {
          host: address,
          port: host.port,
          hostname: host.host,
          ...(source ? { localAddress: source.ip } : {}),
          heloName: source?.hostname ?? this.d.hostname,
          timeouts: this.s.timeouts,
          tls: tlsOpts.tls,
          ...(this.s.auth ? { auth: { username: this.s.auth.username, password: this.s.auth.password, allowPlainWithoutTls: this.s.auth.allowPlainWithoutTls } } : {}),
          ignore: this.s.ignore,
        };
        try {
          this.#client = await SmtpClient.connect(opts, this.d.clock);
          this.#messages = 0;
          this.#errors = 0;
          if (this.s.logTls) this.#logTls(this.#client, host.host, address, tlsOpts.tls);
          return { client: this.#client };
        } catch (e) {
          if (!isSmtpClientError(e)) throw e;
          const outcome = failureOutcomes(e, ['probe'])[0]!;
          last = outcome.reply;
          this.d.log.info('connection failed', { queue: this.queue, host: host.host, address, source: source?.ip, reply: `${last.code} ${last.text}`.slice(0, 200) });
          // A 5xx greeting with bounce-upon-5xx-greeting: the destination refuses us outright.
          if (outcome.kind === 'bounced' && last.phase === 'greeting' && this.s.bounceUpon5xxGreeting) return { fail: { kind: 'bounced', scope: 'message', reply: last } };
          if (outcome.scope === 'queue') return { fail: { kind: 'deferred', scope: 'queue', reply: last } };
          if (last.code === 421 && last.phase !== 'greeting' && !this.s.smtp421MeansMxUnavailable) return { fail: { kind: 'deferred', scope: 'host', reply: last } };
        }
      }
      this.#hostIndex++;
    }
    return { fail: { kind: 'deferred', scope: 'host', reply: last ?? localReply(451, '4.4.1', `no MX host of ${this.s.domain} could be reached`, 'connect') } };
  }

  /** `log-tls yes`: one line per connection saying whether, how and how verified it is encrypted (PowerMTA's "tls: … connected with …"). */
  #logTls(client: SmtpClient, host: string, address: string, asked: ClientTlsOptions): void {
    const t = client.tls;
    const fields = { queue: this.queue, host, address, source: client.facts.sourceIp };
    if (!t) {
      const why =
        asked.mode === 'none' ? 'STARTTLS not used (use-starttls no)' : client.capabilities.has('STARTTLS') ? 'STARTTLS offered but it failed; sent in clear' : 'the server did not offer STARTTLS';
      this.d.log.info('tls: none', { ...fields, why });
      return;
    }
    const judged =
      asked.verify === 'dane'
        ? 'DANE match'
        : asked.verify === 'ca'
          ? 'certificate verified by the CA store'
          : asked.mode === 'required'
            ? 'TLS required, certificate not checked'
            : 'certificate not checked (opportunistic)';
    this.d.log.info(`tls: ${t.protocol} connected with ${t.cipher}`, { ...fields, protocol: t.protocol, cipher: t.cipher, verified: t.verified, judged });
  }

  async #route(): Promise<{ hosts: ResolvedMxHost[] } | { fail: { kind: 'bounced' | 'deferred'; scope: RecipientOutcome['scope']; reply: RemoteReply } }> {
    const r = this.s.routes ? await this.d.mx.hostRoutes(this.s.routes, this.s.domain) : await this.d.mx.route(this.s.domain);
    if (this.s.logResolution) {
      const found = r.kind === 'hosts' ? { hosts: r.hosts.map((h) => `${h.host} (pref ${h.preference}${h.fromMx ? '' : ', implicit MX'}${h.authenticated ? ', DNSSEC' : ''}): ${h.addresses.join(' ')}`) } : { result: r.kind, ...('detail' in r ? { detail: r.detail } : {}) };
      this.d.log.info('resolution', { queue: this.queue, domain: this.s.domain, via: this.s.routes ? 'smtp-hosts' : 'MX', ...found });
    }
    switch (r.kind) {
      case 'hosts': {
        let hosts = [...r.hosts];
        if (this.s.defaultPort !== 25) hosts = hosts.map((h) => (h.port === 25 && !this.s.routes ? { ...h, port: this.s.defaultPort } : h));
        return { hosts };
      }
      case 'null-mx':
        return { fail: { kind: 'bounced', scope: 'message', reply: localReply(556, '5.1.10', `${this.s.domain} does not accept mail (null MX, RFC 7505)`, 'dns') } };
      case 'nxdomain':
        return { fail: { kind: 'bounced', scope: 'message', reply: localReply(550, '5.1.2', `Host or domain name not found: ${this.s.domain} (${r.detail})`, 'dns') } };
      case 'temp-fail':
        return { fail: { kind: 'deferred', scope: 'queue', reply: localReply(451, '4.4.3', `DNS lookup for ${this.s.domain} failed: ${r.detail}`, 'dns') } };
    }
  }

  /** The TLS policy for one MX host: the queue's settings, tightened by MTA-STS and DANE. */
  async #tlsFor(host: ResolvedMxHost): Promise<{ tls: ClientTlsOptions } | { fail: RemoteReply }> {
    let mode = this.s.tlsMode;
    let verify: TlsVerify = this.s.tlsVerify && mode !== 'none' ? 'ca' : 'none';
    if (this.s.useMtaSts && this.d.mtaSts) {
      const policy = await this.d.mtaSts.policyFor(this.s.domain);
      if (policy && policy.mode === 'enforce') {
        if (!this.d.mtaSts.mxAllowed(policy, host.host)) return { fail: localReply(451, '4.7.5', `MTA-STS policy of ${this.s.domain} does not list MX ${host.host}`, 'policy') };
        mode = 'required';
        verify = 'ca';
      }
    }
    if (this.s.useDane && host.fromMx) {
      const state = await daneState(this.d.mx, host, { port: host.port });
      if (state.state === 'temp-fail') return { fail: localReply(451, '4.7.5', `DANE TLSA lookup for ${host.host} failed: ${state.detail}`, 'dns') };
      if (state.state === 'secure-tlsa') {
        const records = state.records;
        const names = [host.host, this.s.domain];
        return {
          tls: {
            mode: 'required',
            verify: 'dane',
            checkCertificate: (cert: tls.DetailedPeerCertificate) => daneCheck(records, cert, { hostnames: names, clock: this.d.clock }),
          },
        };
      }
      // RFC 7672 §2.2: TLSA records exist but none is usable: TLS is still mandatory, without authentication.
      if (state.state === 'unusable-tlsa') mode = 'required';
    }
    return { tls: { mode, verify } };
  }
}
