/**
 * @module server/commands
 *
 * THE command table of the inbound session (STYLE habit 1): one entry per
 * verb, each a handler that checks sequence and syntax, asks policy, then
 * proceeds (habit 2). Cross-cutting rules are applied once in
 * `dispatchLine`, before the table: over-long lines, syntax errors (the
 * parser in `smtp/command.ts` already built their replies), the error
 * counter, `log-commands`, and refusing new work while shutting down.
 *
 * Reply codes (all with enhanced codes, RFC 2034):
 *   EHLO/HELO 250 · MAIL 250 2.1.0 / 503 5.5.1 / 530 5.7.0 / 552 5.3.4 / 452 4.3.1 / 555 5.5.4
 *   RCPT 250 2.1.5 / 503 / 550 5.7.1 relaying denied / 452 4.5.3 / 553 5.6.7
 *   DATA 354 / 503 / 554 5.5.1 · BDAT see transfer.ts · RSET/NOOP 250 2.0.0 · QUIT 221 2.0.0
 *   VRFY 252 2.1.5 (never reveals anything) · EXPN 502 5.5.1 · HELP 214 2.0.0
 *   STARTTLS 220 2.0.0 / 502 5.5.1 / 503 5.5.1 · unknown 500 5.5.1 · too long 500 5.5.2
 *
 * Exports: `dispatchLine`, `ehloKeywords`.
 */
import { parseCommand, isSyntaxError, type SmtpCommand } from '../smtp/command.js';
import { buildEhloKeywords, ehloReply, type ServerCapabilities } from '../smtp/ehlo.js';
import type { LineEvent } from '../smtp/framing.js';
import { checkAdvertised } from '../smtp/params.js';
import { mailFromVerdict, relayVerdict } from '../policy/relay.js';
import { isSpoolError } from '../spool/errors.js';
import { authMechanisms, startAuth } from './sasl-exchange.js';
import type { Session } from './session.js';
import { startBdat, startData } from './transfer.js';

type Handler<K extends SmtpCommand['kind']> = (s: Session, cmd: Extract<SmtpCommand, { kind: K }>) => void | Promise<void>;
type Table = { [K in SmtpCommand['kind']]: Handler<K> };

export function dispatchLine(s: Session, ev: LineEvent): void | Promise<void> {
  if (ev.type === 'line-too-long') {
    s.replyCtx('LINE_TOO_LONG', `Line too long (more than ${ev.limit} octets)`);
    s.countError();
    return;
  }
  const cmd = parseCommand(ev.line);
  if (s.policy.bool('log-commands', false)) {
    s.ctx.log.info('command', { session: s.id, line: isSyntaxError(cmd) || cmd.kind !== 'AUTH' ? ev.line.toString('latin1').slice(0, 200) : `AUTH ${cmd.mechanism} ***` });
  }
  if (isSyntaxError(cmd)) {
    s.reply(cmd.reply);
    if (cmd.fatal) s.close();
    else s.countError();
    return;
  }
  if (s.ctx.shuttingDown && !s.tx && cmd.kind !== 'QUIT') {
    s.replyCtx('SHUTTING_DOWN', `${s.ctx.hostname} Service shutting down, try again later`);
    s.close();
    return;
  }
  return (COMMANDS[cmd.kind] as Handler<typeof cmd.kind>)(s, cmd as never);
}

/** The server's extensions, as they stand for this session now. */
export function capabilities(s: Session): ServerCapabilities {
  const max = s.policy.limit('max-message-size', Infinity);
  const canTls = s.ctx.tls !== undefined && s.policy.bool('allow-starttls', true);
  return {
    size: Number.isFinite(max) && max > 0 ? max : 0,
    pipelining: true,
    eightBitMime: true,
    smtputf8: true,
    enhancedStatusCodes: true,
    dsn: true,
    chunking: true,
    startTls: canTls && !s.isTls,
    authMechanisms: authMechanisms(s),
  };
}

export function ehloKeywords(s: Session): string[] {
  const mechs = authMechanisms(s);
  return buildEhloKeywords(capabilities(s), { tls: s.isTls, authenticated: s.authenticated, authAllowed: mechs.length > 0 });
}

function advertised(s: Session): Set<string> {
  if (!s.esmtp) return new Set();
  return new Set(ehloKeywords(s).map((k) => k.split(' ')[0]!.toUpperCase()).concat(s.authenticated || authMechanisms(s).length > 0 ? ['AUTH'] : []));
}

function badSequence(s: Session, text: string): void {
  s.replyCtx('BAD_SEQUENCE', text);
  s.countError();
}

