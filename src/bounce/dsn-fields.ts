/**
 * @module bounce/dsn-fields
 *
 * The body of a `message/delivery-status` (RFC 3464 §2) or `message/global-delivery-status`
 * (RFC 6533 §6) part: header-style fields in groups separated by blank lines, the first group per
 * message, each further group per recipient. Both directions live here so that what the composer
 * writes and what the parser reads cannot drift apart.
 *
 * Exports:
 *  - `DeliveryStatus`, `DeliveryStatusRecipient`.
 *  - `parseDeliveryStatus(text)`: never throws; unknown fields are kept in `fields` (lower-case
 *    names); typed addresses (`rfc822; a@b`, `utf-8; …`) come back as bare addresses; `dns; host`
 *    as the host; `Diagnostic-Code` as written (`smtp; 550 5.1.1 …`), as PowerMTA's dsnDiag keeps it.
 *  - `typedAddress(value)`: `rfc822;a@b` or `a@b` → `{ type, address }`.
 *  - `formatTypedAddress(address, type?)`: `rfc822; a@b`, or `utf-8; …` for a non-ASCII address.
 *  - `decodeUtf8Xtext(text)`: RFC 6533 `\x{HHHH}` escapes → characters.
 *
 * Limits (hostile input): at most 1000 recipient groups and 200 fields a group are read; a value is
 * cut at 4096 characters.
 */

export interface DeliveryStatusRecipient {
  readonly finalRecipient?: string;
  readonly originalRecipient?: string;
  readonly action?: string;
  readonly status?: string;
  readonly remoteMta?: string;
  readonly diagnostic?: string;
  readonly lastAttemptDate?: string;
  readonly willRetryUntil?: string;
  /** Every field of the group, lower-case name → value (unfolded). */
  readonly fields: Readonly<Record<string, string>>;
}

export interface DeliveryStatus {
  readonly reportingMta?: string;
  readonly originalEnvelopeId?: string;
  readonly arrivalDate?: string;
  readonly receivedFromMta?: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly recipients: readonly DeliveryStatusRecipient[];
}

const MAX_GROUPS = 1000;
const MAX_FIELDS = 200;
const MAX_VALUE = 4096;

/** RFC 6533 §3 utf-8-addr-xtext: `\x{HHHH}` stands for one code point. */
export function decodeUtf8Xtext(text: string): string {
  return text.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (whole, hex: string) => {
    const code = parseInt(hex, 16);
    return code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole;
  });
}

/** `rfc822; <a@b>` → `{ type: 'rfc822', address: 'a@b' }`; a value without `;` is an rfc822 address. */
export function typedAddress(value: string): { type: string; address: string } {
  const semi = value.indexOf(';');
  const type = semi >= 0 ? value.slice(0, semi).trim().toLowerCase() : 'rfc822';
  let address = (semi >= 0 ? value.slice(semi + 1) : value).trim();
  if (address.startsWith('<') && address.endsWith('>')) address = address.slice(1, -1).trim();
  if (type === 'utf-8') address = decodeUtf8Xtext(address);
  return { type: type || 'rfc822', address };
}

/** The value of an address field: `rfc822; a@b`, or `utf-8; ü@b` (RFC 6533) when not ASCII. */
export function formatTypedAddress(address: string, type = 'rfc822'): string {
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(address);
  return `${ascii ? type : 'utf-8'}; ${address}`;
}

/** `dns; mx.example.com.` or `dns; mx.example.com (1.2.3.4, the server for …)` → `mx.example.com`. */
function typedHost(value: string): string {
  const semi = value.indexOf(';');
  const host = (semi >= 0 ? value.slice(semi + 1) : value).trim();
  return host.replace(/\s*\([^()]*\)\s*$/, '').replace(/\.$/, '');
}

/** Split into groups of unfolded `[name, value]` pairs. */
function readGroups(text: string): Array<Array<[string, string]>> {
  const groups: Array<Array<[string, string]>> = [];
  let group: Array<[string, string]> = [];
  const close = () => {
    if (group.length > 0 && groups.length < MAX_GROUPS + 1) groups.push(group);
    group = [];
  };
  for (const line of text.split(/\r?\n|\r/)) {
    if (groups.length > MAX_GROUPS) break;
    if (line.trim() === '') {
      close();
      continue;
    }
    const last = group[group.length - 1];
    if (/^[ \t]/.test(line) && last) {
      if (last[1].length < MAX_VALUE) last[1] = `${last[1]} ${line.trim()}`.slice(0, MAX_VALUE);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || group.length >= MAX_FIELDS) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    group.push([name, line.slice(colon + 1).trim().slice(0, MAX_VALUE)]);
  }
  close();
  return groups;
}

const RECIPIENT_FIELDS = new Set(['final-recipient', 'original-recipient', 'action', 'status']);

function recipientOf(fields: Record<string, string>): DeliveryStatusRecipient {
  const get = (name: string) => fields[name];
  const address = (name: string) => (get(name) !== undefined ? typedAddress(get(name)!).address : undefined);
  const out: Record<string, unknown> = { fields };
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  set('finalRecipient', address('final-recipient'));
  set('originalRecipient', address('original-recipient'));
  set('action', get('action')?.toLowerCase().split(/[\s(]/)[0]);
  set('status', /^\s*([245]\.\d{1,3}\.\d{1,3})/.exec(get('status') ?? '')?.[1]);
  set('remoteMta', get('remote-mta') !== undefined ? typedHost(get('remote-mta')!) : undefined);
  set('diagnostic', get('diagnostic-code'));
  set('lastAttemptDate', get('last-attempt-date'));
  set('willRetryUntil', get('will-retry-until'));
  return out as unknown as DeliveryStatusRecipient;
}

/** Parse the text of a delivery-status part; never throws. */
export function parseDeliveryStatus(text: string): DeliveryStatus {
  const groups = readGroups(String(text ?? '')).map((pairs) => {
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [name, value] of pairs) if (!(name in fields)) fields[name] = value;
    return Object.fromEntries(Object.entries(fields));
  });
  // The per-message group comes first; a report that omits it starts with a recipient group.
  const first = groups[0];
  const firstIsRecipient = first !== undefined && Object.keys(first).some((name) => RECIPIENT_FIELDS.has(name)) && first['reporting-mta'] === undefined;
  const perMessage: Record<string, string> = firstIsRecipient || first === undefined ? {} : first;
  const recipientGroups = (firstIsRecipient ? groups : groups.slice(1)).slice(0, MAX_GROUPS);
  const out: Record<string, unknown> = { fields: perMessage, recipients: recipientGroups.map(recipientOf) };
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  set('reportingMta', perMessage['reporting-mta'] !== undefined ? typedHost(perMessage['reporting-mta']) : undefined);
  set('originalEnvelopeId', perMessage['original-envelope-id']);
  set('arrivalDate', perMessage['arrival-date']);
  set('receivedFromMta', perMessage['received-from-mta'] !== undefined ? typedHost(perMessage['received-from-mta']) : undefined);
  return out as unknown as DeliveryStatus;
}
