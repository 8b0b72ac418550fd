/**
 * @module delivery/types
 *
 * The vocabulary of outbound delivery, shared by the resolver, the SMTP
 * client, TLS policy, DKIM and the queue manager (STYLE habits 6 and 8:
 * delivery reports, the queue applies; failure scope is explicit).
 *
 * Exports: `RemoteReply`, `OutcomeScope`, `RecipientOutcome`, `MxHost`,
 * `RouteResult`, `TlsMode`, `TlsVerify`, `TlsResult`, `DeliveryErrorCode`.
 */

/** One reply from a remote server, or a local description of a failure in the same shape. */
export interface RemoteReply {
  /** SMTP reply code; for local failures (connect refused, timeout, TLS), a synthetic 4xx/5xx. */
  readonly code: number;
  /** RFC 3463 enhanced status code when the server gave one (or the local failure implies one). */
  readonly enhanced?: string;
  /** The reply text, lines joined with a space; for local failures a description. */
  readonly text: string;
  /** The phase the reply answered. */
  readonly phase: 'connect' | 'greeting' | 'ehlo' | 'helo' | 'starttls' | 'auth' | 'mail' | 'rcpt' | 'data' | 'bdat' | 'dot' | 'rset' | 'quit' | 'dns' | 'policy';
  /** The remote host (`mx.example.com (192.0.2.1)`) for accounting's dsnMta. */
  readonly mta?: string;
  /** True when no remote server produced it (connection refused, timeout, TLS failure, DNS). */
  readonly local?: boolean;
}

/**
 * Which part a failure concerns (Postfix smtp_trouble.c): one recipient,
 * the whole message (5xx after DATA), the host (try the next MX), or the
 * whole queue (all hosts failed, DNS, policy): the queue manager acts on it.
 */
export type OutcomeScope = 'recipient' | 'message' | 'host' | 'queue';

export interface RecipientOutcome {
  readonly recipientId: string;
  readonly kind: 'delivered' | 'bounced' | 'deferred';
  readonly scope: OutcomeScope;
  readonly reply: RemoteReply;
  /** Delivery facts for accounting (dlvSourceIp, dlvDestinationIp, dlvEsmtpAvailable, dlvTlsProtocol, dlvTlsCipher, dlvSize). */
  readonly delivery?: DeliveryFacts;
}

export interface DeliveryFacts {
  readonly sourceIp?: string;
  readonly destinationIp?: string;
  readonly destinationHost?: string;
  readonly esmtpAvailable?: string;
  readonly tlsProtocol?: string;
  readonly tlsCipher?: string;
  readonly size?: number;
}

export interface MxHost {
  /** Host name (lower-case, no trailing dot) or an IP literal for `[IP]` routes. */
  readonly host: string;
  readonly preference: number;
  /** Addresses to try, in order (A then AAAA, or as configured). */
  readonly addresses: readonly string[];
  readonly port: number;
  /** From an MX record (false for the A/AAAA fallback and for configured routes). */
  readonly fromMx: boolean;
}

export type RouteResult =
  | { readonly kind: 'hosts'; readonly hosts: readonly MxHost[]; readonly ttlMs: number }
  /** RFC 7505 null MX: the domain accepts no mail — bounce at once. */
  | { readonly kind: 'null-mx' }
  /** The domain does not exist — bounce (`bad-domain`). */
  | { readonly kind: 'nxdomain'; readonly detail: string }
  /** SERVFAIL, timeout, no usable address — defer (`retry-after-dns-error`). */
  | { readonly kind: 'temp-fail'; readonly detail: string };

/** `use-starttls` / `require-starttls`: none = never STARTTLS; opportunistic = when offered; required = no delivery in clear. */
export type TlsMode = 'none' | 'opportunistic' | 'required';
/** How the server's certificate is judged: not at all, by the CA store + host name, or by DANE TLSA records. */
export type TlsVerify = 'none' | 'ca' | 'dane';

export interface TlsResult {
  readonly protocol: string;
  readonly cipher: string;
  readonly verified: boolean;
  readonly verifyError?: string;
}

export type DeliveryErrorCode =
  | 'CONNECT_REFUSED'
  | 'CONNECT_TIMEOUT'
  | 'GREETING_TIMEOUT'
  | 'COMMAND_TIMEOUT'
  | 'DATA_TIMEOUT'
  | 'CONNECTION_LOST'
  | 'PROTOCOL_ERROR'
  | 'TLS_REQUIRED_UNAVAILABLE'
  | 'TLS_HANDSHAKE_FAILED'
  | 'TLS_VERIFY_FAILED'
  | 'AUTH_FAILED'
  | 'SMTPUTF8_UNSUPPORTED'
  | 'MESSAGE_TOO_BIG';
