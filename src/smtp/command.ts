/**
 * @module smtp/command
 *
 * SMTP command lines (RFC 5321 §4.1.1) as a discriminated union, parsed on
 * the server side and formatted on the client side (STYLE habit 4).
 *
 * Exports:
 *  - `SmtpCommand`: one variant per verb, discriminated by `kind`;
 *    `UNKNOWN` carries the verb as sent (upper-cased, cut to 32 characters).
 *  - `CommandSyntaxError`: `{ kind: 'SYNTAX_ERROR', verb, reply, fatal }`,
 *    the reply the server should send; `fatal` means the session cannot stay
 *    in step with the client (an unparsable BDAT size) and must close.
 *  - `parseCommand(line)`: the line without its CRLF, as a string or the
 *    raw octets from the line reader (decoded as strict UTF-8).
 *  - `formatCommand(cmd)`: wire line, CRLF included.
 *  - `isValidHeloName(arg)`: RFC 5321 §4.1.1.1 `Domain / address-literal`,
 *    for policy; the parser itself accepts any single word after EHLO/HELO,
 *    like Postfix without `reject_invalid_helo_hostname`.
 *
 * Parsing rules (all replies come from `enhanced-codes.ts`):
 *  - Verbs are case-insensitive (RFC 5321 §2.4); trailing spaces/tabs are
 *    tolerated; an empty line, NUL, a bare CR, or invalid UTF-8 → `500 5.5.2`.
 *  - `MAIL FROM:<path>` and `RCPT TO:<path>` tolerate spaces after the colon
 *    (a common client habit; RFC 5321 has none). A missing `<>` or a bad
 *    keyword → `501 5.5.4 Syntax: MAIL FROM:<address>`; an address that does
 *    not parse → `501 5.1.7` (sender) / `501 5.1.3` (recipient).
 *  - MAIL with a non-ASCII address but no SMTPUTF8 parameter → `553 5.6.7`
 *    (RFC 6531 §3.4). RCPT addresses may be non-ASCII here: whether the
 *    transaction allows it is the session's check (`mailbox.isUtf8`).
 *  - Arguments on verbs that take none → `501 5.5.4 Syntax: VERB`.
 *  - The 512-octet line limit is the line reader's (`framing.ts`), not ours.
 *
 * Nothing here throws.
 */

import { scanPath, isIpv4, isIpv6, isValidDomain, formatPath } from './address.js';
import type { ForwardPath, ReversePath, AddressError } from './address.js';
import type { Reply } from './reply.js';
import { reply } from './enhanced-codes.js';
import type { ReplyContext } from './enhanced-codes.js';
import { parseMailParams, parseRcptParams, isParamError, formatMailParams, formatRcptParams } from './params.js';
import type { MailParams, RcptParams } from './params.js';

export type SmtpCommand =
  | { readonly kind: 'EHLO'; readonly domain: string }
  | { readonly kind: 'HELO'; readonly domain: string }
  | { readonly kind: 'MAIL'; readonly path: ReversePath; readonly params: MailParams }
  | { readonly kind: 'RCPT'; readonly path: ForwardPath; readonly params: RcptParams }
  | { readonly kind: 'DATA' }
  | { readonly kind: 'BDAT'; readonly size: number; readonly last: boolean }
  | { readonly kind: 'RSET' }
  | { readonly kind: 'NOOP'; readonly arg?: string }
  | { readonly kind: 'QUIT' }
  | { readonly kind: 'VRFY'; readonly arg: string }
  | { readonly kind: 'EXPN'; readonly arg: string }
  | { readonly kind: 'HELP'; readonly arg?: string }
  | { readonly kind: 'STARTTLS' }
  | { readonly kind: 'AUTH'; readonly mechanism: string; readonly initialResponse?: string }
  | { readonly kind: 'UNKNOWN'; readonly verb: string };

export type CommandKind = SmtpCommand['kind'];

export interface CommandSyntaxError {
  readonly kind: 'SYNTAX_ERROR';
  /** Upper-cased verb when one was recognised, else undefined. */
  readonly verb: CommandKind | undefined;
  readonly reply: Reply;
  /** The session cannot resynchronise with the client and should close after replying. */
  readonly fatal: boolean;
}

export function isSyntaxError(v: SmtpCommand | CommandSyntaxError): v is CommandSyntaxError {
  return v.kind === 'SYNTAX_ERROR';
}

