/**
 * @module config/directives/tls
 *
 * TLS and DANE on both sides: the server certificate and protocol switches
 * (global), inbound STARTTLS rules (`<source>`), outbound STARTTLS, DANE and
 * MTA-STS (`<domain>`). Exports `TLS_DIRECTIVES`.
 *
 * TLS 1.3 switches and MTA-STS are Petrel extensions: no verified PowerMTA
 * source documents them (powermta.md §2.4).
 */
import type { Spec } from './spec.js';

export const TLS_DIRECTIVES: readonly Spec[] = [
  // ---- Server side (global) ------------------------------------------------
  {
    name: 'smtp-server-tls-certificate',
    scopes: ['global'],
    type: 'path',
    checkFile: true,
    repeatable: true,
    area: 'tls',
    status: 'implemented',
    doc: "PEM file holding the certificate chain and private key offered to clients that STARTTLS (or connect to an implicit-TLS listener); repeat it for several certificates; the one whose names match the client's SNI is used, the first is the default.",
  },
  {
    name: 'smtp-server-tls-client-ca',
    scopes: ['global'],
    type: 'path',
    checkFile: true,
    extension: true,
    area: 'tls',
    status: 'implemented',
    doc: 'PEM file of the CA certificates that sign client certificates; when set, the server asks clients for a certificate (a client without one may still connect), for `authentication-method certificate`.',
  },
  {
    name: 'smtp-server-tls-ciphers',
    scopes: ['global'],
    type: 'string',
    area: 'tls',
    status: 'implemented',
    doc: 'OpenSSL cipher list for inbound TLS.',
  },
  {
    name: 'smtp-server-tls-allow-tlsv1.1',
    scopes: ['global'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Accepts TLS 1.1 from clients.',
  },
  {
    name: 'smtp-server-tls-allow-tlsv1.2',
    scopes: ['global'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Accepts TLS 1.2 from clients.',
  },
  {
    name: 'smtp-server-tls-allow-tlsv1.3',
    scopes: ['global'],
    type: 'bool',
    extension: true,
    area: 'tls',
    status: 'implemented',
    doc: 'Accepts TLS 1.3 from clients.',
  },
  {
    name: 'smtp-server-tls-min-version',
    scopes: ['global'],
    type: 'enum',
    enumValues: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    extension: true,
    area: 'tls',
    status: 'implemented',
    doc: 'Lowest TLS version accepted from clients, one setting instead of several allow-tlsv1.x switches.',
  },

  // ---- Inbound (source) -------------------------------------------------------
  {
    name: 'allow-starttls',
    scopes: ['source'],
    type: 'bool',
    default: 'yes',
    area: 'tls',
    status: 'implemented',
    doc: 'Offers STARTTLS to matching clients (needs `smtp-server-tls-certificate`).',
  },
  {
    name: 'require-starttls-before-auth',
    scopes: ['source'],
    type: 'bool',
    default: 'no',
    area: 'tls',
    status: 'implemented',
    doc: 'Refuses AUTH until the client has started TLS, so credentials never cross in clear.',
  },

  // ---- Outbound (domain) -------------------------------------------------------
  {
    name: 'use-starttls',
    scopes: ['domain'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Starts TLS when the remote server offers it (opportunistic).',
  },
  {
    name: 'require-starttls',
    scopes: ['domain'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Delivers only over TLS; a server without STARTTLS is treated as a failed attempt.',
  },
  {
    name: 'reuse-ssl-session',
    scopes: ['domain'],
    type: 'bool',
    area: 'tls',
    status: 'recognised',
    doc: 'Resumes earlier TLS sessions with the same host to save handshakes.',
  },
  {
    name: 'use-dane',
    scopes: ['domain'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Opportunistic DANE (RFC 7672): TLSA records, when DNSSEC-valid, make TLS mandatory and pin the certificate.',
  },
  {
    name: 'use-mta-sts',
    scopes: ['domain'],
    type: 'bool',
    extension: true,
    area: 'tls',
    status: 'implemented',
    doc: 'Applies the recipient domain\'s MTA-STS policy (RFC 8461): in enforce mode, TLS to a listed MX is required.',
  },
  {
    name: 'tls-verify-certificate',
    scopes: ['domain'],
    type: 'bool',
    default: 'no',
    extension: true,
    area: 'tls',
    status: 'implemented',
    doc: 'Checks the MX certificate against the system CA store and the MX host name when TLS is used (with `require-starttls yes`, a failed check defers instead of delivering); off by default, as opportunistic SMTP TLS is.',
  },
  {
    name: 'log-tls',
    scopes: ['domain'],
    type: 'bool',
    area: 'tls',
    status: 'implemented',
    doc: 'Logs each outbound connection\'s TLS outcome: `tls: TLSv1.3 connected with CIPHER` and how the certificate was judged (DANE match, CA store, not checked), or `tls: none` and why.',
  },
];
