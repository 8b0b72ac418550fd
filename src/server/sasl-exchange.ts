/**
 * @module server/sasl-exchange
 *
 * SMTP AUTH (RFC 4954) inside a session: which mechanisms are offered, the
 * challenge/response steps of PLAIN, LOGIN, CRAM-MD5 (RFC 2195) and
 * EXTERNAL (a verified TLS client certificate, for
 * `authentication-method certificate`), and what happens after.
 *
 * Policy:
 *   - AUTH is offered only when `<smtp-user>` accounts exist;
 *   - `require-starttls-before-auth`: nothing is offered before TLS (538 5.7.11);
 *   - PLAIN and LOGIN send the password in clear: offered before TLS only
 *     with `allow-unencrypted-plain-auth yes` (else 538 5.7.11);
 *   - `smtp-max-auth-failure-rate` per client IP: each failure is answered
 *     after a growing delay; past the rate, 421 4.7.0 and the connection closes.
 *   - Credentials are never logged: log lines carry the mechanism and, on
 *     success or failure, the user name only.
 *
 * Exports: `AuthExchange`, `authMechanisms`, `startAuth`, `handleAuthLine`.
 */
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import type { LineEvent } from '../smtp/framing.js';
import {
  LOGIN_PASSWORD_CHALLENGE,
  LOGIN_USERNAME_CHALLENGE,
  decodeLoginValue,
  decodePlain,
  encodeBase64,
  formatCramMd5Challenge,
  parseContinuation,
  parseCramMd5Response,
  parseInitialResponse,
  verifyCramMd5,
} from '../smtp/sasl.js';
import type { RateValue } from '../config/types.js';
import type { AuthLimiter, AuthOutcome } from './context.js';
import type { Session } from './session.js';

export interface AuthExchange {
  readonly mechanism: string;
  step: number;
  username?: string;
  challenge?: string;
}

const AUTH_LINE_OCTETS = 12_288; // RFC 4954 §4

function limiterOf(s: Session): AuthLimiter | undefined {
  return s.ctx.authLimiterFor?.(s.policy.get<RateValue>('smtp-max-auth-failure-rate'));
}

export function authMechanisms(s: Session): string[] {
  const users = s.ctx.users;
  if (!users || !users.hasUsers || s.authenticated) return [];
  if (!s.isTls && s.policy.bool('require-starttls-before-auth', false)) return [];
  const out: string[] = [];
  if (s.isTls || s.policy.bool('allow-unencrypted-plain-auth', false)) out.push('PLAIN', 'LOGIN');
  out.push('CRAM-MD5');
  if (s.socket instanceof tls.TLSSocket && s.socket.authorized) out.push('EXTERNAL');
  return out;
}

export function startAuth(s: Session, mechanismIn: string, initial: string | undefined): void | Promise<void> {
  const mechanism = mechanismIn.toUpperCase();
  if (!s.heloName || !s.esmtp) return seq(s, 'Send EHLO first');
  if (s.authenticated) return seq(s, 'Already authenticated');
  if (s.tx) return seq(s, 'AUTH not allowed during a mail transaction');
  if (limiterOf(s)?.isBlocked(s.clientIp)) {
    s.replyCtx('TOO_MANY_ERRORS', `${s.ctx.hostname} Too many authentication failures, try later`);
    s.close();
    return;
  }
  const offered = authMechanisms(s);
  if (!offered.includes(mechanism)) {
    if (!s.isTls && (s.policy.bool('require-starttls-before-auth', false) || mechanism === 'PLAIN' || mechanism === 'LOGIN') && s.ctx.users?.hasUsers) {
      s.replyCtx('ENCRYPTION_REQUIRED', 'Must issue a STARTTLS command first');
    } else {
      s.replyCtx('AUTH_MECHANISM_UNSUPPORTED', `Unrecognized authentication type ${mechanism.slice(0, 20)}`);
    }
    s.countError();
    return;
  }
  s.auth = { mechanism, step: 0 };
  s.mode = 'auth';
  s.reader.maxLineOctets = AUTH_LINE_OCTETS;
  switch (mechanism) {
    case 'PLAIN':
      if (initial !== undefined) return plainResponse(s, initial, true);
      challenge(s, '');
      return;
    case 'LOGIN':
      if (initial !== undefined) return loginStep(s, initial, true);
      challenge(s, LOGIN_USERNAME_CHALLENGE);
      return;
    case 'CRAM-MD5': {
      const c = formatCramMd5Challenge({ random: randomBytes(12).toString('hex'), timestamp: s.ctx.clock.now(), hostname: s.ctx.hostname });
      s.auth.challenge = c;
      challenge(s, encodeBase64(c));
      return;
    }
    case 'EXTERNAL':
      return finish(s, Promise.resolve(s.ctx.users!.verifyCertificate(initialAuthzid(initial), s.socket as tls.TLSSocket)));
  }
}

function initialAuthzid(initial: string | undefined): string | undefined {
  if (initial === undefined || initial === '=' || initial === '') return undefined;
  try {
    return Buffer.from(initial, 'base64').toString('utf8') || undefined;
  } catch {
    return undefined;
  }
}

