/**
 * @module delivery/client-transaction
 *
 * One mail transaction on an open session (RFC 5321 §3.3): MAIL, RCPT…,
 * DATA or BDAT, and the outcome of every recipient. The session
 * (`smtp-client.ts`) owns the connection; this module owns the order of
 * commands and the reading of their replies.
 *
 * Exports:
 *  - `TransactionRecipient`, `Transaction`, `TransactionResult`.
 *  - `SessionExtensions`: what the server offers, after `ignore-*`.
 *  - `TransactionSession`: what a transaction needs from the session.
 *  - `runTransaction(session, tx)` → `TransactionResult`; never rejects for
 *    anything the server or the network does (only for internal errors).
 *
 * Invariants (Postfix smtp_proto.c; STYLE habit 8):
 *  - Exactly one outcome per recipient, in the order given.
 *  - A recipient is `delivered` only when its RCPT got 2xx AND the reply to
 *    the end of its data (final dot, or BDAT LAST) was 2xx.
 *  - RCPT 4xx → deferred, 5xx → bounced, scope `recipient`, with that reply.
 *    MAIL or DATA refused, or the data refused: every recipient still open
 *    gets that reply, scope `message` (4xx deferred, 5xx bounced).
 *  - A 421 anywhere, a timeout, a reset, garbage: every recipient still open
 *    is deferred with scope `host` (the reply or a local description), and
 *    the connection is closed: after such a failure the dialogue is out of
 *    step and the connection is never reused.
 *  - The body is sent only when at least one RCPT was accepted. With
 *    PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and DATA go in one write;
 *    if DATA still got 354 with no recipient accepted, a lone "." ends it.
 *    CHUNKING (RFC 3030): MAIL and RCPTs in one write, then `BDAT n LAST`
 *    with the body in one write, so nothing is sent for a refused envelope.
 *  - Local checks before anything is sent: the server's SIZE (RFC 1870 §6,
 *    552 5.3.4), SMTPUTF8 needed but not offered (RFC 6531 §3.5, 553 5.6.7),
 *    an address with control characters (never written: they would forge
 *    commands).
 *  - ESMTP parameters only when offered: SIZE, BODY=8BITMIME (RFC 6152; an
 *    8-bit body to a server without 8BITMIME is sent as is, PowerMTA does
 *    not downconvert), SMTPUTF8, DSN's RET/ENVID/NOTIFY/ORCPT (RFC 3461 §4).
 *  - A transaction left open (MAIL accepted, no data) sets `needsReset`; the
 *    next transaction starts with RSET (in its pipelined group if it can).
 */

import { domainToASCII } from 'node:url';
import { formatMailParams, formatRcptParams, type MailParams, type NotifyCondition, type RcptParams } from '../smtp/params.js';
import type { ParsedReply } from '../smtp/reply.js';
import { bdatPayload, dataPayload, prepareBody } from './client-body.js';
import type { ClientConnection } from './client-connection.js';
import { toRemoteReply } from './client-connection.js';
import { SmtpClientError, isSmtpClientError, localReply } from './client-errors.js';
import type { DeliveryFacts, OutcomeScope, RecipientOutcome, RemoteReply } from './types.js';

export interface TransactionRecipient {
  readonly id: string;
  /** `local@domain`, without angle brackets. */
  readonly address: string;
  /** RFC 3461 §4.1: `['NEVER']` or some of SUCCESS, FAILURE, DELAY. */
  readonly notify?: readonly string[];
  /** RFC 3461 §4.2 as stored: `addr-type;address` (address decoded). */
  readonly orcpt?: string;
}

export interface Transaction {
  /** Reverse path without brackets; `''` for the null sender. */
  readonly from: string;
  readonly params?: {
    readonly size?: number;
    readonly body?: '7BIT' | '8BITMIME';
    readonly smtputf8?: boolean;
    readonly ret?: 'FULL' | 'HDRS';
    readonly envid?: string;
  };
  readonly recipients: readonly TransactionRecipient[];
  /** The message as stored: CRLF lines, not dot-stuffed. */
  readonly body: Buffer | Uint8Array | readonly Uint8Array[];
}

