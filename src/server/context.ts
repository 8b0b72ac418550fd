/**
 * @module server/context
 *
 * What every session of one server shares: the frozen configuration and its
 * resolver, the spool, TLS, the user directory, the AUTH failure limiter,
 * the VMTA selector, time, logs, and the server's own limits. A reload swaps
 * the whole object (sessions keep the one they started with).
 *
 * Exports: `ServerContext`, `ListenerInfo`, `SessionTimeouts`, `DEFAULT_TIMEOUTS`,
 * `UserCheck`, `AuthOutcome`.
 */
import type * as tls from 'node:tls';
import type { PetrelConfig } from '../config/model.js';
import type { ConfigResolver } from '../config/resolve.js';
import type { VmtaSelector } from '../policy/vmta.js';
import type { Spool } from '../spool/spool.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

/** RFC 5321 §4.5.3.2 server timeouts, in ms. */
export interface SessionTimeouts {
  /** Waiting for the next command (and the greeting's first command): 5 minutes. */
  readonly command: number;
  /** Waiting for the next chunk of DATA/BDAT content: 3 minutes. */
  readonly data: number;
  /** A TLS handshake after STARTTLS or on an implicit-TLS port. */
  readonly tlsHandshake: number;
}

export const DEFAULT_TIMEOUTS: SessionTimeouts = { command: 300_000, data: 180_000, tlsHandshake: 30_000 };

export interface ListenerInfo {
  /** As written in the config (`0/0:587`), for logs and Received. */
  readonly text: string;
  readonly address: string;
  readonly port: number;
  readonly implicitTls: boolean;
  /** `source=NAME` (our extension): a named `<source>` applied before IP matching. */
  readonly source?: string;
}

export type AuthOutcome =
  | { readonly ok: true; readonly user: string; readonly sources: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** The part of the user directory a session needs (server/credentials.ts implements it). */
export interface UserCheck {
  verifyPassword(username: string, password: string): Promise<AuthOutcome>;
  /** The clear password for CRAM-MD5, when the user has one. */
  cramMd5Secret(username: string): string | undefined;
  /** `authentication-method certificate`: the client certificate on `socket` names `username` (or, if undefined, some user). */
  verifyCertificate(username: string | undefined, socket: tls.TLSSocket): AuthOutcome;
  /** Is there an `<smtp-user>` of that name? */
  exists(username: string): boolean;
  /** Are there users at all (AUTH is offered only then)? */
  readonly hasUsers: boolean;
}

export interface AuthLimiter {
  recordFailure(ip: string): void;
  isBlocked(ip: string): boolean;
  delayMs(ip: string): number;
}

export interface TlsProvider {
  /** Upgrades a plain socket after `220 Ready to start TLS`. */
  upgrade(socket: import('node:net').Socket): Promise<tls.TLSSocket>;
  describe(socket: tls.TLSSocket): { readonly protocol: string; readonly cipher: string };
  /** Options for an implicit-TLS (`tls=implicit`, port 465) `tls.Server`. */
  tlsServerOptions(): tls.TlsOptions;
}

export interface ServerContext {
  readonly config: PetrelConfig;
  readonly resolver: ConfigResolver;
  readonly spool: Spool;
  readonly vmtas: VmtaSelector;
  readonly hostname: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timeouts: SessionTimeouts;
  readonly tls?: TlsProvider;
  readonly users?: UserCheck;
  /** The AUTH failure limiter for a `smtp-max-auth-failure-rate` (one per distinct rate, shared by the sources that use it). */
  readonly authLimiterFor?: (rate: import('../config/types.js').RateValue | undefined) => AuthLimiter;
  /** The suppression list, checked at RCPT where `use-suppression-list yes`. */
  readonly suppression?: { get(address: string): { readonly reason: string } | undefined };
  /** Set while the server stops: new commands get 421 once their transaction is done. */
  shuttingDown: boolean;
}