export function handleAuthLine(s: Session, ev: LineEvent): void | Promise<void> {
  const a = s.auth!;
  if (ev.type === 'line-too-long') {
    end(s);
    s.replyCtx('AUTH_LINE_TOO_LONG');
    s.countError();
    return;
  }
  const line = ev.line.toString('latin1');
  switch (a.mechanism) {
    case 'PLAIN':
      return plainResponse(s, line, false);
    case 'LOGIN':
      return loginStep(s, line, false);
    case 'CRAM-MD5':
      return cramResponse(s, line);
    default:
      end(s);
      s.replyCtx('AUTH_MECHANISM_UNSUPPORTED');
  }
}

function challenge(s: Session, text: string): void {
  s.reply({ code: 334, lines: [text] });
}

function seq(s: Session, text: string): void {
  s.replyCtx('BAD_SEQUENCE', text);
  s.countError();
}

function end(s: Session): void {
  s.auth = undefined;
  s.mode = s.mode === 'closed' ? 'closed' : 'command';
  s.reader.maxLineOctets = s.policy.limit('max-command-line-length', 512);
}

/** The client's line: `*` cancels (501), bad base64 is a syntax error (501). */
function decodeStep(s: Session, text: string, initial: boolean): Buffer | undefined {
  const r = initial ? parseInitialResponse(text) : parseContinuation(text);
  switch (r.kind) {
    case 'data':
      return r.data;
    case 'cancel':
      end(s);
      s.replyCtx('AUTH_CANCELLED');
      return undefined;
    default:
      end(s);
      s.replyCtx('SYNTAX', 'Invalid base64 in authentication exchange');
      s.countError();
      return undefined;
  }
}

function plainResponse(s: Session, text: string, initial: boolean): void | Promise<void> {
  const data = decodeStep(s, text, initial);
  if (!data) return;
  const c = decodePlain(data);
  if (!c) {
    end(s);
    s.replyCtx('SYNTAX', 'Malformed AUTH PLAIN message');
    s.countError();
    return;
  }
  if (c.authzid !== '' && c.authzid !== c.authcid) return finish(s, Promise.resolve({ ok: false, reason: 'authzid-mismatch' }), c.authcid);
  return finish(s, s.ctx.users!.verifyPassword(c.authcid, c.password), c.authcid);
}

function loginStep(s: Session, text: string, initial: boolean): void | Promise<void> {
  const a = s.auth!;
  const data = decodeStep(s, text, initial);
  if (!data) return;
  const value = decodeLoginValue(data);
  if (typeof value !== 'string') {
    end(s);
    s.replyCtx('SYNTAX', 'Malformed AUTH LOGIN value');
    s.countError();
    return;
  }
  if (a.username === undefined) {
    a.username = value;
    challenge(s, LOGIN_PASSWORD_CHALLENGE);
    return;
  }
  return finish(s, s.ctx.users!.verifyPassword(a.username, value), a.username);
}

function cramResponse(s: Session, text: string): void | Promise<void> {
  const a = s.auth!;
  const data = decodeStep(s, text, false);
  if (!data) return;
  const parsed = parseCramMd5Response(data);
  if (!parsed) {
    end(s);
    s.replyCtx('SYNTAX', 'Malformed CRAM-MD5 response');
    s.countError();
    return;
  }
  const { username, digest } = parsed;
  const secret = s.ctx.users!.cramMd5Secret(username);
  if (secret === undefined && s.ctx.users!.exists(username)) {
    // The user's password is stored only as a hash: CRAM-MD5 cannot work for them whatever they type.
    // Not a guessing attempt, so not counted against the client (clients then fall back to PLAIN/LOGIN).
    end(s);
    s.ctx.log.info('auth failed', { session: s.id, ip: s.clientIp, user: username.slice(0, 100), mechanism: 'CRAM-MD5', reason: 'no-clear-password' });
    s.replyCtx('AUTH_FAILED', 'CRAM-MD5 is not available for this user; use PLAIN or LOGIN over TLS');
    return;
  }
  const ok = secret !== undefined && verifyCramMd5(a.challenge!, secret, digest);
  const users = s.ctx.users!;
  return finish(s, ok ? users.verifyPassword(username, secret!) : Promise.resolve({ ok: false, reason: 'bad-password' }), username);
}

async function finish(s: Session, check: Promise<AuthOutcome>, username?: string): Promise<void> {
  const mechanism = s.auth?.mechanism;
  end(s);
  let result: AuthOutcome;
  try {
    result = await check;
  } catch {
    s.replyCtx('AUTH_TEMP_FAILURE');
    return;
  }
  if (result.ok) {
    s.authUser = result.user;
    s.policy.authenticated(result.sources);
    s.ctx.log.info('auth ok', { session: s.id, ip: s.clientIp, user: result.user, mechanism });
    s.replyCtx('AUTH_OK', 'Authentication successful');
    return;
  }
  const limiter = limiterOf(s);
  limiter?.recordFailure(s.clientIp);
  s.ctx.log.info('auth failed', { session: s.id, ip: s.clientIp, user: username?.slice(0, 100), mechanism, reason: result.reason });
  const delay = limiter?.delayMs(s.clientIp) ?? 0;
  if (delay > 0) {
    s.flush();
    await new Promise((r) => setTimeout(r, delay));
  }
  if (s.mode === 'closed') return;
  s.replyCtx('AUTH_FAILED', 'Authentication credentials invalid');
  if (limiter?.isBlocked(s.clientIp)) {
    s.replyCtx('TOO_MANY_ERRORS', `${s.ctx.hostname} Too many authentication failures`);
    s.close();
    return;
  }
  s.countError();
}