export interface TransactionResult {
  /** One per recipient, in order. */
  readonly outcomes: RecipientOutcome[];
  /** The reply to the end of data (or to DATA when it was refused). */
  readonly dataReply?: RemoteReply;
  /** The whole body and its terminator were written and flushed. */
  readonly messageSent: boolean;
  /** The failure that ended the transaction early, if any (the connection is then closed). */
  readonly error?: SmtpClientError;
}

export interface SessionExtensions {
  readonly pipelining: boolean;
  readonly chunking: boolean;
  readonly dsn: boolean;
  readonly eightBitMime: boolean;
  readonly smtputf8: boolean;
  /** SIZE offered: its limit, null without a limit; undefined when not offered. */
  readonly size: number | null | undefined;
}

export interface TransactionSession {
  readonly conn: ClientConnection;
  readonly ext: SessionExtensions;
  readonly facts: DeliveryFacts;
  readonly commandTimeoutMs: number;
  readonly dataSendTimeoutMs: number;
  readonly dataTerminationTimeoutMs: number;
  /** A transaction is open on the server (MAIL accepted, no data): RSET first. */
  needsReset: boolean;
}

const CONTROL = /[\x00-\x1f\x7f]/;
const ASCII = /^[\x00-\x7f]*$/;

type Wire = { readonly ok: true; readonly text: string; readonly utf8: boolean } | { readonly ok: false; readonly reason: string };

/** `<address>` for the wire; U-label domains become A-labels when that avoids SMTPUTF8. */
function wireAddress(address: string): Wire {
  if (address === '') return { ok: true, text: '<>', utf8: false };
  if (CONTROL.test(address) || address.includes('<') || address.includes('>')) return { ok: false, reason: 'control character or bracket in address' };
  if (ASCII.test(address)) return { ok: true, text: `<${address}>`, utf8: false };
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  const domain = at < 0 ? '' : address.slice(at + 1);
  if (!ASCII.test(local)) return { ok: true, text: `<${address}>`, utf8: true };
  const ascii = domainToASCII(domain);
  return ascii === '' ? { ok: true, text: `<${address}>`, utf8: true } : { ok: true, text: `<${local}@${ascii}>`, utf8: false };
}

function rcptParams(r: TransactionRecipient): RcptParams {
  const out: { notify?: RcptParams['notify']; orcpt?: RcptParams['orcpt'] } = {};
  if (r.notify !== undefined && r.notify.length > 0) {
    const up = r.notify.map((n) => n.toUpperCase());
    out.notify = up.includes('NEVER') ? 'NEVER' : (up.filter((n) => n === 'SUCCESS' || n === 'FAILURE' || n === 'DELAY') as NotifyCondition[]);
    if (Array.isArray(out.notify) && out.notify.length === 0) delete out.notify;
  }
  if (r.orcpt !== undefined) {
    const semi = r.orcpt.indexOf(';');
    if (semi > 0) out.orcpt = { addrType: r.orcpt.slice(0, semi).toLowerCase(), address: r.orcpt.slice(semi + 1) };
  }
  return out;
}

function cls(code: number): 2 | 3 | 4 | 5 {
  return Math.floor(code / 100) as 2 | 3 | 4 | 5;
}

