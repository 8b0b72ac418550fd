/**
 * @module server/transfer
 *
 * The message transfer phase: DATA (RFC 5321 §4.1.1.4, dot-unstuffing and
 * the smuggling defences of `smtp/framing.ts`) and BDAT (RFC 3030 CHUNKING).
 * Both feed a `MessageIntake`; the final reply comes only after the spool
 * commit.
 *
 *   DATA  354 → … → 250 2.0.0 queued as ID | 552 5.3.4 too big |
 *         554 5.6.0 line over 998 octets | 550 5.5.2 bare LF/CR (then close) |
 *         452 4.3.1 spool full | 451 4.3.0 spool I/O
 *   BDAT  each chunk is read in full whatever happens (the client has sent it);
 *         250 2.0.0 per chunk, the LAST one after the commit; a failed chunk's
 *         error is repeated for the rest of the transaction.
 *
 * Exports: `startData`, `finishData`, `startBdat`, `finishBdatChunk`.
 */
import { reply as ctxReply } from '../smtp/enhanced-codes.js';
import { BdatReader, DataDecoder, type DataOutcome } from '../smtp/framing.js';
import type { Reply } from '../smtp/reply.js';
import { isSpoolError } from '../spool/errors.js';
import type { EnvelopeRecipient, NotifyFlag } from '../spool/types.js';
import { MessageIntake } from './intake.js';
import type { Session, Transaction } from './session.js';

function protocolName(s: Session): 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA' {
  if (!s.esmtp) return 'SMTP';
  return `ESMTP${s.isTls ? 'S' : ''}${s.authenticated ? 'A' : ''}` as 'ESMTP';
}

function createIntake(s: Session, tx: Transaction): MessageIntake {
  const recipients: EnvelopeRecipient[] = tx.recipients.map((r) => {
    const n = r.params.notify;
    return {
      address: r.address,
      ...(n ? { notify: (n === 'NEVER' ? ['NEVER'] : [...n]) as NotifyFlag[] } : {}),
      ...(r.params.orcpt ? { orcpt: `${r.params.orcpt.addrType};${r.params.orcpt.address}` } : {}),
    };
  });
  const p = tx.params;
  return new MessageIntake({
    spool: s.ctx.spool,
    config: s.ctx.config,
    policy: s.policy,
    vmtas: s.ctx.vmtas,
    resolver: s.ctx.resolver,
    hostname: s.ctx.hostname,
    clock: s.ctx.clock,
    log: s.ctx.log,
    sessionId: s.id,
    envelope: {
      mailFrom: tx.from.kind === 'null' ? '' : tx.from.mailbox.text,
      mailParams: {
        ...(p.size !== undefined ? { size: p.size } : {}),
        ...(p.body ? { body: p.body } : {}),
        ...(p.smtputf8 ? { smtputf8: true } : {}),
        ...(p.ret ? { ret: p.ret } : {}),
        ...(p.envid !== undefined ? { envid: p.envid } : {}),
      },
      recipients,
      sourceIp: s.clientIp,
      ...(s.authUser ? { authUser: s.authUser } : {}),
      listener: s.listener.text,
    },
    received: {
      heloName: s.heloName ?? 'unknown',
      clientIp: s.clientIp,
      protocol: protocolName(s),
      ...(s.tlsInfo ? { tls: s.tlsInfo } : {}),
      ...(s.authUser ? { authUser: s.authUser } : {}),
      ...(tx.recipients.length === 1 ? { recipientForHeader: tx.recipients[0]!.address } : {}),
    },
  });
}

function maxSize(s: Session): number {
  const m = s.policy.limit('max-message-size', Infinity);
  return m > 0 ? m : Infinity;
}