const COMMANDS: Table = {
  EHLO(s, cmd) {
    s.resetTransaction();
    s.heloName = cmd.domain;
    s.esmtp = true;
    s.reply(ehloReply(s.ctx.hostname, `Hello ${cmd.domain} [${s.clientIp}]`, ehloKeywords(s)));
  },

  HELO(s, cmd) {
    s.resetTransaction();
    s.heloName = cmd.domain;
    s.esmtp = false;
    s.reply({ code: 250, lines: [`${s.ctx.hostname} Hello ${cmd.domain} [${s.clientIp}]`] });
  },

  MAIL(s, cmd) {
    if (!s.heloName) return badSequence(s, 'Send EHLO or HELO first');
    if (s.tx) return badSequence(s, 'Sender already specified');
    const notAdvertised = checkAdvertised(cmd.params, advertised(s) as never);
    if (notAdvertised) {
      s.reply(notAdvertised);
      s.countError();
      return;
    }
    const refused = mailFromVerdict(s.policy, s.authenticated);
    if (refused) {
      s.reply(refused.reply);
      if (refused.disconnect) s.close();
      return;
    }
    const max = s.policy.limit('max-message-size', Infinity);
    if (cmd.params.size !== undefined && max > 0 && cmd.params.size > max) {
      s.replyCtx('MESSAGE_TOO_BIG', `Message size exceeds fixed maximum message size (${max} octets)`);
      return;
    }
    try {
      s.ctx.spool.checkAccepting(cmd.params.size ?? 0);
    } catch (e) {
      if (isSpoolError(e)) {
        s.reply({ code: e.smtp.code, enhanced: e.smtp.enhanced, lines: [e.smtp.text] });
        return;
      }
      throw e;
    }
    s.tx = { from: cmd.path, params: cmd.params, recipients: [] };
    s.replyCtx('MAIL_OK', 'Sender OK');
  },

  RCPT(s, cmd) {
    const tx = s.tx;
    if (!tx) return badSequence(s, 'Need MAIL command first');
    if (tx.intake) return badSequence(s, 'RCPT not allowed during a BDAT transfer');
    if (tx.recipients.length >= s.policy.limit('max-rcpt-per-message', 1000)) {
      s.replyCtx('TOO_MANY_RCPTS', 'Too many recipients');
      return;
    }
    const mailbox = cmd.path.kind === 'mailbox' ? cmd.path.mailbox : undefined;
    if (mailbox?.isUtf8 && !tx.params.smtputf8) {
      s.replyCtx('UTF8_REQUIRED', 'Recipient address needs SMTPUTF8, which MAIL FROM did not request');
      return;
    }
    const notAdvertised = checkAdvertised(cmd.params as never, advertised(s) as never);
    if (notAdvertised) {
      s.reply(notAdvertised);
      s.countError();
      return;
    }
    const relay = relayVerdict(s.ctx.config, s.policy, s.authenticated, cmd.path);
    if (!relay.ok) {
      s.ctx.log.info('relay denied', { session: s.id, ip: s.clientIp, rcpt: mailbox?.text });
      s.reply(relay.verdict.reply);
      if (relay.verdict.disconnect) s.close();
      return;
    }
    const address = mailbox ? mailbox.text : `postmaster@${s.ctx.hostname}`;
    if (mailbox && s.ctx.suppression && s.policy.bool('use-suppression-list', false)) {
      const hit = s.ctx.suppression.get(address);
      if (hit) {
        s.replyCtx('POLICY_REJECT', `<${address}>: recipient is on the suppression list (${hit.reason.slice(0, 100)})`);
        return;
      }
    }
    tx.recipients.push({ mailbox, address, params: cmd.params });
    s.replyCtx('RCPT_OK', 'Recipient OK');
  },

  DATA(s) {
    return startData(s);
  },

  BDAT(s, cmd) {
    return startBdat(s, cmd.size, cmd.last);
  },

  RSET(s) {
    s.resetTransaction();
    s.replyCtx('RSET_OK', 'Reset OK');
  },

  NOOP(s) {
    s.replyCtx('NOOP_OK', 'OK');
  },

  QUIT(s) {
    s.replyCtx('QUIT', `${s.ctx.hostname} closing connection`);
    s.close();
  },

  VRFY(s) {
    // Never confirms or denies a mailbox (RFC 5321 §3.5.3; no address harvesting).
    s.replyCtx('VRFY', 'Cannot VRFY user, but will accept message and attempt delivery');
  },

  EXPN(s) {
    s.replyCtx('NOT_IMPLEMENTED', 'EXPN not available');
  },

  HELP(s) {
    s.replyCtx('HELP', 'Petrel: see https://www.rfc-editor.org/rfc/rfc5321 for the commands');
  },

  STARTTLS(s) {
    if (s.isTls) return badSequence(s, 'TLS already active');
    if (!capabilities(s).startTls) {
      s.replyCtx('NOT_IMPLEMENTED', 'STARTTLS not available');
      s.countError();
      return;
    }
    if (s.tx) return badSequence(s, 'STARTTLS not allowed during a mail transaction');
    s.replyCtx('STARTTLS_READY', 'Ready to start TLS');
    return s.startTls();
  },

  AUTH(s, cmd) {
    return startAuth(s, cmd.mechanism, cmd.initialResponse);
  },

  UNKNOWN(s, cmd) {
    s.replyCtx('UNKNOWN_COMMAND', `Command unrecognized: ${cmd.verb.slice(0, 20).replace(/[^\x21-\x7e]/g, '?')}`);
    s.countError();
  },
};
