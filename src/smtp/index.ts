/**
 * @module smtp
 *
 * Petrel's pure SMTP protocol vocabulary, shared by `server/` and
 * `delivery/`. Nothing under `smtp/` performs I/O, opens sockets or reads
 * clocks; every parser returns errors as values and never throws on input.
 *
 *  - `command.ts`        parseCommand / formatCommand (RFC 5321 §4.1.1)
 *  - `address.ts`        paths and mailboxes (RFC 5321 §4.1.2, RFC 6531)
 *  - `params.ts`         MAIL/RCPT ESMTP parameters, xtext (RFC 1870, 3461, 6152, 6531)
 *  - `reply.ts`          Reply, formatReply, ReplyParser (RFC 5321 §4.2, RFC 2034)
 *  - `enhanced-codes.ts` context → reply code + enhanced code (RFC 3463, RFC 5248)
 *  - `framing.ts`        LineReader, DataDecoder, BdatReader, DotStuffer
 *  - `ehlo.ts`           EHLO keywords, both directions
 *  - `sasl.ts`           PLAIN / LOGIN / CRAM-MD5 message formats
 */

export type { SmtpCommand, CommandKind, CommandSyntaxError, FormatCommandOptions } from './command.js';
export { parseCommand, formatCommand, isSyntaxError, isValidHeloName } from './command.js';

export type {
  Mailbox,
  ReversePath,
  ForwardPath,
  Path,
  AddressError,
  AddressErrorCode,
  AddressOptions,
  NormalizedDomain,
  FormatPathOptions,
} from './address.js';
export {
  parseAddress,
  parseReversePath,
  parseForwardPath,
  scanPath,
  normalizeDomain,
  isValidDomain,
  isIpv4,
  isIpv6,
  isAddressError,
  formatPath,
} from './address.js';

export type { MailParams, RcptParams, BodyType, Ret, Notify, NotifyCondition, Orcpt, Extension, ParamError } from './params.js';
export {
  parseMailParams,
  parseRcptParams,
  formatMailParams,
  formatRcptParams,
  requiredExtensions,
  checkAdvertised,
  isParamError,
  xtextEncode,
  xtextDecode,
} from './params.js';

export type { Reply, FormatReplyOptions, ReplyParserLimits, ReplyParseError, ParsedReply, ReplyEvent } from './reply.js';
export { formatReply, parseEnhancedCode, isValidReplyCode, ReplyParser, DEFAULT_REPLY_LIMITS } from './reply.js';

export type { ReplyContext, ContextEntry } from './enhanced-codes.js';
export { REPLY_CONTEXTS, reply } from './enhanced-codes.js';

export type {
  LineEvent,
  LineReaderOptions,
  DataErrorKind,
  DataOutcome,
  DataPush,
  DataDecoderOptions,
  BdatPush,
} from './framing.js';
export { LineReader, DataDecoder, BdatReader, DotStuffer, dotStuff } from './framing.js';

export type { ServerCapabilities, EhloState, EhloCapabilities } from './ehlo.js';
export { buildEhloKeywords, ehloReply, parseEhloReply } from './ehlo.js';

export type { SaslInput, PlainCredentials } from './sasl.js';
export {
  decodeBase64Strict,
  encodeBase64,
  parseInitialResponse,
  parseContinuation,
  decodePlain,
  encodePlain,
  LOGIN_USERNAME_CHALLENGE,
  LOGIN_PASSWORD_CHALLENGE,
  decodeLoginValue,
  formatCramMd5Challenge,
  cramMd5Digest,
  parseCramMd5Response,
  verifyCramMd5,
  formatCramMd5Response,
  constantTimeEqual,
} from './sasl.js';
