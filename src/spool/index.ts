/**
 * @module spool
 *
 * Public surface of the durable spool and queue store (issue 3). See
 * docs/spool.md for the on-disk format, the commit protocol and recovery.
 *
 * Exports: `Spool`, `MessageWriter`, `SpoolError`, `isSpoolError`,
 * `SPOOL_ERROR_CODES`, `queueName`, `DEFAULT_SPOOL_PATH`, `DEFAULT_VMTA`,
 * id helpers, and the types of spool/types.
 */
export { Spool, type SpoolLimits } from './spool.js';
export { MessageWriter } from './writer.js';
export { SpoolError, isSpoolError, SPOOL_ERROR_CODES, type SpoolErrorCode, type SmtpReplyHint } from './errors.js';
export { formatMessageId, parseMessageId, parseRecipientId, recipientId, MESSAGE_ID_RE } from './ids.js';
export type { RecoveryReport } from './recovery.js';
export {
  DEFAULT_SPOOL_PATH,
  DEFAULT_VMTA,
  FINAL_STATES,
  RECIPIENT_STATES,
  queueName,
  type EnvelopeInput,
  type EnvelopeRecipient,
  type FinalState,
  type LeasedMessage,
  type MailParams,
  type MessageInfo,
  type NotifyFlag,
  type Outcome,
  type QueueStats,
  type RecipientInfo,
  type RecipientState,
  type SpoolEvent,
  type SpoolEventType,
  type SpoolLogger,
  type SpoolObserver,
  type SpoolOptions,
  type StoredEnvelope,
} from './types.js';