export function startData(s: Session): void {
  const tx = s.tx;
  if (!tx) {
    s.replyCtx('BAD_SEQUENCE', 'Need MAIL command first');
    s.countError();
    return;
  }
  if (tx.intake) {
    s.replyCtx('BAD_SEQUENCE', 'DATA not allowed after BDAT');
    s.countError();
    return;
  }
  if (tx.recipients.length === 0) {
    s.replyCtx('NO_VALID_RECIPIENTS', 'No valid recipients');
    return;
  }
  tx.intake = createIntake(s, tx);
  const max = maxSize(s);
  s.data = new DataDecoder({ maxLineOctets: 1000, ...(Number.isFinite(max) ? { maxMessageOctets: max } : {}) });
  s.mode = 'data';
  s.socket.setTimeout(s.ctx.timeouts.data);
  s.reply({ code: 354, lines: ['End data with <CR><LF>.<CR><LF>'] });
}

export async function finishData(s: Session, outcome: DataOutcome): Promise<void> {
  const tx = s.tx!;
  const intake = tx.intake!;
  if (!outcome.ok) {
    await intake.abort();
    s.resetTransaction();
    s.ctx.log.info('message refused', { session: s.id, ip: s.clientIp, reason: outcome.error, octets: outcome.octets });
    switch (outcome.error) {
      case 'BARE_LF':
      case 'BARE_CR':
        // SMTP smuggling (CVE-2023-51764/5/6): refuse, and drop a client that cannot speak SMTP.
        s.replyCtx(outcome.error);
        s.close();
        return;
      case 'LINE_TOO_LONG':
        s.replyCtx('TEXT_LINE_TOO_LONG');
        return;
      case 'MESSAGE_TOO_BIG':
        s.replyCtx('MESSAGE_TOO_BIG', `Message size exceeds fixed maximum message size (${maxSize(s)} octets)`);
        return;
    }
  }
  await commitAndReply(s, tx);
}

async function commitAndReply(s: Session, tx: Transaction): Promise<void> {
  const intake = tx.intake!;
  try {
    const id = await intake.commit();
    tx.intake = undefined;
    s.messages++;
    s.ctx.log.info('message accepted', {
      session: s.id,
      id,
      ip: s.clientIp,
      from: tx.from.kind === 'null' ? '<>' : tx.from.mailbox.text,
      rcpts: tx.recipients.length,
      octets: intake.octets,
      ...(s.authUser ? { user: s.authUser } : {}),
    });
    s.replyCtx('MESSAGE_ACCEPTED', `Ok: queued as ${id}`);
  } catch (e) {
    tx.intake = undefined;
    if (!isSpoolError(e)) throw e;
    s.ctx.log.warn('message not stored', { session: s.id, ip: s.clientIp, code: e.code, error: e.message });
    s.reply(spoolReply(e.smtp));
  } finally {
    s.resetTransaction();
  }
}

function spoolReply(h: { code: number; enhanced: string; text: string }): Reply {
  return { code: h.code, enhanced: h.enhanced, lines: [h.text] };
}

export function startBdat(s: Session, size: number, last: boolean): void {
  // The chunk follows the command whatever we answer: always read it.
  s.bdat = new BdatReader(size);
  s.bdatLast = last;
  s.mode = 'bdat';
  s.socket.setTimeout(s.ctx.timeouts.data);
  const tx = s.tx;
  if (!tx) return;
  if (tx.bdatError) return;
  if (tx.recipients.length === 0) {
    tx.bdatError = ctxReply('NO_VALID_RECIPIENTS', 'No valid recipients');
    return;
  }
  if (!tx.intake) tx.intake = createIntake(s, tx);
  const max = maxSize(s);
  if (tx.intake.octets + size > max) {
    tx.bdatError = ctxReply('MESSAGE_TOO_BIG', `Message size exceeds fixed maximum message size (${max} octets)`);
    void tx.intake.abort();
  }
}

export async function finishBdatChunk(s: Session): Promise<void> {
  const tx = s.tx;
  if (!tx) {
    s.replyCtx('BAD_SEQUENCE', 'Need MAIL command first');
    s.countError();
    return;
  }
  if (tx.bdatError) {
    s.reply(tx.bdatError);
    if (s.bdatLast) s.resetTransaction();
    return;
  }
  if (!s.bdatLast) {
    s.replyCtx('BDAT_OK', `${tx.intake?.octets ?? 0} octets received`);
    return;
  }
  await commitAndReply(s, tx);
}