function syntaxError(
  verb: CommandKind | undefined,
  context: ReplyContext,
  text?: string,
  fatal = false,
): CommandSyntaxError {
  return { kind: 'SYNTAX_ERROR', verb, reply: reply(context, text), fatal };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeLine(line: string | Uint8Array): string | undefined {
  if (typeof line === 'string') return line;
  try {
    return utf8Decoder.decode(line);
  } catch {
    return undefined;
  }
}

const KNOWN_VERBS: ReadonlySet<string> = new Set([
  'EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'STARTTLS', 'AUTH',
]);

/** Parse one command line (without its line ending). */
export function parseCommand(input: string | Uint8Array): SmtpCommand | CommandSyntaxError {
  // Sanity checks on the line as a whole.
  const decoded = decodeLine(input);
  if (decoded === undefined) return syntaxError(undefined, 'SYNTAX_COMMAND', 'Syntax error: invalid UTF-8');
  if (/[\0\r\n]/.test(decoded)) return syntaxError(undefined, 'SYNTAX_COMMAND', 'Syntax error: invalid character');
  const line = decoded.replace(/[ \t]+$/, '');
  if (line.length === 0) return syntaxError(undefined, 'SYNTAX_COMMAND', 'Syntax error: empty command');

  // Verb, then the argument after exactly one space (RFC 5321 §4.1.1).
  const sp = line.indexOf(' ');
  const rawVerb = sp === -1 ? line : line.slice(0, sp);
  const arg = sp === -1 ? '' : line.slice(sp + 1);
  const verb = rawVerb.toUpperCase();
  if (!KNOWN_VERBS.has(verb)) return { kind: 'UNKNOWN', verb: verb.slice(0, 32) };
  const kind = verb as Exclude<CommandKind, 'UNKNOWN'>;

  switch (kind) {
    case 'EHLO':
    case 'HELO':
      // RFC 5321 §4.1.1.1: one Domain or address-literal.
      if (arg.length === 0 || /[ \t]/.test(arg)) return syntaxError(kind, 'SYNTAX', `Syntax: ${kind} hostname`);
      return { kind, domain: arg };
    case 'MAIL':
      return parseMail(arg);
    case 'RCPT':
      return parseRcpt(arg);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      // RFC 5321 §4.1.1.4/5/10, RFC 3207 §4: no parameters.
      return arg.length === 0 ? { kind } : syntaxError(kind, 'SYNTAX', `Syntax: ${kind}`);
    case 'BDAT':
      return parseBdat(arg);
    case 'NOOP':
    case 'HELP':
      // RFC 5321 §4.1.1.8/9: an optional String, ignored.
      return arg.length === 0 ? { kind } : { kind, arg };
    case 'VRFY':
    case 'EXPN':
      return arg.length === 0 ? syntaxError(kind, 'SYNTAX', `Syntax: ${kind} address`) : { kind, arg };
    case 'AUTH':
      return parseAuth(arg);
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/** Index of the `<` after `KEYWORD:` and optional spaces, or undefined. */
function pathStart(arg: string, keyword: 'FROM:' | 'TO:'): number | undefined {
  if (arg.slice(0, keyword.length).toUpperCase() !== keyword) return undefined;
  let i = keyword.length;
  while (arg[i] === ' ') i++;
  return arg[i] === '<' ? i : undefined;
}

/** Params are the words after the path; the path must be followed by SP or end. */
function paramWords(arg: string, end: number): string[] | undefined {
  if (end === arg.length) return [];
  if (arg[end] !== ' ') return undefined;
  return arg.slice(end).split(/ +/).filter((w) => w.length > 0);
}

function addressContext(e: AddressError, sender: boolean): ReplyContext {
  if (e.code === 'UTF8_NOT_ALLOWED') return 'UTF8_REQUIRED';
  return sender ? 'SYNTAX_SENDER' : 'SYNTAX_RECIPIENT';
}

function parseMail(arg: string): SmtpCommand | CommandSyntaxError {
  const usage = 'Syntax: MAIL FROM:<address>';
  const start = pathStart(arg, 'FROM:');
  if (start === undefined) return syntaxError('MAIL', 'SYNTAX', usage);
  const scanned = scanPath(arg, start, { utf8: true });
  if (!scanned.ok) return syntaxError('MAIL', addressContext(scanned.error, true));
  if (scanned.path.kind === 'postmaster') return syntaxError('MAIL', 'SYNTAX_SENDER');
  const words = paramWords(arg, scanned.end);
  if (words === undefined) return syntaxError('MAIL', 'SYNTAX', usage);
  const params = parseMailParams(words);
  if (isParamError(params)) return { kind: 'SYNTAX_ERROR', verb: 'MAIL', reply: params.reply, fatal: false };
  // RFC 6531 §3.4: a non-ASCII reverse-path needs the SMTPUTF8 parameter.
  if (scanned.path.kind === 'mailbox' && scanned.path.mailbox.isUtf8 && params.smtputf8 !== true) {
    return syntaxError('MAIL', 'UTF8_REQUIRED');
  }
  return { kind: 'MAIL', path: scanned.path, params };
}

function parseRcpt(arg: string): SmtpCommand | CommandSyntaxError {
  const usage = 'Syntax: RCPT TO:<address>';
  const start = pathStart(arg, 'TO:');
  if (start === undefined) return syntaxError('RCPT', 'SYNTAX', usage);
  const scanned = scanPath(arg, start, { utf8: true });
  if (!scanned.ok) return syntaxError('RCPT', addressContext(scanned.error, false));
  if (scanned.path.kind === 'null') return syntaxError('RCPT', 'SYNTAX_RECIPIENT');
  const words = paramWords(arg, scanned.end);
  if (words === undefined) return syntaxError('RCPT', 'SYNTAX', usage);
  const params = parseRcptParams(words);
  if (isParamError(params)) return { kind: 'SYNTAX_ERROR', verb: 'RCPT', reply: params.reply, fatal: false };
  return { kind: 'RCPT', path: scanned.path, params };
}

/** RFC 3030 §3: "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT; end-marker = "LAST". */
function parseBdat(arg: string): SmtpCommand | CommandSyntaxError {
  const m = /^([0-9]+)(?: +(LAST))?$/i.exec(arg);
  // Without a size the server cannot know how many octets to skip: fatal.
  if (m === null) return syntaxError('BDAT', 'SYNTAX', 'Syntax: BDAT chunk-size [LAST]', true);
  const size = Number(m[1]);
  if (!Number.isSafeInteger(size)) return syntaxError('BDAT', 'SYNTAX', 'BDAT chunk size too large', true);
  return { kind: 'BDAT', size, last: m[2] !== undefined };
}

/** RFC 4954 §4: "AUTH" SP sasl-mech [SP initial-response]; sasl-mech = 1*20 (ALPHA/DIGIT/"-"/"_"). */
function parseAuth(arg: string): SmtpCommand | CommandSyntaxError {
  const m = /^([A-Za-z0-9_-]{1,20})(?: (\S+))?$/.exec(arg);
  if (m === null) return syntaxError('AUTH', 'SYNTAX', 'Syntax: AUTH mechanism [initial-response]');
  const mechanism = (m[1] as string).toUpperCase();
  return m[2] === undefined ? { kind: 'AUTH', mechanism } : { kind: 'AUTH', mechanism, initialResponse: m[2] };
}

/** RFC 5321 §4.1.1.1: `Domain / address-literal`; U-labels when `utf8`. */
export function isValidHeloName(arg: string, opts: { readonly utf8?: boolean } = {}): boolean {
  if (arg.startsWith('[') && arg.endsWith(']')) {
    const inner = arg.slice(1, -1);
    return isIpv4(inner) || (/^ipv6:/i.test(inner) && isIpv6(inner.slice(5)));
  }
  return isValidDomain(arg, opts);
}

export interface FormatCommandOptions {
  /** Write U-labels of paths as A-labels (the server did not offer SMTPUTF8). */
  readonly asciiDomain?: boolean;
}

/** The wire line for a command, CRLF included (client side). */
export function formatCommand(cmd: SmtpCommand, opts: FormatCommandOptions = {}): string {
  return `${formatBare(cmd, opts)}\r\n`;
}

function formatBare(cmd: SmtpCommand, opts: FormatCommandOptions): string {
  switch (cmd.kind) {
    case 'EHLO':
    case 'HELO':
      return `${cmd.kind} ${cmd.domain}`;
    case 'MAIL':
      return ['MAIL FROM:' + formatPath(cmd.path, opts), ...formatMailParams(cmd.params)].join(' ');
    case 'RCPT':
      return ['RCPT TO:' + formatPath(cmd.path, opts), ...formatRcptParams(cmd.params)].join(' ');
    case 'BDAT':
      return cmd.last ? `BDAT ${cmd.size} LAST` : `BDAT ${cmd.size}`;
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      return cmd.kind;
    case 'NOOP':
    case 'HELP':
      return cmd.arg === undefined ? cmd.kind : `${cmd.kind} ${cmd.arg}`;
    case 'VRFY':
    case 'EXPN':
      return `${cmd.kind} ${cmd.arg}`;
    case 'AUTH':
      return cmd.initialResponse === undefined ? `AUTH ${cmd.mechanism}` : `AUTH ${cmd.mechanism} ${cmd.initialResponse}`;
    case 'UNKNOWN':
      return cmd.verb;
    default: {
      const never: never = cmd;
      return never;
    }
  }
}
