/**
 * @module spool/types
 *
 * The spool's public vocabulary: envelopes as stored, recipient states,
 * outcomes, the typed events observers receive, and options.
 *
 * Exports (types only, plus `RECIPIENT_STATES`, `FINAL_STATES`,
 * `DEFAULT_VMTA`, `DEFAULT_SPOOL_PATH`, `queueName`):
 * - `EnvelopeInput` / `StoredEnvelope` / `EnvelopeRecipient` / `MailParams`
 * - `RecipientState`, `FinalState`
 * - `Outcome` — what delivery reports for one recipient.
 * - `SpoolEvent` — closed union of state changes (habit 17).
 * - `SpoolObserver`, `SpoolLogger`, `SpoolOptions`.
 * - `QueueStats`, `MessageInfo`, `RecipientInfo`, `LeasedMessage`.
 */
import type { Clock } from '../util/clock.js';

/** The VMTA part of a queue name when the message names none. */
export const DEFAULT_VMTA = '{default}';
/** Embedded default for PowerMTA's `spool` / `<spool PATH>`. */
export const DEFAULT_SPOOL_PATH = './var/spool';

export const RECIPIENT_STATES = ['queued', 'in-flight', 'delivered', 'bounced', 'expired', 'deleted'] as const;
/** A recipient is in exactly one of these states (DESIGN invariant 2). */
export type RecipientState = (typeof RECIPIENT_STATES)[number];
export const FINAL_STATES = ['delivered', 'bounced', 'expired', 'deleted'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

export type NotifyFlag = 'SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER';

/** ESMTP parameters of MAIL FROM that must survive with the message. */
export interface MailParams {
  /** SIZE= as declared by the client (RFC 1870). */
  readonly size?: number;
  /** BODY= (RFC 6152 / RFC 3030). */
  readonly body?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  /** SMTPUTF8 was given (RFC 6531). */
  readonly smtputf8?: boolean;
  /** RET= (RFC 3461). */
  readonly ret?: 'FULL' | 'HDRS';
  /** ENVID= as xtext-decoded text (RFC 3461). */
  readonly envid?: string;
}

export interface EnvelopeRecipient {
  /** The forward-path address, `local@domain`. */
  readonly address: string;
  /** NOTIFY= (RFC 3461). */
  readonly notify?: readonly NotifyFlag[];
  /** ORCPT= as given, `addr-type;xtext` (RFC 3461). */
  readonly orcpt?: string;
  /** The queue domain when it is not the address's domain (`queue-to`): the queue is `queue/vmta`. */
  readonly queue?: string;
}

/** What the SMTP layer (or the bounce module) hands to `createMessage`. */
export interface EnvelopeInput {
  /** Reverse-path; `''` for the null sender. */
  readonly mailFrom: string;
  readonly mailParams?: MailParams;
  readonly recipients: readonly EnvelopeRecipient[];
  /** Receiving-side facts, kept for accounting and `show message`. */
  readonly sourceIp?: string;
  readonly authUser?: string;
  readonly listener?: string;
  /** Virtual MTA chosen by policy; queue names use `{default}` when absent. */
  readonly vmta?: string;
  /** PowerMTA job id (x-job). */
  readonly jobId?: string;
  /** PowerMTA envelope id; defaults to `mailParams.envid` for lookups. */
  readonly envelopeId?: string;
  /** Arrival time (ms); the spool's clock fills it in when absent. */
  readonly arrivedAt?: number;
}

export interface StoredEnvelope extends EnvelopeInput {
  readonly arrivedAt: number;
}

/** Delivery's verdict for one recipient (habit 6: delivery reports, the queue applies). */
export type Outcome =
  | { readonly recipientId: string; readonly kind: 'delivered'; readonly reply?: string }
  | { readonly recipientId: string; readonly kind: 'bounced'; readonly reply?: string }
  | { readonly recipientId: string; readonly kind: 'expired'; readonly reply?: string }
  | { readonly recipientId: string; readonly kind: 'deferred'; readonly reply?: string; readonly nextAttemptAt: number };

interface RecipientEventBase {
  readonly at: number;
  readonly messageId: string;
  readonly recipientId: string;
  readonly queue: string;
  readonly attempts: number;
}

/**
 * Every state change, told to observers only once it is durable (except
 * `leased` and `released`, which are deliberately not persisted: recovery
 * turns in-flight back into queued anyway).
 */
export type SpoolEvent =
  | { readonly type: 'enqueued'; readonly at: number; readonly messageId: string; readonly envelope: StoredEnvelope; readonly size: number; readonly queues: readonly string[] }
  | (RecipientEventBase & { readonly type: 'leased' })
  | (RecipientEventBase & { readonly type: 'released' })
  | (RecipientEventBase & { readonly type: 'delivered'; readonly reply?: string })
  | (RecipientEventBase & { readonly type: 'bounced'; readonly reply?: string })
  | (RecipientEventBase & { readonly type: 'expired'; readonly reply?: string })
  | (RecipientEventBase & { readonly type: 'deferred'; readonly reply?: string; readonly nextAttemptAt: number })
  | (RecipientEventBase & { readonly type: 'deleted'; readonly reply?: string })
  | { readonly type: 'queue-paused'; readonly at: number; readonly queue: string }
  | { readonly type: 'queue-resumed'; readonly at: number; readonly queue: string };

export type SpoolEventType = SpoolEvent['type'];
export type SpoolObserver = (event: SpoolEvent) => void;

export interface SpoolLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface SpoolOptions {
  /** Spool directory (PowerMTA `spool` / `<spool PATH>`); default `./var/spool`. */
  readonly path?: string;
  /** Refuse new messages (SPOOL_FULL) below this much free space; default 64 MiB. */
  readonly minFreeBytes?: number;
  /** Largest body accepted, in bytes; 0 = unlimited (the default). */
  readonly maxMessageSize?: number;
  /** Most recipients per message; default 1000. */
  readonly maxRecipients?: number;
  readonly clock?: Clock;
  readonly logger?: SpoolLogger;
  /** Segment files roll over past this size; default 64 MiB. */
  readonly segmentSize?: number;
  /** Bodies up to this size go inline in the log; larger ones to `bodies/`. Default 256 KiB. */
  readonly inlineBodyLimit?: number;
  /** How often free space is re-read (ms, real time); default 1000. */
  readonly freeSpaceCheckMs?: number;
}

export interface QueueStats {
  readonly queue: string;
  readonly domain: string;
  readonly vmta: string;
  readonly paused: boolean;
  /** Recipients queued or in flight. */
  readonly recipients: number;
  readonly inFlight: number;
  /** Distinct messages with at least one such recipient. */
  readonly messages: number;
  /** Sum of those messages' body sizes. */
  readonly bytes: number;
  /** Arrival time of the oldest such message, ms; undefined when empty. */
  readonly oldest: number | undefined;
}

export interface RecipientInfo {
  readonly id: string;
  readonly index: number;
  readonly address: string;
  readonly notify?: readonly NotifyFlag[];
  readonly orcpt?: string;
  readonly queue: string;
  readonly state: RecipientState;
  readonly attempts: number;
  /** Due time when queued; undefined otherwise. */
  readonly nextAttemptAt: number | undefined;
  readonly lastReply: string | undefined;
}

export interface MessageInfo {
  readonly id: string;
  readonly envelope: StoredEnvelope;
  readonly size: number;
  readonly recipients: readonly RecipientInfo[];
}

/** One message's share of a leased batch. */
export interface LeasedMessage {
  readonly messageId: string;
  readonly envelope: StoredEnvelope;
  readonly size: number;
  readonly recipients: readonly RecipientInfo[];
}

/** `domain/vmta`, lower-cased domain, `{default}` for no VMTA. */
export function queueName(address: string, vmta: string | undefined): string {
  const at = address.lastIndexOf('@');
  const domain = (at >= 0 ? address.slice(at + 1) : address).toLowerCase();
  return `${domain}/${vmta && vmta.length > 0 ? vmta : DEFAULT_VMTA}`;
}