/** Runs one transaction; see the module contract. */
export async function runTransaction(s: TransactionSession, tx: Transaction): Promise<TransactionResult> {
  const conn = s.conn;
  const mta = conn.mta;
  const body = prepareBody(tx.body);
  const facts: DeliveryFacts = { ...s.facts, size: body.size };
  const n = tx.recipients.length;
  const outcomes: Array<RecipientOutcome | undefined> = new Array<RecipientOutcome | undefined>(n).fill(undefined);
  let dataReply: RemoteReply | undefined;
  let messageSent = false;

  const set = (i: number, kind: RecipientOutcome['kind'], scope: OutcomeScope, reply: RemoteReply): void => {
    if (outcomes[i] !== undefined) return;
    outcomes[i] = { recipientId: (tx.recipients[i] as TransactionRecipient).id, kind, scope, reply, delivery: facts };
  };
  const setOpen = (kind: RecipientOutcome['kind'], scope: OutcomeScope, reply: RemoteReply, only?: readonly number[]): void => {
    for (const i of only ?? outcomes.keys()) set(i, kind, scope, reply);
  };
  const byClass = (r: RemoteReply, scope: OutcomeScope, only?: readonly number[]): void => setOpen(r.code >= 500 ? 'bounced' : 'deferred', scope, r, only);
  const done = (error?: SmtpClientError): TransactionResult => ({
    outcomes: outcomes as RecipientOutcome[],
    messageSent,
    ...(dataReply !== undefined ? { dataReply } : {}),
    ...(error !== undefined ? { error } : {}),
  });
  const localFail = (err: SmtpClientError): TransactionResult => {
    setOpen(err.kind, err.scope, err.reply);
    return done();
  };

  // Local checks: nothing is sent for a message that cannot go.
  const from = wireAddress(tx.from);
  if (!from.ok) {
    setOpen('bounced', 'message', { code: 553, enhanced: '5.1.7', text: `invalid sender address: ${from.reason}`, phase: 'mail', local: true, mta });
    return done();
  }
  let needsUtf8 = tx.params?.smtputf8 === true || from.utf8;
  const active: number[] = [];
  const rcptWire: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = wireAddress((tx.recipients[i] as TransactionRecipient).address);
    if (!w.ok) {
      set(i, 'bounced', 'recipient', { code: 553, enhanced: '5.1.3', text: `invalid recipient address: ${w.reason}`, phase: 'rcpt', local: true, mta });
      continue;
    }
    needsUtf8 ||= w.utf8;
    active.push(i);
    rcptWire.push(w.text);
  }
  if (active.length === 0) return done();
  if (needsUtf8 && !s.ext.smtputf8) {
    return localFail(new SmtpClientError('SMTPUTF8_UNSUPPORTED', localReply('SMTPUTF8_UNSUPPORTED', 'mail', 'the message needs SMTPUTF8 and the server does not offer it', mta)));
  }
  if (typeof s.ext.size === 'number' && body.size > s.ext.size) {
    return localFail(new SmtpClientError('MESSAGE_TOO_BIG', localReply('MESSAGE_TOO_BIG', 'mail', `message size ${body.size} exceeds the server's SIZE limit ${s.ext.size}`, mta)));
  }

  // Commands (RFC 1870 §3, RFC 6152 §3, RFC 6531 §3.4, RFC 3461 §4).
  const p = tx.params ?? {};
  const mp: { -readonly [K in keyof MailParams]: MailParams[K] } = {};
  if (s.ext.size !== undefined) mp.size = body.size;
  if (s.ext.eightBitMime && (p.body === '8BITMIME' || body.eightBit)) mp.body = '8BITMIME';
  if (needsUtf8) mp.smtputf8 = true;
  if (s.ext.dsn) {
    if (p.ret !== undefined) mp.ret = p.ret;
    if (p.envid !== undefined && !CONTROL.test(p.envid)) mp.envid = p.envid;
  }
  const mailWords = formatMailParams(mp);
  const mailLine = `MAIL FROM:${from.text}${mailWords.length > 0 ? ' ' + mailWords.join(' ') : ''}\r\n`;
  const rcptLines = active.map((i, k) => {
    const words = s.ext.dsn ? formatRcptParams(rcptParams(tx.recipients[i] as TransactionRecipient)) : [];
    return `RCPT TO:${rcptWire[k] as string}${words.length > 0 ? ' ' + words.join(' ') : ''}\r\n`;
  });
  const useBdat = s.ext.chunking;

  const read = async (phase: RemoteReply['phase'], timeoutMs = s.commandTimeoutMs): Promise<ParsedReply> => {
    const r = await conn.read(phase, timeoutMs, phase === 'dot' || phase === 'bdat' ? 'DATA_TIMEOUT' : 'COMMAND_TIMEOUT');
    if (r.code === 421) {
      // RFC 5321 §3.8: the server is closing the channel.
      conn.abort('SERVICE_UNAVAILABLE', `server closing (421) at ${phase.toUpperCase()}`);
      throw new SmtpClientError('SERVICE_UNAVAILABLE', toRemoteReply(r, phase, mta));
    }
    return r;
  };
  const checkReset = (r: ParsedReply): void => {
    if (cls(r.code) !== 2) throw new SmtpClientError('REMOTE_REJECTED', { ...toRemoteReply(r, 'rset', mta), code: 451, enhanced: '4.4.0', local: true, text: `RSET refused: ${r.code} ${r.lines.join(' ')}`.slice(0, 500) });
    s.needsReset = false;
  };

  try {
    const accepted: number[] = [];
    let mailReply: ParsedReply;
    let dataCmd: ParsedReply | undefined;
    const reset = s.needsReset;
    if (s.ext.pipelining) {
      // RFC 2920 §3.1: one group, DATA (when used) last; replies read in order.
      conn.send((reset ? 'RSET\r\n' : '') + mailLine + rcptLines.join('') + (useBdat ? '' : 'DATA\r\n'), (reset ? 1 : 0) + 1 + rcptLines.length + (useBdat ? 0 : 1));
      if (reset) checkReset(await read('rset'));
      mailReply = await read('mail');
      for (const i of active) {
        const r = await read('rcpt');
        if (cls(mailReply.code) === 2) {
          if (cls(r.code) === 2) accepted.push(i);
          else byClass(toRemoteReply(r, 'rcpt', mta), 'recipient', [i]);
        }
      }
      if (!useBdat) dataCmd = await read('data');
    } else {
      if (reset) {
        conn.send('RSET\r\n', 1);
        checkReset(await read('rset'));
      }
      conn.send(mailLine, 1);
      mailReply = await read('mail');
      if (cls(mailReply.code) === 2) {
        for (let k = 0; k < active.length; k++) {
          conn.send(rcptLines[k] as string, 1);
          const r = await read('rcpt');
          const i = active[k] as number;
          if (cls(r.code) === 2) accepted.push(i);
          else byClass(toRemoteReply(r, 'rcpt', mta), 'recipient', [i]);
        }
        if (accepted.length > 0 && !useBdat) {
          conn.send('DATA\r\n', 1);
          dataCmd = await read('data');
        }
      }
    }

    // MAIL refused: the whole message, scope message.
    if (cls(mailReply.code) !== 2) {
      byClass(toRemoteReply(mailReply, 'mail', mta), 'message');
      if (dataCmd?.code === 354) await endEmptyData(s);
      return done();
    }
    s.needsReset = true;
    if (accepted.length === 0) {
      if (dataCmd?.code === 354) await endEmptyData(s);
      return done();
    }
    if (!useBdat) {
      const dc = dataCmd as ParsedReply;
      if (dc.code !== 354) {
        dataReply = toRemoteReply(dc, 'data', mta);
        if (cls(dc.code) === 2 || cls(dc.code) === 3) throw new SmtpClientError('PROTOCOL_ERROR', localReply('PROTOCOL_ERROR', 'data', `unexpected reply to DATA: ${dc.code} ${dataReply.text}`, mta));
        byClass(dataReply, 'message', accepted);
        return done();
      }
      await conn.sendData(dataPayload(body), 1, s.dataSendTimeoutMs, 'data');
    } else {
      const chunk = bdatPayload(body);
      await conn.sendData([Buffer.from(`BDAT ${chunk.length} LAST\r\n`, 'latin1'), chunk], 1, s.dataSendTimeoutMs, 'bdat');
    }
    messageSent = true;
    const phase = useBdat ? 'bdat' : 'dot';
    const fin = await read(phase, s.dataTerminationTimeoutMs);
    s.needsReset = false; // RFC 5321 §4.1.1.4: the reply to the end of data ends the transaction
    dataReply = toRemoteReply(fin, phase, mta);
    if (cls(fin.code) === 2) setOpen('delivered', 'recipient', dataReply, accepted);
    else if (cls(fin.code) === 3) throw new SmtpClientError('PROTOCOL_ERROR', localReply('PROTOCOL_ERROR', phase, `unexpected reply to the end of data: ${fin.code} ${dataReply.text}`, mta));
    else byClass(dataReply, 'message', accepted);
    return done();
  } catch (e) {
    if (!isSmtpClientError(e)) {
      conn.close();
      throw e;
    }
    conn.abort(e.code, e.message);
    setOpen(e.kind, e.scope, e.reply);
    return done(e);
  }
}

/** RFC 2920 §3.1: DATA got 354 although nothing can be sent; end it with a lone ".". */
async function endEmptyData(s: TransactionSession): Promise<void> {
  s.conn.send('.\r\n', 1);
  const r = await s.conn.read('dot', s.dataTerminationTimeoutMs, 'DATA_TIMEOUT');
  if (r.code === 421) s.conn.abort('SERVICE_UNAVAILABLE', 'server closing (421) after an empty DATA');
  s.needsReset = false;
}
